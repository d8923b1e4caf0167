"""The store's suite, on SQLite and on a real PostgreSQL: My digits with owners, the schema and its migrations
(today's hand-written schema adopted in place), writers at once, a damaged or foreign file, exports, limits; each
person's models and the shared one; the training queue; and the command line."""

import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from mnist_app import config
from mnist_app.errors import AccessError, LimitError, StoreError
from mnist_app.store import collection, database, queue, registry

A, B = collection.Access("anon:" + "a" * 32), collection.Access("anon:" + "b" * 32)
ADMIN = collection.Access("user:admin", admin=True)

# Today's hand-written schema (the collection before Alembic), exactly as its migrations 1 and 2 made it.
HAND_WRITTEN = {
    1: ["""CREATE TABLE digits (
               id INTEGER PRIMARY KEY AUTOINCREMENT,
               created TEXT NOT NULL,
               session TEXT NOT NULL,
               source TEXT NOT NULL,
               label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
               prediction INTEGER NOT NULL CHECK (prediction BETWEEN -1 AND 9),
               confidence REAL,
               image BLOB NOT NULL CHECK (length(image) = 784),
               original BLOB
           )"""],
    2: ["ALTER TABLE digits ADD COLUMN model TEXT", "CREATE INDEX digits_by_label ON digits (label)"],
}


def digit(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((28, 28)) * 255).astype(np.uint8)


def add(kept, seed=0, label=3, **extra):
    return kept.add(digit(seed), label, prediction=extra.pop("prediction", label), confidence=0.9,
                    source=extra.pop("source", "draw"), session=extra.pop("session", "s"), **extra)


def test_a_new_store_gets_the_whole_schema(store_url):
    kept = collection.Collection(A, store_url)
    assert database.revision(kept.engine) == database.head_revision()
    number = kept.add(digit(), 3, prediction=5, confidence=0.7, source="draw", session="s1",
                      original=Image.new("RGB", (900, 600), "white"), model="abc")
    saved = kept.get(number)
    assert saved.id == number and saved.label == 3 and saved.prediction == 5 and saved.wrong and saved.model == "abc"
    assert saved.owner == A.owner and np.array_equal(saved.image, digit())
    original = Image.open(io.BytesIO(kept.original(number)))
    assert max(original.size) <= config.DISPLAY_MAX_SIDE  # the original is kept bounded
    assert kept.original(add(kept, 1)) is None  # and only when the person asked for it


