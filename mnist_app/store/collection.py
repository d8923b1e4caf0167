"""My digits: the digits people chose to keep, with the label they gave, each belonging to one workspace.

Nothing is stored unless a person clicks "Save to my digits". Each row keeps its owner, the 28x28 image the
model saw, the original picture only when the person asked for it ("keep my picture too"; at most
config.DISPLAY_MAX_SIDE on a side, PNG), the label the person gave, what the model answered and how sure it was,
where the image came from (draw, upload, camera, url), when, the browser session and the model that answered.

Every read and write goes through a `Collection` made for one `Access`: the owner asking, and whether they are
an admin. Its statements carry the owner in their WHERE clause, so an id typed or forged into a request never
reaches another owner's row (it reads as "no such digit"). Only an admin may open a collection over everyone's
digits (`everyone=True`); the server's command line is an admin (`Access.server()`).

The database is mnist_app.store.database's (SQLite by default, PostgreSQL when configured); each operation is
one transaction.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import zipfile
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.dialects import postgresql, sqlite

from mnist_app import config
from mnist_app.errors import AccessError, LimitError
from mnist_app.store import database, schema

SOURCES = ("draw", "upload", "camera", "url", "cli", "import")
NO_DIGIT = -1  # the prediction stored when the model answered "no digit"
MAX_DIGITS_SETTING = "MNIST_APP_MAX_DIGITS"  # digits one workspace may keep (10,000 by default)
LOCAL_OWNER = schema.LOCAL_OWNER

_digits = schema.digits
_COLUMNS = (_digits.c.id, _digits.c.created, _digits.c.owner, _digits.c.session, _digits.c.source, _digits.c.label,
            _digits.c.prediction, _digits.c.confidence, _digits.c.image, _digits.c.model)


def max_digits() -> int:
    try:
        return max(1, int(os.environ.get(MAX_DIGITS_SETTING, "10000")))
    except ValueError:
        return 10_000


def _count(connection: sa.Connection, *where) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(_digits).where(*where)).scalar())


@dataclass(frozen=True)
class Access:
    """Who is asking: the owner of a workspace, and whether they may see and change everyone's (an admin)."""

    owner: str
    admin: bool = False

    @classmethod
    def server(cls) -> Access:
        """The server's command line: an admin, keeping what it keeps as the "local" owner."""
        return cls(LOCAL_OWNER, admin=True)


@dataclass(frozen=True)
class Saved:
    """One kept digit."""

    id: int
    created: str
    owner: str
    session: str
    source: str
    label: int
    prediction: int  # NO_DIGIT when the model answered "no digit"
    confidence: float | None
    image: np.ndarray  # uint8 (28, 28): what the model saw
    model: str | None

    @property
    def wrong(self) -> bool:
        return self.prediction != self.label


