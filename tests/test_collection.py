"""My digits' storage: the schema, migrations, concurrent writers, a damaged file, the exports; and the CLI."""

import io
import json
import sqlite3
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from mnist_app import config
from mnist_app.store import collection


def digit(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((28, 28)) * 255).astype(np.uint8)


def test_a_new_file_gets_the_whole_schema(tmp_path):
    kept = collection.Collection(tmp_path / "c.sqlite")
    assert kept.version() == collection.SCHEMA_VERSION
    number = kept.add(digit(), 3, prediction=5, confidence=0.7, source="draw", session="s1",
                      original=Image.new("RGB", (900, 600), "white"), model="abc")
    saved = kept.digits()[0]
    assert saved.id == number and saved.label == 3 and saved.prediction == 5 and saved.wrong and saved.model == "abc"
    assert np.array_equal(saved.image, digit())
    original = Image.open(io.BytesIO(kept.original(number)))
    assert max(original.size) <= 480  # the original is kept bounded


def test_an_older_file_is_migrated_and_keeps_its_digits(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:  # a collection as version 1 of the schema wrote it
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (1)")
        for statement in collection.MIGRATIONS[1]:
            connection.execute(statement)
        connection.execute("INSERT INTO digits (created, session, source, label, prediction, confidence, image) "
                           "VALUES ('2026-11-01T00:00:00+00:00', 'old', 'upload', 7, 1, 0.5, ?)", (digit(1).tobytes(),))
    kept = collection.Collection(path)
    assert kept.version() == collection.SCHEMA_VERSION == 2
    [saved] = kept.digits()
    assert saved.label == 7 and saved.model is None and np.array_equal(saved.image, digit(1))
    kept.add(digit(2), 4, prediction=4, confidence=0.99, source="camera", session="new", model="m2")
    assert [d.label for d in kept.digits(label=7)] == [7] and len(kept.digits()) == 2


def test_a_newer_file_is_refused_and_left_as_it_is(tmp_path):
    path = tmp_path / "future.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (99)")
    before = path.read_bytes()
    with pytest.raises(collection.CollectionError, match="newer version"):
        collection.Collection(path)
    assert path.read_bytes() == before


def test_eight_threads_writing_at_once_lose_nothing(tmp_path):
    kept = collection.Collection(tmp_path / "busy.sqlite")
    errors = []

    def writer(thread):
        try:
            for index in range(40):
                kept.add(digit(index), (thread + index) % 10, prediction=thread % 10, confidence=0.5,
                         source="upload", session=f"session-{thread}")
        except Exception as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert kept.count() == 320
    assert sorted({d.session for d in kept.digits()}) == [f"session-{t}" for t in range(8)]
    assert all(len(kept.digits(session=f"session-{t}")) == 40 for t in range(8))


def test_a_damaged_file_is_a_clear_error_and_is_not_overwritten(tmp_path):
    path = tmp_path / "collection.sqlite"
    path.write_bytes(b"this is not a database " * 200)
    before = path.read_bytes()
    with pytest.raises(collection.CollectionError, match="not a readable collection") as caught:
        collection.Collection(path)
    assert "MNIST_APP_COLLECTION" in str(caught.value)
    assert path.read_bytes() == before


def test_bad_values_are_refused(tmp_path):
    kept = collection.Collection(tmp_path / "c.sqlite")
    with pytest.raises(ValueError):
        kept.add(np.zeros((10, 10), np.uint8), 1, prediction=1, confidence=1.0, source="draw", session="s")
    with pytest.raises(ValueError):
        kept.add(digit(), 12, prediction=1, confidence=1.0, source="draw", session="s")
    with pytest.raises(ValueError):
        kept.add(digit(), 1, prediction=1, confidence=1.0, source="fax", session="s")
    assert kept.count() == 0


def test_exports_filters_and_deleting(tmp_path):
    kept = collection.Collection(tmp_path / "c.sqlite")
    numbers = [kept.add(digit(i), i % 10, prediction=None if i == 2 else i % 10 if i % 3 else (i + 1) % 10,
                        confidence=0.9, source="draw", session="s") for i in range(12)]
    assert len(kept.digits(wrong_only=True)) == 5  # i = 0, 3, 6, 9 answered wrong; i = 2 "no digit"
    with np.load(io.BytesIO(kept.export_npz())) as arrays:
        assert arrays["x"].shape == (12, 28, 28) and arrays["x"].dtype == np.uint8
        assert list(arrays["y"]) == [i % 10 for i in range(12)]
        assert np.array_equal(arrays["x"][5], digit(5))
    with zipfile.ZipFile(io.BytesIO(kept.export_zip())) as archive:
        names = archive.namelist()
        rows = archive.read("digits.csv").decode().splitlines()
        assert len([n for n in names if n.endswith(".png")]) == 12 and len(rows) == 13
        first_png = Image.open(io.BytesIO(archive.read(names[0])))
        assert first_png.size == (28, 28)
    assert kept.delete(numbers[0]) and not kept.delete(numbers[0])
    assert kept.count() == 11 and kept.clear() == 11 and kept.count() == 0


def test_cli_collection_stats_and_export(tmp_path):
    path = tmp_path / "c.sqlite"
    kept = collection.Collection(path)
    for index in range(5):
        kept.add(digit(index), index, prediction=index, confidence=0.9, source="upload", session="s")
    environment = {**__import__("os").environ, "MNIST_APP_COLLECTION": str(path)}

    def cli(*arguments):
        return subprocess.run([sys.executable, "-m", "mnist_app", "collection", *arguments], cwd=config.PROJECT_ROOT,
                              capture_output=True, text=True, env=environment, timeout=120)

    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["digits"] == 5 and stats["per_source"] == {"upload": 5}
    result = cli("export", "--npz", str(tmp_path / "x.npz"), "--zip", str(tmp_path / "x.zip"))
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "x.npz") as arrays:
        assert list(arrays["y"]) == [0, 1, 2, 3, 4]
    assert cli("export").returncode == 2  # no target: a clear error, no traceback
