"""`python -m mnist_app`: the predict JSON contract, exit codes, evaluate."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mnist_app import config


def run_cli(*arguments, timeout=300):
    return subprocess.run([sys.executable, "-m", "mnist_app", *map(str, arguments)], cwd=config.PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory, mnist):
    folder = tmp_path_factory.mktemp("cli")
    paths = {}
    for index in range(3):
        paths[f"digit{index}"] = folder / f"digit{index}.png"
        Image.fromarray(255 - mnist.x_test[index]).save(paths[f"digit{index}"])  # dark ink on white
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("this is not an image")
    paths["blank"] = folder / "blank.png"
    Image.new("L", (64, 64), 255).save(paths["blank"])
    paths["missing"] = folder / "missing.png"
    return paths


def test_predict_json_one_line_per_input_in_order_and_batch_survives_bad_files(files, mnist):
    order = ["digit0", "text", "blank", "missing", "digit1"]
    result = run_cli("predict", "--json", *(files[name] for name in order))
    assert result.returncode == 1  # some inputs could not be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(files[name]) for name in order]
    first, text, blank, missing, second = lines
    assert first["digit"] == int(mnist.y_test[0]) and 0.5 < first["confidence"] <= 1.0
    assert len(first["probabilities"]) == 10 and abs(sum(first["probabilities"]) - 1) < 1e-3
    assert "error" not in first and second["digit"] == int(mnist.y_test[1])
    assert text["digit"] is None and text["probabilities"] is None and "not an image" in text["error"]
    reason = blank.pop("reason")  # no digit: the answer says why (the same decision as the dashboard's)
    assert blank == {"path": str(files["blank"]), "digit": None, "confidence": None, "probabilities": None}
    assert reason.startswith("no digit found")
    assert "no such file" in missing["error"]


def test_predict_exits_zero_when_every_input_was_read(files):
    result = run_cli("predict", "--json", files["digit0"], files["blank"])
    assert result.returncode == 0, result.stderr


def test_predict_table_is_readable(files, mnist):
    result = run_cli("predict", "--top", "2", files["digit2"], files["text"])
    assert result.returncode == 1
    header, good, bad = result.stdout.splitlines()
    assert "digit" in header and "confidence" in header
    assert good.split()[1] == str(mnist.y_test[2]) and "%" in good
    assert "error: this is not an image" in bad


def test_predict_many_paths_in_one_call(tmp_path, mnist):
    paths = []
    for index in range(300):
        path = tmp_path / f"{index}.png"
        Image.fromarray(mnist.x_test[index]).save(path)
        paths.append(path)
    result = run_cli("predict", "--json", *paths)
    assert result.returncode == 0, result.stderr
    digits = [json.loads(line)["digit"] for line in result.stdout.splitlines()]
    assert len(digits) == 300
    assert sum(d == int(y) for d, y in zip(digits, mnist.y_test[:300])) >= 297


def test_evaluate_json_reports_the_committed_model(mnist):
    result = run_cli("evaluate", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["accuracy"] >= 0.996 and report["images"] == 10000 and report["backend"] == "onnx"


def test_data_prints_a_verified_summary():
    result = run_cli("data")
    assert result.returncode == 0
    assert "980, 1135, 1032" in result.stdout and "verified" in result.stdout


def test_missing_model_is_a_clear_error_not_a_traceback(tmp_path, files):
    import os

    env = {**os.environ, "MNIST_APP_MODELS_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "mnist_app", "predict", str(files["digit0"])],
                            cwd=config.PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "make train" in result.stderr and "Traceback" not in result.stderr


def test_predict_explain_saves_a_why_this_digit_map_per_prediction(files, tmp_path):
    from PIL import Image as PILImage

    folder = tmp_path / "why"
    result = run_cli("predict", "--json", "--explain", folder, files["digit0"], files["blank"])
    assert result.returncode == 0, result.stderr
    digit, blank = (json.loads(line) for line in result.stdout.splitlines())
    picture = PILImage.open(digit["explanation"])
    assert picture.size == (168, 168) and picture.mode == "RGB"
    assert "explanation" not in blank  # no digit, no map
    assert len(list(folder.iterdir())) == 1


PROBE = """
import sys
from mnist_app.cli import main
code = main(sys.argv[1:])
heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
print("IMPORTED:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("command", [["predict", "{digit}"], ["predict", "--json", "{digit}", "{text}"],
                                     ["evaluate", "--json"], ["data"]])