class Collection:
    """The kept digits `access` may see: its owner's, or (an admin, `everyone=True`) everyone's."""

    def __init__(self, access: Access, address: str | None = None, *, everyone: bool = False):
        if not isinstance(access, Access):
            raise TypeError("a collection is opened for an Access (whose digits, and whether an admin asks)")
        if everyone and not access.admin:
            raise AccessError("only an admin sees everyone's digits")
        self.access = access
        self.everyone = everyone
        self.engine = database.engine(address)

    @property
    def where(self) -> str:
        """What this collection holds, in words ("everyone's digits" or the owner)."""
        return "everyone's digits" if self.everyone else f"the digits of {self.access.owner}"

    def _scope(self):
        """The owner check every statement carries (none for an admin's view of everyone's)."""
        return sa.true() if self.everyone else _digits.c.owner == self.access.owner

    def add(self, image: np.ndarray, label: int, *, prediction: int | None, confidence: float | None, source: str,
            session: str, original: Image.Image | None = None, model: str | None = None) -> int:
        """Keep one digit in the asker's own workspace; return its id (LimitError when the workspace is full)."""
        image = np.asarray(image)
        if image.shape != (28, 28):
            raise ValueError(f"a digit is kept as the 28x28 image the model saw, not {image.shape}")
        if image.dtype != np.uint8:
            image = np.clip(np.rint(image * 255.0 if image.max(initial=0) <= 1.0 else image), 0, 255).astype(np.uint8)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        if not 0 <= int(label) <= 9:
            raise ValueError(f"not kept: the label must be a digit 0-9, not {label}")
        row = {"created": _now(), "owner": self.access.owner, "session": session, "source": source,
               "label": int(label), "prediction": NO_DIGIT if prediction is None else int(prediction),
               "confidence": None if confidence is None else float(confidence), "image": image.tobytes(),
               "original": _png(original), "model": model}
        limit = max_digits()
        with database.transaction(self.engine, write=True) as connection:
            lock_workspace(connection, self.access.owner)  # two writers of one workspace count one after the other
            kept = _count(connection, _digits.c.owner == self.access.owner)
            if kept >= limit:
                raise LimitError(f"Your workspace holds {kept:,} digits, its limit: delete some in My digits to keep "
                                 "more.")
            return int(connection.execute(_digits.insert().values(**row).returning(_digits.c.id)).scalar())

    def digits(self, *, label: int | None = None, wrong_only: bool = False, session: str | None = None,
               limit: int | None = None) -> list[Saved]:
        """The kept digits, newest first, filtered by label, by "the model got it wrong", by session."""
        query = sa.select(*_COLUMNS).where(self._scope())
        if label is not None:
            query = query.where(_digits.c.label == int(label))
        if wrong_only:
            query = query.where(_digits.c.prediction != _digits.c.label)
        if session is not None:
            query = query.where(_digits.c.session == session)
        query = query.order_by(_digits.c.id.desc())
        if limit:
            query = query.limit(int(limit))
        with database.transaction(self.engine) as connection:
            rows = connection.execute(query).all()
        return [_saved(row) for row in rows]

    def get(self, digit_id: int) -> Saved | None:
        """One kept digit, if it is there and the asker may see it."""
        with database.transaction(self.engine) as connection:
            row = connection.execute(sa.select(*_COLUMNS).where(_digits.c.id == int(digit_id), self._scope())).first()
        return None if row is None else _saved(row)

    def original(self, digit_id: int) -> bytes | None:
        """The original picture (PNG) of a kept digit, if there is one and the asker may see it."""
        with database.transaction(self.engine) as connection:
            return connection.execute(sa.select(_digits.c.original).where(_digits.c.id == int(digit_id),
                                                                          self._scope())).scalar()

    def count(self) -> int:
        with database.transaction(self.engine) as connection:
            return _count(connection, self._scope())

    def delete(self, digit_id: int) -> bool:
        """Forget one digit; False when the asker has none with that id (another owner's is left alone)."""
        with database.transaction(self.engine, write=True) as connection:
            return connection.execute(_digits.delete().where(_digits.c.id == int(digit_id), self._scope())).rowcount > 0

    def clear(self) -> int:
        """Forget every digit the collection holds; return how many there were."""
        with database.transaction(self.engine, write=True) as connection:
            return connection.execute(_digits.delete().where(self._scope())).rowcount

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept digit as MNIST-shaped arrays: images uint8 (N, 28, 28), labels uint8 (N,), oldest first."""
        kept = self.digits()[::-1]
        if not kept:
            return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
        return np.stack([d.image for d in kept]), np.array([d.label for d in kept], dtype=np.uint8)

    def export_npz(self) -> bytes:
        """The collection in MNIST's own form: x (N, 28, 28) uint8 ink on black, y (N,) uint8 labels."""
        images, labels = self.arrays()
        buffer = io.BytesIO()
        np.savez_compressed(buffer, x=images, y=labels)
        return buffer.getvalue()

    def export_zip(self) -> bytes:
        """A zip of one PNG per digit (the 28x28 image) and digits.csv with every field but the pictures."""
        buffer = io.BytesIO()
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["file", "id", "label", "prediction", "confidence", "source", "created", "session", "model",
                         "owner"])
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for digit in self.digits()[::-1]:
                name = f"digits/{digit.id:06d}_label{digit.label}.png"
                archive.writestr(name, _png(Image.fromarray(digit.image)))
                writer.writerow([name, digit.id, digit.label, "" if digit.prediction == NO_DIGIT else digit.prediction,
                                 "" if digit.confidence is None else round(digit.confidence, 6), digit.source,
                                 digit.created, digit.session, digit.model or "", digit.owner])
            archive.writestr("digits.csv", table.getvalue())
        return buffer.getvalue()

    def stats(self) -> dict:
        """How many digits, per label, per source (and per owner, over everyone's), and how many the model got
        wrong when they were saved."""
        scope = self._scope()
        with database.transaction(self.engine) as connection:
            def grouped(column):
                return dict(connection.execute(sa.select(column, sa.func.count()).where(scope).group_by(column)).all())

            total = _count(connection, scope)
            wrong = _count(connection, scope, _digits.c.prediction != _digits.c.label)
            labels, sources = grouped(_digits.c.label), grouped(_digits.c.source)
            owners = grouped(_digits.c.owner) if self.everyone else None
        figures = {"digits": int(total), "wrong_when_saved": int(wrong),
                   "per_label": {d: int(labels.get(d, 0)) for d in range(10)},
                   "per_source": {key: int(value) for key, value in sources.items()},
                   "store": database.describe(str(self.engine.url)), "everyone": self.everyone}
        if owners is not None:
            figures["per_owner"] = {key: int(value) for key, value in owners.items()}
        return figures


def lock_workspace(connection: sa.Connection, owner: str) -> None:
    """Make sure the owner's workspace row exists and hold it until the transaction ends (PostgreSQL: a row lock;
    SQLite: its writes are one at a time already)."""
    workspaces = schema.workspaces
    exists = connection.execute(sa.select(workspaces.c.owner).where(workspaces.c.owner == owner).with_for_update())
    if exists.first() is None:
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(workspaces).values(owner=owner, created=_now())
        connection.execute(insert.on_conflict_do_nothing(index_elements=["owner"]))
        connection.execute(sa.select(workspaces.c.owner).where(workspaces.c.owner == owner).with_for_update())


def _saved(row) -> Saved:
    return Saved(row.id, row.created, row.owner, row.session, row.source, row.label, row.prediction, row.confidence,
                 np.frombuffer(row.image, dtype=np.uint8).reshape(28, 28).copy(), row.model)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _png(picture: Image.Image | None) -> bytes | None:
    if picture is None:
        return None
    picture = picture.copy()
    picture.thumbnail((config.DISPLAY_MAX_SIDE, config.DISPLAY_MAX_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
