"""The database behind what people keep: SQLite by default, PostgreSQL (any SQLAlchemy URL) when asked.

`MNIST_APP_DATABASE_URL` is a SQLAlchemy URL (`postgresql+psycopg://user:password@host/db`); without it the
store is the SQLite file `data/collection.sqlite` (`MNIST_APP_COLLECTION` names another file), which needs
nothing installed. One engine per URL per process; the schema is Alembic's (`migrations/`), brought to the
newest revision the first time a process opens the database -- a file of the hand-written schema that came
before (versions 1 and 2) is adopted in place, its digits given to the "local" owner.

Every operation is one transaction on a pooled connection (`transaction()`). On SQLite, writes begin with
BEGIN IMMEDIATE (the write lock taken up front, so a busy database waits instead of failing half way) in WAL
mode (readers never wait for the writer); on PostgreSQL, READ COMMITTED, with row locks where two writers could
meet (the job queue's SKIP LOCKED). A file that is not a readable store is never written to: a StoreError says
what to do.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from mnist_app import config
from mnist_app.errors import StoreError

URL_SETTING = config.DATABASE_URL_SETTING
BUSY_TIMEOUT_MS = 10_000
HAND_WRITTEN_VERSIONS = (1, 2)  # the schema_version table of the collection before Alembic

_engines: dict[str, sa.Engine] = {}
_migrated: set[str] = set()
_guard = threading.Lock()


def sqlite_path() -> Path:
    """The default store's file."""
    return config.collection_path()


def url() -> str:
    """The store's SQLAlchemy URL: MNIST_APP_DATABASE_URL, else the SQLite file."""
    return os.environ.get(URL_SETTING) or f"sqlite:///{sqlite_path()}"


def describe(address: str | None = None) -> str:
    """The store's URL without its password, for messages and pages."""
    return sa.make_url(address or url()).render_as_string(hide_password=True)


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_engine(address: str) -> sa.Engine:
    path = Path(sa.make_url(address).database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"The store's folder {path.parent} cannot be made ({error}).") from None
    engine = sa.create_engine(address, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(connection, _record):
        connection.isolation_level = None  # transactions are begun below, not by the driver
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get("write") else "BEGIN")

    return engine


def engine(address: str | None = None, migrate: bool = True) -> sa.Engine:
    """The process-wide engine of the store at `address` (the configured one by default), migrated on first use
    (`migrate=False`: as it is, for a quick read that copes with missing tables)."""
    address = address or url()
    with _guard:
        if address not in _engines:
            try:
                made = _sqlite_engine(address) if address.startswith("sqlite") else sa.create_engine(
                    address, pool_pre_ping=True)
            except (sa.exc.ArgumentError, ImportError) as error:
                raise StoreError(f"{URL_SETTING} is not a usable database URL ({error}).") from None
            _engines[address] = made
        made = _engines[address]
        if migrate and address not in _migrated:
            _migrate(made)
            _migrated.add(address)
    return made


def dispose(address: str | None = None) -> None:
    """Close the engine of `address` (all of them when None): the next use opens and checks the store again."""
    with _guard:
        for key in [address or url()] if address else list(_engines):
            if key in _engines:
                _engines.pop(key).dispose()
            _migrated.discard(key)


@contextmanager
def transaction(made: sa.Engine, write: bool = False):
    """One transaction on a pooled connection: committed when the block ends, rolled back on an error."""
    try:
        with made.connect().execution_options(write=write) as connection, connection.begin():
            yield connection
    except sa.exc.IntegrityError as error:  # a value the schema refuses (its CHECKs)
        raise ValueError(f"not kept: {error.orig}") from None
    except sa.exc.OperationalError as error:
        if "locked" in str(error.orig) or "busy" in str(error.orig):
            raise StoreError(f"The store {describe()} stayed busy for {BUSY_TIMEOUT_MS / 1000:.0f} s; try "
                             "again.") from None
        raise _unreadable(made, error) from None
    except sa.exc.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
        raise _unreadable(made, error) from None


def _unreadable(made: sa.Engine, error: Exception) -> StoreError:
    if is_sqlite(made):
        return StoreError(f"{made.url.database} is not a readable collection ({getattr(error, 'orig', error)}). It "
                          "was left as it is: move it away, or set MNIST_APP_COLLECTION to another file, and the "
                          "app starts a new collection.")
    return StoreError(f"The database {made.url.render_as_string(hide_password=True)} cannot be used "
                      f"({getattr(error, 'orig', error)}).")


def _check_before_migrating(connection: sa.Connection) -> None:
    """Refuse, leaving it as it is, a database that is not a store of this app, or one of a newer schema."""
    tables = set(sa.inspect(connection).get_table_names())
    if not tables or "alembic_version" in tables:
        return  # empty, or Alembic's (an unknown revision is refused by the upgrade itself)
    if "schema_version" not in tables or "digits" not in tables:
        raise StoreError(f"{describe()} is a database, but not a collection of digits. It was left as it is: set "
                         "MNIST_APP_COLLECTION (or MNIST_APP_DATABASE_URL) to another one.")
    version = connection.execute(sa.text("SELECT version FROM schema_version")).scalar()
    if version not in HAND_WRITTEN_VERSIONS:
        raise StoreError(f"{describe()} was written by a newer version of this app (schema {version}; this one "
                         f"knows {max(HAND_WRITTEN_VERSIONS)}). It was left as it is.")


def _migrate(made: sa.Engine) -> None:
    """Bring the store to the newest schema (Alembic), in one transaction; a newer or foreign one is refused."""
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    settings = Config()
    settings.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    try:
        with transaction(made) as connection:
            _check_before_migrating(connection)
        if is_sqlite(made):  # outside a transaction: the journal mode stays with the file
            raw = made.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA journal_mode = WAL")
            finally:
                raw.close()
        with transaction(made, write=True) as connection:
            if not is_sqlite(made):
                # One migrating process at a time (replicas start together); the lock ends with the transaction.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(20261202)"))
            settings.attributes["connection"] = connection
            command.upgrade(settings, "head")
    except CommandError as error:
        raise StoreError(f"{describe()} was written by a newer version of this app ({error}). It was left as it "
                         "is.") from None
    except sa.exc.DatabaseError as error:
        raise _unreadable(made, error) from None


def head_revision() -> str:
    """The newest schema revision this code knows (what a migrated store's alembic_version holds)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    settings = Config()
    settings.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return ScriptDirectory.from_config(settings).get_current_head()


def revision(made: sa.Engine) -> str | None:
    """The schema revision the store is at."""
    with transaction(made) as connection:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

