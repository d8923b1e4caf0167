"""Who is asking: a signed-in account, an anonymous browser's workspace, or the server's own command line.

- Signed in (the server's secrets have Streamlit's `[auth]` section: OpenID Connect through `st.login`): the
  owner is "user:<subject>", the account's stable id at its provider; the email names them.
- Anonymous (no `[auth]`, the laptop default): each browser holds a long-lived cookie with a random token of 32
  bytes (`new_token`, from the operating system's CSPRNG, never a counter). The store never sees the token itself:
  the owner is "anon:" + the first 32 hex digits of its SHA-256, so the database, its backups and the admin's
  pages name workspaces without holding the secret that opens them.
- Admins: the signed-in emails listed in `MNIST_APP_ADMINS` (comma-separated), and the server's command line.

Nothing here knows Streamlit (mnist_app.ui.identity reads the browser's side).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass

from mnist_app.store.collection import LOCAL_OWNER, Access

ADMINS_SETTING = "MNIST_APP_ADMINS"
WORKSPACE_COOKIE = "mnist_workspace"
COOKIE_MAX_AGE = 400 * 24 * 3600  # seconds: the longest lifetime Chromium keeps a cookie for
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, URL-safe base64 without padding


@dataclass(frozen=True)
class Person:
    """Whoever the current page is for."""

    owner: str
    name: str  # how the sidebar names them
    signed_in: bool = False
    admin: bool = False
    email: str | None = None

    @property
    def access(self) -> Access:
        return Access(self.owner, admin=self.admin)


def admins() -> set[str]:
    """The admins' emails, as MNIST_APP_ADMINS lists them (lower case)."""
    return {email.strip().lower() for email in os.environ.get(ADMINS_SETTING, "").split(",") if email.strip()}


def new_token() -> str:
    """A fresh anonymous workspace token: 32 random bytes from the operating system."""
    return secrets.token_urlsafe(32)


def valid_token(token: str | None) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def anonymous(token: str) -> Person:
    """The anonymous workspace a browser's token opens."""
    if not valid_token(token):
        raise ValueError("not a workspace token")
    return Person("anon:" + hashlib.sha256(token.encode()).hexdigest()[:32], "anonymous workspace")


def signed_in(subject: str, email: str | None = None, name: str | None = None) -> Person:
    """A signed-in account (its provider's subject; admin when its email is in MNIST_APP_ADMINS)."""
    if not subject:
        raise ValueError("a signed-in person has a subject")
    return Person(f"user:{subject}", name or email or subject, signed_in=True,
                  admin=bool(email) and email.lower() in admins(), email=email)


def server() -> Person:
    """The server's command line: an admin, keeping what it keeps as "local"."""
    return Person(LOCAL_OWNER, "the server's command line", admin=True)
