"""The result files beside the model: the one module that writes them and reads them.

- `history.json`: per network and epoch, loss, accuracy, learning rate and seconds (training);
- `metrics.json`: test-set figures, calibration and how the model was made (training, calibration);
- `model_summary.json`: one network's layer table and how many networks the model averages (export);
- `test_predictions.npz`: the model's answers on every test image and the pictures of its mistakes,
  stamped with the SHA-256 of the `.h5` they came from, so a stale file is never used (export).

Every write goes to a temporary file first and replaces the old one in one step: a reader never
sees half a file. File names are in `mnist_app.config`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_app import config


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (what ties every derived file to the .h5 it came from)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace_atomically(path: Path, write) -> None:
    """Call write(temporary_path), then move the temporary file over `path` in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; these are ordinary files
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def read_json(path: Path) -> dict | None:
    """A JSON file's content, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, content: dict) -> None:
    replace_atomically(Path(path), lambda temporary: temporary.write_text(json.dumps(content, indent=1) + "\n"))


def training_command(record: dict | None) -> str:
    """The command a model was trained with, as a person would type it: without `--output-dir PATH` (where its
    files were written, often a temporary folder, is not how it was trained)."""
    command = (record or {}).get("command")
    if not command:
        return "unknown"
    words = shlex.split(command)
    kept = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "--output-dir":
            skip = True
        elif not word.startswith("--output-dir="):
            kept.append(word)
    return shlex.join(kept)


def load_metrics(models_dir: Path | None = None) -> dict | None:
    """metrics.json, or None."""
    return read_json(config.metrics_path(models_dir))


def save_metrics(metrics: dict, models_dir: Path | None = None) -> None:
    write_json(config.metrics_path(models_dir), metrics)


def load_history(models_dir: Path | None = None) -> dict | None:
    """history.json, or None."""
    return read_json(config.history_path(models_dir))


def save_history(history: dict, models_dir: Path | None = None) -> None:
    write_json(config.history_path(models_dir), history)


def load_model_summary(models_dir: Path | None = None) -> dict | None:
    """model_summary.json (one network's layers, the number of networks, the totals), or None."""
    return read_json(config.models_file(config.SUMMARY_FILENAME, models_dir))


def save_model_summary(summary: dict, models_dir: Path | None = None) -> None:
    write_json(config.models_file(config.SUMMARY_FILENAME, models_dir), summary)


def exports_current(models_dir: Path | None = None) -> bool:
    """True when models/export holds verified exports (with the SavedModel zip) of the current .h5."""
    manifest = read_json(config.export_dir(models_dir) / config.MANIFEST_FILENAME) or {}
    packed = (config.export_dir(models_dir) / config.SAVED_MODEL_ZIP).is_file()
    try:
        return packed and manifest.get(config.SOURCE_SHA256_KEY) == file_sha256(config.model_path(models_dir))
    except OSError:  # no model
        return False


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


def test_report_path(models_dir: Path | None = None) -> Path:
    return config.models_file(config.TEST_REPORT_FILENAME, models_dir)


def save_test_report(report: TestReport, models_dir: Path | None = None) -> None:
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, probabilities=report.probabilities, mistakes=report.mistakes,
                                mistake_images=report.mistake_images, mistake_labels=report.mistake_labels,
                                source_sha256=np.array(report.source_sha256))

    replace_atomically(test_report_path(models_dir), write)


def load_test_report(models_dir: Path | None = None) -> TestReport | None:
    """The stored test-set report of the current model, or None when it is missing, unreadable or stale."""
    try:
        with np.load(test_report_path(models_dir), allow_pickle=False) as stored:
            report = TestReport(stored["probabilities"], stored["mistakes"], stored["mistake_images"],
                                stored["mistake_labels"], str(stored["source_sha256"]))
        current = file_sha256(config.model_path(models_dir))
    except (OSError, ValueError, KeyError):
        return None
    if report.probabilities.ndim != 2 or report.probabilities.shape[1] != config.NUM_CLASSES:
        return None
    return report if report.source_sha256 == current else None
