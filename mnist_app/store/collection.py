"""My digits: the digits people chose to keep, with the label they gave, in a SQLite database.

`data/collection.sqlite` by default (`MNIST_APP_COLLECTION` names another file). Nothing is stored unless
a person clicks "Save to my digits". Each row keeps the 28x28 image the model saw, the original picture
(at most config.DISPLAY_MAX_SIDE on a side, PNG), the label the person gave, what the model answered and how
sure it was, where the image came from (draw, upload, camera, url), when, and an id of the browser
session it came from.

The schema has a version table and numbered migrations: an older file is brought up to date when it is
opened, in one transaction. Every write is its own transaction on its own connection (SQLite's WAL
journal, a busy timeout), so sessions writing at once lose nothing. A file that is not a readable
collection is never overwritten: it gives a CollectionError that says what to do.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import sqlite3
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_app import config
from mnist_app.errors import MnistAppError

SOURCES = ("draw", "upload", "camera", "url", "cli", "import")
NO_DIGIT = -1  # the prediction stored when the model answered "no digit"
BUSY_TIMEOUT_MS = 10_000
# Migration n brings a database from version n - 1 to version n (version 0: empty file).
MIGRATIONS = {
    1: [
        """CREATE TABLE digits (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               created TEXT NOT NULL,
               session TEXT NOT NULL,
               source TEXT NOT NULL,
               label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
               prediction INTEGER NOT NULL CHECK (prediction BETWEEN -1 AND 9),
               confidence REAL,
               image BLOB NOT NULL CHECK (length(image) = 784),
               original BLOB
           )""",
    ],
    2: [  # which model answered, so a page can tell old answers from the current model's
        "ALTER TABLE digits ADD COLUMN model TEXT",
        "CREATE INDEX digits_by_label ON digits (label)",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


class CollectionError(MnistAppError, RuntimeError):
    """The collection database cannot be used (not a database, or a newer schema than this code knows)."""


def default_path() -> Path:
    return Path(os.environ.get("MNIST_APP_COLLECTION", config.DATA_DIR / "collection.sqlite"))


@dataclass(frozen=True)
class Saved:
    """One kept digit."""

    id: int
    created: str
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
    """The collection database at `path` (created, or migrated, on first use)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path or default_path())
        self._migrate()

    @contextmanager
    def _connect(self, write: bool = False):
        """A connection for one transaction (committed on success, rolled back on error), then closed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.IntegrityError as error:  # a value the schema refuses (its CHECKs)
            raise ValueError(f"not kept: {error}") from None
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise CollectionError(f"the collection {self.path} stayed busy for {BUSY_TIMEOUT_MS / 1000:.0f} s; "
                                      "try again") from None
            raise self._unreadable(error) from None
        except sqlite3.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
            raise self._unreadable(error) from None
        finally:
            connection.close()

    def _unreadable(self, error: Exception) -> CollectionError:
        return CollectionError(
            f"{self.path} is not a readable collection ({error}). It was left as it is: move it away, or set "
            "MNIST_APP_COLLECTION to another file, and the app starts a new collection.")

    def version(self) -> int:
        with self._connect() as connection:
            return _version(connection)

    def _migrate(self) -> None:
        with self._connect(write=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "schema_version" not in tables:
                raise CollectionError(f"{self.path} is an SQLite database, but not a collection of digits. It was "
                                      "left as it is: set MNIST_APP_COLLECTION to another file.")
            current = _version(connection)
            if current > SCHEMA_VERSION:
                raise CollectionError(f"{self.path} was written by a newer version of this app "
                                      f"(schema {current}; this one knows {SCHEMA_VERSION}). It was left as it is.")
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("COMMIT")  # the journal mode cannot change inside a transaction
                connection.execute("PRAGMA journal_mode = WAL")  # readers and one writer at a time, never blocked
                connection.execute("BEGIN IMMEDIATE")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    connection.execute(statement)
                connection.execute("UPDATE schema_version SET version = ?", (version,))

    def add(self, image: np.ndarray, label: int, *, prediction: int | None, confidence: float | None, source: str,
            session: str, original: Image.Image | None = None, model: str | None = None) -> int:
        """Keep one digit; return its id."""
        image = np.asarray(image)
        if image.shape != (28, 28):
            raise ValueError(f"a digit is kept as the 28x28 image the model saw, not {image.shape}")
        if image.dtype != np.uint8:
            image = np.clip(np.rint(image * 255.0 if image.max(initial=0) <= 1.0 else image), 0, 255).astype(np.uint8)
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        with self._connect(write=True) as connection:
            cursor = connection.execute(
                "INSERT INTO digits (created, session, source, label, prediction, confidence, image, original, model)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_now(), session, source, int(label), NO_DIGIT if prediction is None else int(prediction),
                 None if confidence is None else float(confidence), image.tobytes(), _png(original), model))
            return int(cursor.lastrowid)

    def digits(self, *, label: int | None = None, wrong_only: bool = False, session: str | None = None,
               limit: int | None = None) -> list[Saved]:
        """The kept digits, newest first, filtered by label, by "the model got it wrong", by session."""
        where, arguments = [], []
        if label is not None:
            where.append("label = ?")
            arguments.append(int(label))
        if wrong_only:
            where.append("prediction != label")
        if session is not None:
            where.append("session = ?")
            arguments.append(session)
        query = ("SELECT id, created, session, source, label, prediction, confidence, image, model FROM digits"
                 + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
                 + (f" LIMIT {int(limit)}" if limit else ""))
        with self._connect() as connection:
            rows = connection.execute(query, arguments).fetchall()
        return [Saved(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                      np.frombuffer(row[7], dtype=np.uint8).reshape(28, 28).copy(), row[8]) for row in rows]

    def original(self, digit_id: int) -> bytes | None:
        """The original picture (PNG) of a kept digit, if there is one."""
        with self._connect() as connection:
            row = connection.execute("SELECT original FROM digits WHERE id = ?", (int(digit_id),)).fetchone()
        return None if row is None else row[0]

    def count(self) -> int:
        with self._connect() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM digits").fetchone()[0])

    def delete(self, digit_id: int) -> bool:
        """Forget one digit; False when there was none with that id."""
        with self._connect(write=True) as connection:
            return connection.execute("DELETE FROM digits WHERE id = ?", (int(digit_id),)).rowcount > 0

    def clear(self) -> int:
        """Forget every digit; return how many there were."""
        with self._connect(write=True) as connection:
            return connection.execute("DELETE FROM digits").rowcount

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
        writer.writerow(["file", "id", "label", "prediction", "confidence", "source", "created", "session", "model"])
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for digit in self.digits()[::-1]:
                name = f"digits/{digit.id:06d}_label{digit.label}.png"
                archive.writestr(name, _png(Image.fromarray(digit.image)))
                writer.writerow([name, digit.id, digit.label, "" if digit.prediction == NO_DIGIT else digit.prediction,
                                 "" if digit.confidence is None else round(digit.confidence, 6), digit.source,
                                 digit.created, digit.session, digit.model or ""])
            archive.writestr("digits.csv", table.getvalue())
        return buffer.getvalue()

    def stats(self) -> dict:
        """How many digits, per label and per source, and how many the model got wrong when they were saved."""
        with self._connect() as connection:
            total = connection.execute("SELECT COUNT(*) FROM digits").fetchone()[0]
            wrong = connection.execute("SELECT COUNT(*) FROM digits WHERE prediction != label").fetchone()[0]
            labels = dict(connection.execute("SELECT label, COUNT(*) FROM digits GROUP BY label").fetchall())
            sources = dict(connection.execute("SELECT source, COUNT(*) FROM digits GROUP BY source").fetchall())
        return {"digits": int(total), "wrong_when_saved": int(wrong), "per_label": {d: labels.get(d, 0)
                for d in range(10)}, "per_source": sources, "path": str(self.path)}


def _version(connection: sqlite3.Connection) -> int:
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        connection.execute("INSERT INTO schema_version (version) VALUES (0)")
        return 0
    return int(row[0])


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
