"""Teach it: correcting and keeping digits on the pages, My digits, and a training run through the Train page's
machinery (a background process, progress, a candidate, compare, use it, bring the previous one back)."""

import shutil

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_app import config
from mnist_app.errors import TrainingError
from mnist_app.serving import jobs, service
from mnist_app.store import collection, results
from tests.support import images

TIMEOUT = 120


def page(path: str) -> AppTest:
    return AppTest.from_file(str(config.PROJECT_ROOT / path), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    parts = [element.value for kind in ("markdown", "caption", "info", "warning", "error", "success")
             for element in getattr(at, kind)]
    return "\n".join(str(part) for part in parts)


@pytest.fixture()
def my_digits(tmp_path, monkeypatch):
    path = tmp_path / "collection.sqlite"
    monkeypatch.setenv("MNIST_APP_COLLECTION", str(path))
    return collection.Collection(path)


def test_correct_a_prediction_keep_it_find_it_export_it_delete_it(mnist, my_digits):
    three = images.encode(Image.fromarray(255 - mnist.x_test[18]).resize((140, 140)))  # a test-set 3, on paper
    assert mnist.y_test[18] == 3
    at = page("pages/2_Upload.py").run()
    at.file_uploader(key="upload_files").set_value(("three.png", three, "image/png")).run()
    assert at.metric[0].value == "3"
    assert at.button(key="upload_single_save").disabled  # nothing is kept before the person says what it is
    at.segmented_control(key="upload_single_verdict").set_value("Wrong").run()
    at.pills(key="upload_single_label").set_value(8).run()
    at.button(key="upload_single_save").click().run()
    assert not at.exception
    [kept] = my_digits.digits()
    assert (kept.label, kept.prediction, kept.source) == (8, 3, "upload") and kept.wrong
    assert at.button(key="upload_single_save").disabled  # kept once, not twice

    listing = page("pages/9_My_digits.py").run()
    assert not listing.exception
    assert {m.label: m.value for m in listing.metric}["Digits kept"] == "1"
    assert "1 of 1 digits" in texts(listing)
    assert len(listing.get("download_button")) == 2
    with np.load(__import__("io").BytesIO(my_digits.export_npz())) as arrays:
        assert list(arrays["y"]) == [8]
    listing.button(key="my_digits_delete").click().run()
    assert my_digits.count() == 0
    assert "Nothing kept yet" in texts(listing)


def test_a_right_answer_is_kept_with_its_own_label(mnist, my_digits):
    at = page("pages/2_Upload.py").run()
    at.file_uploader(key="upload_files").set_value(("d.png", images.encode(Image.fromarray(mnist.x_test[0])),
                                                    "image/png")).run()
    at.segmented_control(key="upload_single_verdict").set_value("Right").run()
    at.button(key="upload_single_save").click().run()
    [kept] = my_digits.digits()
    assert kept.label == kept.prediction == mnist.y_test[0]


@pytest.fixture()
def sandbox(tmp_path, monkeypatch, my_digits, mnist):
    """A copy of the committed model, a training folder and a collection of a few digits, all in tmp_path."""
    models = tmp_path / "models"
    models.mkdir()
    for name in jobs.MODEL_FILES:
        shutil.copy2(config.models_file(name), models / name)
    monkeypatch.setattr(config, "MODELS_DIR", models)
    monkeypatch.setenv("MNIST_APP_MODELS_DIR", str(models))
    monkeypatch.setenv("MNIST_APP_TRAINING_DIR", str(tmp_path / "training"))
    monkeypatch.setenv("MNIST_APP_EXPORT_AFTER_PROMOTE", "off")  # no background export into a temporary folder
    for index in range(12):
        my_digits.add(mnist.x_test[index], int(mnist.y_test[index]), prediction=int(mnist.y_test[index]),
                      confidence=0.99, source="draw", session="test")
    return models


@pytest.mark.slow
def test_a_training_run_through_the_train_page(sandbox):
    committed = results.file_sha256(config.model_path(sandbox))
    started = jobs.start(arch="small", epochs=1, limit=2000, with_collection=True)
    assert started.running
    with pytest.raises(TrainingError, match="one at a time"):
        jobs.start(arch="small", epochs=1, limit=2000)
    finished = jobs.wait(900)
    assert finished.state == "finished", finished.log_tail
    progress = finished.progress
    assert progress["phase"] == "done" and progress["curves"][0]["epoch"] == 1 and progress["batches"] > 0
    assert "Adding the 12 digits of My digits" in finished.log_tail
    candidate = jobs.candidate_dir()
    assert config.model_path(candidate).is_file() and config.onnx_path(candidate).is_file()
    assert results.load_metrics(candidate)["arch"] == "small"

    at = page("pages/10_Train.py").run()  # the finished run: its candidate beside the current model
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["current", "candidate"] and table.loc["network", "candidate"] == "1 × small"
    at.button(key="train_promote").click().run()
    assert not at.exception and "now the model every page uses" in texts(at)
    promoted = results.file_sha256(config.model_path(sandbox))
    assert promoted == results.file_sha256(config.model_path(candidate)) != committed
    assert service.predictor(sandbox).model_id == promoted[:12]  # the shared predictor picked it up
    assert jobs.has_previous()

    at.button(key="train_restore").click().run()
    assert not at.exception
    assert results.file_sha256(config.model_path(sandbox)) == committed
    assert service.predictor(sandbox).model_id == committed[:12]


@pytest.mark.slow
def test_a_training_run_can_be_cancelled(sandbox):
    jobs.start(arch="small", epochs=5, limit=4000)
    jobs.cancel()
    assert jobs.status().state == "cancelled"
    assert not config.model_path(jobs.candidate_dir()).is_file()


def test_training_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(jobs.SETTING, "off")
    with pytest.raises(TrainingError, match="switched off"):
        jobs.start(arch="small", epochs=1)
    at = page("pages/10_Train.py").run()
    assert not at.exception and "switched off" in texts(at)
