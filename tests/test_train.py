"""A smoke training run: one epoch on a few thousand images writes every file the app reads."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mnist_app import config


@pytest.mark.slow
def test_smoke_training_writes_model_history_metrics_and_export(tmp_path):
    command = [sys.executable, "scripts/train.py", "--epochs", "1", "--limit", "5000", "--arch", "small",
               "--number-digits", "100", "--output-dir", str(tmp_path), "--verbose", "0"]
    result = subprocess.run(command, cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for path in (config.model_path(tmp_path), config.onnx_path(tmp_path)):
        assert path.is_file() and path.stat().st_size > 10_000
    history = json.loads(config.history_path(tmp_path).read_text())
    epoch = history["epochs"][0]
    assert set(epoch) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}
    metrics = json.loads(config.metrics_path(tmp_path).read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0  # one small epoch already learns something
    assert np.array(metrics["confusion_matrix"]).sum() == 10000
    assert len(metrics["per_class"]) == 10 and metrics["arch"] == "small"
    assert metrics["training_images"] == 5100 and metrics["number_digits"] == 100  # the limit, then 100 added
    assert "scripts/train.py" in metrics["command"]
    assert {"tensorflow", "keras", "python"} <= set(metrics["versions"])


def test_digits_written_as_a_number_s_are_made_from_training_digits_with_every_pen_and_keep_their_labels():
    """`userstyle.number_digits`: training digits at a written number's size and pens, normalised as a number's
    digit is -- the fine pen's most, each still its own digit (the committed network reads nearly all of them as
    their label, which shuffled labels would not give), centred in MNIST's 20x20 box, thinner with the fine pen and
    thicker with the marker, and the same again from the same seed."""
    from mnist_app.images import preprocess
    from mnist_app.network import inference
    from mnist_app.store import data
    from mnist_app.training import userstyle

    mnist = data.load_mnist()
    (x_train, y_train), _ = data.split_validation(mnist.x_train, mnist.y_train, 5000)
    made = userstyle.number_digits(x_train, y_train.astype(np.int64), 440)
    assert made.images.shape == (440, 28, 28) and made.images.dtype == np.uint8
    kinds, counts = np.unique(made.kinds, return_counts=True)
    assert dict(zip(kinds.tolist(), counts.tolist())) == {"number-thin": 240, "number-mnist": 80,
                                                          "number-thick": 60, "number-slanted": 60}
    assert np.array_equal(userstyle.number_digits(x_train, y_train.astype(np.int64), 440).images, made.images)
    ink = made.images.astype(np.float64) / 255.0
    for field in ink:  # each fits MNIST's 20x20 box (give or take the blur at its edge)
        rows, cols = np.nonzero(field > 0.2)
        assert np.ptp(rows) < 22 and np.ptp(cols) < 22 and max(np.ptp(rows), np.ptp(cols)) >= 17
    mass = ink.sum(axis=(1, 2))
    centre_row = (ink.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    centre_col = (ink.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    assert np.all(np.abs(centre_row - 13.5) < 2) and np.all(np.abs(centre_col - 13.5) < 2)
    inked = {kind: mass[made.kinds == kind].mean() for kind in kinds}
    assert inked["number-thin"] < inked["number-mnist"] < inked["number-thick"]
    read = inference.Predictor().predict_batch(preprocess.normalize_mnist(made.images)).argmax(axis=1)
    assert np.mean(read == made.labels) >= 0.95


def test_the_distillation_loss_is_hintons():
    from mnist_app.training import train

    rng = np.random.default_rng(0)
    student = rng.dirichlet(np.ones(10), size=4).astype(np.float32)
    teacher = rng.dirichlet(np.ones(10) * 0.3, size=4).astype(np.float32)
    hard = np.eye(10, dtype=np.float32)[[1, 2, 3, 4]]
    temperature = 4.0
    soft = np.asarray(train.softened(teacher, temperature))
    assert np.allclose(soft.sum(axis=1), 1) and soft.max() < teacher.max()  # softer than the teacher
    wanted = np.concatenate([hard, soft], axis=1)
    loss = np.asarray(train.distillation_loss(temperature, 0.3)(wanted, student))
    student_soft = np.asarray(train.softened(student, temperature))
    expected = 0.3 * -np.sum(hard * np.log(student), axis=1) \
        + 0.7 * temperature ** 2 * -np.sum(soft * np.log(student_soft), axis=1)
    assert np.allclose(loss, expected, rtol=1e-4)
    assert np.allclose(np.asarray(train.digit_accuracy(wanted, student)), np.mean(student.argmax(1) == [1, 2, 3, 4]))


@pytest.mark.slow
def test_a_distilled_student_is_trained_from_the_committed_teacher(tmp_path):
    from mnist_app.store import results

    command = [sys.executable, "scripts/train.py", "--distill", "--ema", "--epochs", "2", "--limit", "5000", "--arch",
               "small", "--output-dir", str(tmp_path), "--verbose", "0"]
    result = subprocess.run(command, cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Distilling the teacher (993,918 parameters) into one small network" in result.stdout
    metrics = json.loads(config.metrics_path(tmp_path).read_text())
    assert metrics["distilled_from"] == {"teacher": results.file_sha256(config.model_path())[:12],
                                         "temperature": 4.0, "hard_weight": 0.3}
    assert metrics["ensemble"] == 1 and metrics["ema"] is True and metrics["test_accuracy"] > 0.5


def test_the_teacher_answers_for_the_very_pictures_the_student_is_shown():
    """Consistent teaching: each batch's soft targets are the teacher's answers for that batch as augmented, not
    for the plain images (a teacher that read the plain ones would describe pictures the student never sees)."""
    import tensorflow as tf

    from mnist_app.training import train

    rng = np.random.default_rng(0)
    images = rng.random((64, 28, 28, 1)).astype(np.float32)
    labels = rng.integers(0, 10, 64)

    def teacher(batch):  # an answer that depends on the pixels: each image's ink, in all ten columns
        return tf.repeat(tf.reduce_sum(batch, axis=[1, 2]), 10, axis=1)

    plain_answers = np.asarray(teacher(images))[:, 0]
    for shown, wanted, _ in train.make_dataset(images, labels, 16, seed=3, augmented=True, teacher=teacher):
        assert wanted.shape == (16, 20)
        assert np.allclose(wanted[:, 10:], teacher(shown), rtol=1e-5)
        # the pictures were warped, so no soft target is a plain picture's answer
        assert not np.isclose(np.asarray(wanted[:, 10])[:, None], plain_answers[None, :], rtol=1e-6).any()


def test_the_whole_digit_network_is_trained_on_candidates_of_numbers_and_exported_as_it_answers(tmp_path):
    """The whole-digit network of whole-number segmentation: a few numbers of MNIST training digits give candidates
    labelled by where their digits were placed; a short training and its ONNX file answer alike."""
    from mnist_app.images import wholeness
    from mnist_app.network import inference
    from mnist_app.training import whole_digit

    fields, labels, owners = whole_digit.collect(seeds=(101,), per_kind=2, log=lambda line: None)
    assert fields.shape[1:] == (28, 28) and len(fields) == len(labels) == len(owners)
    assert 0.02 < labels.mean() < 0.5 and owners.max() == 15  # some whole digits among many other candidates
    model, figures = whole_digit.train(fields, labels, owners, epochs=1, log=lambda line: None)
    assert figures["candidates"] == len(fields) and 0 < figures["validation candidates"] < len(fields)
    path = tmp_path / "whole_digit.onnx"
    assert whole_digit.export(model, fields[:64], path) < 1e-3
    assert wholeness.answer(inference.onnx_session(path, 1), list(fields[:3])).shape == (3,)
