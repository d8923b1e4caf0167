"""The artifact store: where a registered model's files live, outside the database.

A folder by default (`MNIST_APP_ARTIFACTS`, else `data/models/`), one subfolder per model id holding what a
model is made of (MODEL_FILES). A model is put in place whole or not at all: its files are copied into a
hidden folder first and renamed into place in one step, so a reader never finds half a model.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from mnist_app import config
from mnist_app.errors import StoreError

SETTING = "MNIST_APP_ARTIFACTS"
# The files that make a model, as training and the export step write them (the first two are required).
MODEL_FILES = (config.MODEL_FILENAME, config.ONNX_FILENAME, config.HISTORY_FILENAME, config.METRICS_FILENAME,
               config.SUMMARY_FILENAME, config.TEST_REPORT_FILENAME)
REQUIRED = MODEL_FILES[:2]


def root() -> Path:
    return Path(os.environ.get(SETTING) or config.DATA_DIR / "models")


def put(source: Path, model_id: str) -> str:
    """Copy a model's files from `source` into the store under `model_id`; return its location."""
    source = Path(source)
    missing = [name for name in REQUIRED if not (source / name).is_file()]
    if missing:
        raise StoreError(f"{source} is not a whole model: {', '.join(missing)} missing")
    target = root() / model_id
    if not target.is_dir():
        incoming = root() / f".incoming-{model_id}-{uuid.uuid4().hex[:8]}"
        incoming.mkdir(parents=True)
        try:
            for name in MODEL_FILES:
                if (source / name).is_file():
                    shutil.copy2(source / name, incoming / name)
            os.rename(incoming, target)  # one step: the folder is there whole, or not at all
        except OSError:
            shutil.rmtree(incoming, ignore_errors=True)
            if not target.is_dir():  # another process put the same model in place first: that is the same model
                raise
    return str(target)


def local(location: str) -> Path:
    """The folder a model's files can be read from on this machine."""
    return Path(location)


def remove(location: str) -> None:
    """Delete a model's files (a model another record still names is never removed: see the registry)."""
    path = Path(location)
    if path.is_dir() and path.parent == root():
        shutil.rmtree(path, ignore_errors=True)