def hand_written_file(path, version: int, rows: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (?)", (version,))
        for step in range(1, version + 1):
            for statement in HAND_WRITTEN[step]:
                connection.execute(statement)
        for index in range(rows):
            connection.execute("INSERT INTO digits (created, session, source, label, prediction, confidence, image) "
                               "VALUES ('2026-11-01T00:00:00+00:00', 'old', 'upload', ?, 1, 0.5, ?)",
                               (index % 10, digit(index).tobytes()))


@pytest.mark.parametrize("version", [1, 2])
def test_a_file_of_todays_schema_is_migrated_in_place_and_keeps_every_digit(tmp_path, version):
    path = tmp_path / "old.sqlite"
    hand_written_file(path, version, rows=25)
    url = f"sqlite:///{path}"
    everyone = collection.Collection(ADMIN, url, everyone=True)
    assert database.revision(everyone.engine) == database.head_revision()
    kept = everyone.digits()
    assert len(kept) == 25 and {d.owner for d in kept} == {collection.LOCAL_OWNER}
    assert sorted(d.label for d in kept) == sorted(i % 10 for i in range(25))
    assert all(np.array_equal(d.image, digit(int(d.id) - 1)) for d in kept)
    assert collection.Collection(collection.Access.server(), url).count() == 25  # the command line sees them
    assert collection.Collection(A, url).count() == 0  # a browser's workspace does not
    add(collection.Collection(A, url), 99)
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "schema_version" not in tables and {"digits", "models", "jobs", "alembic_version"} <= tables
    database.dispose(url)


def test_a_newer_hand_written_file_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "future.sqlite"
    hand_written_file(path, 2, rows=1)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer version"):
        collection.Collection(A, f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_a_store_of_a_newer_revision_is_refused(store_url):
    collection.Collection(A, store_url)
    with database.transaction(database.engine(store_url), write=True) as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    database.dispose(store_url)
    with pytest.raises(StoreError, match="newer version"):
        collection.Collection(A, store_url)


def test_a_database_that_is_not_a_collection_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a collection"):
        collection.Collection(A, f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_a_damaged_file_is_a_clear_error_and_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "collection.sqlite"
    path.write_bytes(b"this is not a database " * 200)
    before = path.read_bytes()
    monkeypatch.setenv("MNIST_APP_COLLECTION", str(path))
    with pytest.raises(StoreError, match="not a readable collection") as caught:
        collection.Collection(A)
    assert "MNIST_APP_COLLECTION" in str(caught.value)
    assert path.read_bytes() == before
    database.dispose()


def test_two_owners_writing_at_once_lose_nothing(store_url):
    collection.Collection(A, store_url)  # migrated once, before the writers start
    errors = []

    def writer(thread):
        kept = collection.Collection(A if thread % 2 else B, store_url)
        try:
            for index in range(40):
                add(kept, index, (thread + index) % 10, session=f"session-{thread}")
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert collection.Collection(A, store_url).count() == collection.Collection(B, store_url).count() == 160
    everyone = collection.Collection(ADMIN, store_url, everyone=True)
    assert everyone.count() == 320 and everyone.stats()["per_owner"] == {A.owner: 160, B.owner: 160}
    assert all(len(everyone.digits(session=f"session-{t}")) == 40 for t in range(8))


def test_nobody_reaches_another_owners_digits(store_url):
    mine, theirs = collection.Collection(A, store_url), collection.Collection(B, store_url)
    seven = mine.add(digit(7), 7, prediction=7, confidence=0.9, source="draw", session="a",
                     original=Image.new("RGB", (50, 50)))
    add(theirs, 1, 1)
    assert [d.label for d in theirs.digits()] == [1] and theirs.count() == 1
    assert theirs.get(seven) is None and theirs.original(seven) is None
    assert not theirs.delete(seven) and theirs.clear() == 1  # B's "delete all" is B's alone
    assert mine.get(seven).label == 7 and mine.count() == 1
    with np.load(io.BytesIO(theirs.export_npz())) as arrays:
        assert len(arrays["y"]) == 0
    with pytest.raises(AccessError):
        collection.Collection(B, store_url, everyone=True)
    everyone = collection.Collection(ADMIN, store_url, everyone=True)
    assert everyone.get(seven).owner == A.owner and everyone.delete(seven) and mine.count() == 0


def test_bad_values_are_refused(store_url):
    kept = collection.Collection(A, store_url)
    with pytest.raises(ValueError):
        kept.add(np.zeros((10, 10), np.uint8), 1, prediction=1, confidence=1.0, source="draw", session="s")
    with pytest.raises(ValueError):
        kept.add(digit(), 12, prediction=1, confidence=1.0, source="draw", session="s")
    with pytest.raises(ValueError):
        kept.add(digit(), 1, prediction=1, confidence=1.0, source="fax", session="s")
    with pytest.raises(ValueError):
        kept.add(digit(), 1, prediction=14, confidence=1.0, source="draw", session="s")  # the schema's CHECK
    assert kept.count() == 0


def test_a_workspace_holds_a_limited_number_of_digits(store_url, monkeypatch):
    monkeypatch.setenv(collection.MAX_DIGITS_SETTING, "3")
    kept = collection.Collection(A, store_url)
    for index in range(3):
        add(kept, index)
    with pytest.raises(LimitError, match="limit"):
        add(kept, 4)
    assert kept.count() == 3 and collection.Collection(B, store_url).add(digit(), 1, prediction=1, confidence=1.0,
                                                                          source="draw", session="s")


def test_exports_filters_and_deleting(store_url):
    kept = collection.Collection(A, store_url)
    numbers = [kept.add(digit(i), i % 10, prediction=None if i == 2 else i % 10 if i % 3 else (i + 1) % 10,
                        confidence=0.9, source="draw", session="s") for i in range(12)]
    add(collection.Collection(B, store_url), 50)  # someone else's: in none of A's figures or files
    assert len(kept.digits(wrong_only=True)) == 5  # i = 0, 3, 6, 9 answered wrong; i = 2 "no digit"
    with np.load(io.BytesIO(kept.export_npz())) as arrays:
        assert arrays["x"].shape == (12, 28, 28) and arrays["x"].dtype == np.uint8
        assert list(arrays["y"]) == [i % 10 for i in range(12)]
        assert np.array_equal(arrays["x"][5], digit(5))
    with zipfile.ZipFile(io.BytesIO(kept.export_zip())) as archive:
        names = archive.namelist()
        rows = archive.read("digits.csv").decode().splitlines()
        assert len([n for n in names if n.endswith(".png")]) == 12 and len(rows) == 13
        assert all(row.endswith(A.owner) for row in rows[1:])
        assert Image.open(io.BytesIO(archive.read(names[0]))).size == (28, 28)
    assert kept.delete(numbers[0]) and not kept.delete(numbers[0])
    assert kept.count() == 11 and kept.clear() == 11 and kept.count() == 0
    assert collection.Collection(B, store_url).count() == 1


def model_folder(tmp_path, name: str, extra: bytes = b"") -> str:
    """A model's files (the committed model's, made distinct by trailing bytes HDF5 ignores)."""
    folder = tmp_path / name
    folder.mkdir()
    for file in (config.MODEL_FILENAME, config.ONNX_FILENAME, config.METRICS_FILENAME):
        (folder / file).write_bytes(config.models_file(file).read_bytes())
    with open(folder / config.MODEL_FILENAME, "ab") as handle:
        handle.write(extra)
    return folder


def test_each_persons_models_and_the_shared_one(store_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_APP_ARTIFACTS", str(tmp_path / "artifacts"))
    engine = database.engine(store_url)
    mine, theirs, admin = (registry.Registry(access, store_url) for access in (A, B, ADMIN))
    made = mine.register(model_folder(tmp_path, "a1", b"\0"), description="fine-tuned on 3 of your digits",
                         digits_used=3)
    assert made.owner == A.owner and (made.folder / config.ONNX_FILENAME).is_file()
    with pytest.raises(AccessError):
        theirs.register(model_folder(tmp_path, "b1", b"\0\0"), owner=A.owner, description="forged")
    assert [m.id for m in mine.models()] == [made.id] and theirs.models() == [] and theirs.get(made.id) is None
    assert registry.folders(engine, A.owner) == (config.MODELS_DIR, False)  # the shared (committed) model
    mine.use(made.id)
    assert registry.folders(engine, A.owner) == (made.folder, True) and mine.in_use().id == made.id
    assert registry.folders(engine, B.owner) == (config.MODELS_DIR, False)  # B's readings do not change
    with pytest.raises(AccessError):
        theirs.use(made.id)
    with pytest.raises(AccessError):
        mine.share(made.id)
    admin.share(made.id)
    assert registry.folders(engine, B.owner) == (made.folder, False) and theirs.get(made.id) is not None
    with pytest.raises(AccessError, match="shared model"):
        mine.delete(made.id)
    admin.share(None)
    mine.use(None)
    assert mine.in_use() is None and not theirs.delete(made.id)
    assert mine.delete(made.id) and not made.folder.exists() and mine.models() == []


def test_the_training_queue(store_url, monkeypatch):
    monkeypatch.setenv(queue.PER_DAY_SETTING, "2")
    monkeypatch.setenv(queue.QUEUE_SETTING, "2")
    mine, theirs = queue.Queue(A, store_url), queue.Queue(B, store_url)
    first = mine.submit({"arch": "small", "epochs": 1})
    with pytest.raises(LimitError, match="one at a time"):
        mine.submit({"arch": "small", "epochs": 1})
    second = theirs.submit({"arch": "small", "epochs": 1})
    assert theirs.ahead_of(second) == 1 and theirs.get(first.id) is None and not theirs.cancel(first.id)
    with pytest.raises(LimitError, match="busy"):
        queue.Queue(collection.Access("anon:" + "c" * 32), store_url).submit({"arch": "small", "epochs": 1})
    trainers = queue.Trainers(store_url)
    claimed = trainers.claim("here:1", slots=1)
    assert claimed.id == first.id and claimed.state == "running" and trainers.claim("here:2", slots=1) is None
    assert mine.cancel(first.id) and trainers.get(first.id).cancel  # a running job: its trainer stops it
    trainers.update(first.id, state="cancelled", finished=time.time())
    assert theirs.cancel(second.id) and theirs.get(second.id).state == "cancelled"  # a queued one ends at once
    mine.submit({"arch": "small", "epochs": 1})
    with pytest.raises(LimitError, match="last 24 hours"):
        trainers.update(mine.latest().id, state="failed")
        mine.submit({"arch": "small", "epochs": 1})


def test_a_running_job_whose_trainer_went_silent_is_failed(store_url):
    mine = queue.Queue(A, store_url)
    job = mine.submit({"arch": "small", "epochs": 1})
    trainers = queue.Trainers(store_url)
    trainers.claim("gone:1", slots=1)
    trainers.update(job.id, heartbeat=time.time() - queue.SILENT_AFTER - 5)
    assert trainers.claim("here:1", slots=1) is None  # nothing queued; the silent job is failed on the way
    assert mine.get(job.id).state == "failed" and "stopped answering" in mine.get(job.id).message


def test_trainers_never_claim_a_job_twice(store_url):
    for index in range(6):
        queue.Queue(collection.Access(f"anon:{index:032d}"), store_url).submit({"arch": "small", "epochs": 1})
    claimed, guard = [], threading.Lock()

    def trainer(name):
        trainers = queue.Trainers(store_url)
        for _ in range(10):
            job = trainers.claim(name, slots=6)
            if job is not None:
                with guard:
                    claimed.append(job.id)

    threads = [threading.Thread(target=trainer, args=(f"t{index}",)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 6


def cli(*arguments, env):
    return subprocess.run([sys.executable, "-m", "mnist_app", *arguments], cwd=config.PROJECT_ROOT,
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_cli_collection_stats_export_and_delete(store_url, tmp_path):
    for access, count in ((A, 3), (B, 2)):
        kept = collection.Collection(access, store_url)
        for index in range(count):
            add(kept, index, index, source="upload")
    # (the test server trusts loopback, so a password in the URL is accepted and must never be printed)
    env = {"MNIST_APP_DATABASE_URL": store_url.replace("postgres@", "postgres:s3cret@")}
    stats = json.loads(cli("collection", "stats", "--json", env=env).stdout)  # the command line sees everyone's
    assert stats["digits"] == 5 and stats["per_owner"] == {A.owner: 3, B.owner: 2} and "s3cret" not in str(stats)
    result = cli("collection", "export", "--owner", A.owner, "--npz", str(tmp_path / "x.npz"), env=env)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "x.npz") as arrays:
        assert list(arrays["y"]) == [0, 1, 2]
    assert cli("collection", "delete", "--owner", B.owner, env=env).returncode == 0
    assert collection.Collection(B, store_url).count() == 0 and collection.Collection(A, store_url).count() == 3
