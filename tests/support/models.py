"""Models for tests that need one more model than the committed one, without training it."""

import shutil
from pathlib import Path

import onnx

from mnist_app import config
from mnist_app.store import results


def copy_of_the_committed_model(folder: Path, mark: str = "another model") -> Path:
    """The committed model's files under another identity: the .h5 with bytes appended (HDF5 ignores them), and
    its ONNX exports (the fast path, Look inside) stamped with the new .h5's SHA-256, as the export step stamps
    them. It reads every image as the committed model does; its id (the .h5's hash) differs, so a page can tell
    which model answered. Copies with different `mark`s are different models."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in (config.MODEL_FILENAME, config.HISTORY_FILENAME, config.METRICS_FILENAME, config.SUMMARY_FILENAME):
        shutil.copy2(config.models_file(name), folder / name)
    with open(config.model_path(folder), "ab") as handle:
        handle.write(b"\0" + mark.encode())
    for name in (config.ONNX_FILENAME, config.INSIDE_FILENAME):
        exported = onnx.load(str(config.models_file(name)))
        for entry in exported.metadata_props:
            if entry.key == config.SOURCE_SHA256_KEY:
                entry.value = results.file_sha256(config.model_path(folder))
        onnx.save(exported, str(config.models_file(name, folder)))
    return folder
