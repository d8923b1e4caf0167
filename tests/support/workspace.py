"""People under AppTest: a new anonymous person whose token the test keeps (as their browser keeps its cookie), and
a page opened as them."""

from streamlit.testing.v1 import AppTest

from mnist_app import config
from mnist_app.serving import people

TIMEOUT = 120
TOKENS: dict[str, str] = {}  # owner -> the token its browser's cookie would hold


def visitor() -> people.Person:
    """A new anonymous person; the test keeps their token, as their browser keeps its cookie."""
    token = people.new_token()
    person = people.anonymous(token)
    TOKENS[person.owner] = token
    return person


def page(path: str, person: people.Person | None = None) -> AppTest:
    """A page under AppTest, for an anonymous person (their cookie's token in the session)."""
    at = AppTest.from_file(str(config.PROJECT_ROOT / path), default_timeout=TIMEOUT)
    if person is not None:
        at.session_state["_workspace_token"] = TOKENS[person.owner]
    return at
