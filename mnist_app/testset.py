"""The model's answers on the 10,000 MNIST test images, computed once per model and kept beside it.

`models/test_predictions.npz` holds the network's probabilities for every test image and the pictures
of its mistakes, stamped with the SHA-256 of the `.h5` they came from (like the ONNX export). Training,
`python -m mnist_app export` and `scripts/check_model.py` (run by `make run` and `make test`) write
it; the Random samples and Evaluation pages only read it, so no visitor waits for 10,000 predictions.
A stale file (from another model) is never used.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_app import config, data, evaluate, inference, preprocess

FILENAME = "test_predictions.npz"


def report_path(models_dir: Path | None = None) -> Path:
    return Path(models_dir or config.MODELS_DIR) / FILENAME


@dataclass(frozen=True)
class TestReport:
    """What the model made of every test image."""

    probabilities: np.ndarray  # float32 (10000, 10), the network's own output
    mistakes: np.ndarray  # int64 indices of the misclassified test images, most confident first
    mistake_images: np.ndarray  # uint8 (k, 28, 28): those images, so the mistakes gallery needs no dataset ...
    mistake_labels: np.ndarray  # uint8 (k,): ... and their true labels
    source_sha256: str

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


def build(models_dir: Path | None = None, predictor: inference.Predictor | None = None,
          mnist: data.Mnist | None = None) -> TestReport:
    """Predict every test image with the current model and write the report beside it."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    predictor = predictor or inference.Predictor(models_dir)
    mnist = mnist or data.load_mnist()
    probabilities = predictor.predict_batch(preprocess.normalize_mnist(mnist.x_test))
    figures = evaluate.classification_report(probabilities.astype(np.float64), mnist.y_test)
    mistakes = np.array([row["index"] for row in figures["misclassified"]], dtype=np.int64)
    report = TestReport(probabilities.astype(np.float32), mistakes, mnist.x_test[mistakes], mnist.y_test[mistakes],
                        inference.file_sha256(config.model_path(models_dir)))
    _write(report, report_path(models_dir))
    return report


def _write(report: TestReport, path: Path) -> None:
    """Write atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".test-predictions-", suffix=".npz", dir=path.parent)
    os.close(handle)
    try:
        np.savez_compressed(temporary, probabilities=report.probabilities, mistakes=report.mistakes,
                            mistake_images=report.mistake_images, mistake_labels=report.mistake_labels,
                            source_sha256=np.array(report.source_sha256))
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load(models_dir: Path | None = None, model_sha256: str | None = None) -> TestReport | None:
    """The stored report of the current model, or None when it is missing, unreadable or stale."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    try:
        with np.load(report_path(models_dir), allow_pickle=False) as stored:
            report = TestReport(stored["probabilities"], stored["mistakes"], stored["mistake_images"],
                                stored["mistake_labels"], str(stored["source_sha256"]))
    except (OSError, ValueError, KeyError):
        return None
    if report.probabilities.shape != (data.EXPECTED_SHAPES["y_test"][0], config.NUM_CLASSES):
        return None
    current = model_sha256 or inference.file_sha256(config.model_path(models_dir))
    return report if report.source_sha256 == current else None


def current(models_dir: Path | None = None) -> bool:
    """Whether the stored report belongs to the current model."""
    try:
        return load(models_dir) is not None
    except OSError:  # no model file
        return False
