"""Shared fixtures: the verified MNIST arrays and the committed model's predictor, loaded once; a store of the
test session's own; a real PostgreSQL server for the store's suite."""

import os
import tempfile

import pytest

# The tests never touch the checkout's own store, artifacts or training runs (data/): a folder of their own,
# set before any test imports the app (browser tests' servers inherit it). The pytest process runs no trainer
# thread of its own; the tests that train start trainers.
_SANDBOX = tempfile.mkdtemp(prefix="mnist-tests-")
os.environ["MNIST_APP_COLLECTION"] = os.path.join(_SANDBOX, "collection.sqlite")
os.environ["MNIST_APP_ARTIFACTS"] = os.path.join(_SANDBOX, "models")
os.environ["MNIST_APP_TRAINING_DIR"] = os.path.join(_SANDBOX, "training")
os.environ["MNIST_APP_TRAINER"] = "external"
os.environ.pop("MNIST_APP_DATABASE_URL", None)

from mnist_app.network import inference  # noqa: E402  (after the environment above)
from mnist_app.store import data, database  # noqa: E402
from tests.support import postgres  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def predictor():
    return inference.Predictor()


@pytest.fixture(scope="session")
def user_style_cases(mnist):
    """The robustness set (MNIST test digits and pen-written digits in every user style) and its readings."""
    from mnist_app.measure import robustness

    cases = robustness.build_cases(mnist.x_test, mnist.y_test, per_style=200)
    return cases, robustness.read_cases(cases, inference.Predictor())


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 for the session (skipped, with the reason, where none can be had)."""
    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = postgres.Server()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store of each kind: an SQLite file, and a new database on the real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    yield url
    database.dispose(url)


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A store, artifact folder and training folder of this test's own."""
    from mnist_app.serving import service

    monkeypatch.setenv("MNIST_APP_COLLECTION", str(tmp_path / "collection.sqlite"))
    monkeypatch.setenv("MNIST_APP_ARTIFACTS", str(tmp_path / "models"))
    monkeypatch.setenv("MNIST_APP_TRAINING_DIR", str(tmp_path / "training"))
    service.forget_choice()
    yield tmp_path
    service.forget_choice()
    database.dispose()