def test_predict_evaluate_and_data_never_import_tensorflow(files, command):
    arguments = [part.format(digit=files["digit0"], text=files["text"]) for part in command]
    result = subprocess.run([sys.executable, "-c", PROBE, *arguments], cwd=config.PROJECT_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == "IMPORTED:", f"{command} imported {lines[-1]}"
    assert lines[:-1] == [], f"{command} printed to stderr: {lines[:-1]}"  # no TensorFlow log line, nothing else


def test_parallel_predict_gives_the_sequential_answers_in_input_order(tmp_path, mnist):
    from mnist_app.serving import batch

    paths = []
    for index in range(2 * batch.PARALLEL_FROM):
        path = tmp_path / f"{index:03d}.png"
        if index % 17 == 5:
            path.write_bytes(b"not an image")  # per-file errors stay in place
        else:
            Image.fromarray(mnist.x_test[index]).resize((140, 140)).save(path)
        paths.append(path)
    parallel = run_cli("predict", "--json", *paths)
    sequential = run_cli("predict", "--json", "--workers", "1", *paths)
    assert parallel.returncode == sequential.returncode == 1
    assert parallel.stdout == sequential.stdout
    lines = [json.loads(line) for line in parallel.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(path) for path in paths]
    assert all(("error" in line) == (index % 17 == 5) for index, line in enumerate(lines))
    if batch.worker_count() < 2:
        pytest.skip("one core: nothing to spread the work over")
    stream = batch.PreparedStream(paths)
    assert stream.parallel and stream.workers > 1  # the batch really is spread over worker processes
    results = list(stream)
    expected = [batch.prepare_slim(path) for path in paths]
    for got, want in zip(results, expected):
        if isinstance(want, Exception):
            assert str(got) == str(want)
        else:
            assert np.array_equal(got.model_input, want.model_input)


SHARED_PROBE = """
import sys
from mnist_app import cli
print(cli.shared_folder())
print("sqlalchemy" in sys.modules)
"""


def _shared_as_predict_sees_it() -> tuple[str, bool]:
    """(the folder `predict` would read with, whether finding it imported SQLAlchemy), from a fresh process."""
    result = subprocess.run([sys.executable, "-c", SHARED_PROBE], cwd=config.PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    folder, imported = result.stdout.split()
    return folder, imported == "True"


def test_predict_asks_the_store_for_a_shared_model_without_sqlalchemy_unless_one_is_shared(store, tmp_path):
    """In a checkout with a store (the dashboard makes one), `predict` must still start like a command: SQLAlchemy
    alone takes 0.3-0.4 s to import here, so the SQLite file is first asked with the standard library whether any
    model is shared. When one is, the store's own code finds it, and `predict` reads with it."""
    from mnist_app.store import artifacts, collection, database, registry
    from tests.support.models import copy_of_the_committed_model

    database.engine()  # the store, made and migrated as the dashboard makes it
    assert _shared_as_predict_sees_it() == (str(config.MODELS_DIR), False)
    made = registry.Registry(collection.Access("user:ada")).register(
        copy_of_the_committed_model(tmp_path / "made", mark="shared for predict"), description="a copy")
    admin = registry.Registry(collection.Access.server())
    admin.share(made.id)
    assert _shared_as_predict_sees_it() == (str(artifacts.local(made.location)), True)
    admin.share(None)
    assert _shared_as_predict_sees_it() == (str(config.MODELS_DIR), False)
