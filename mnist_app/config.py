"""Paths and constants shared by the library, the pages, the scripts and the tests.

Every path is anchored on the package, never on the working directory, so the app, the CLI and the
tests find the same files wherever they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# MNIST cache: git-ignored, rebuilt from the first source that works (see mnist_app.store.data).
DATA_DIR = Path(os.environ.get("MNIST_APP_DATA_DIR", PROJECT_ROOT / "data"))
MNIST_CACHE = DATA_DIR / "mnist.npz"
KERAS_MNIST_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"

# The committed model and every file written beside it: the names live here, the reading and writing in
# mnist_app.store.results (results) and mnist_app.training.export (the other formats).
MODELS_DIR = Path(os.environ.get("MNIST_APP_MODELS_DIR", PROJECT_ROOT / "models"))
MODEL_FILENAME = "mnist_cnn_model.h5"  # the model the dashboard answers with (training writes it)
ONNX_FILENAME = "mnist_cnn_model.onnx"  # its ONNX export: the fast path
HISTORY_FILENAME = "history.json"  # per epoch: loss, accuracy, learning rate, seconds
METRICS_FILENAME = "metrics.json"  # test-set figures, calibration, how the model was made
SUMMARY_FILENAME = "model_summary.json"  # the layer table the Model page shows
TEST_REPORT_FILENAME = "test_predictions.npz"  # the model's answers on the test set, for the pages
INSIDE_FILENAME = "mnist_cnn_inside.onnx"  # one network's layer outputs, for the Look inside page
NEAREST_FILENAME = "nearest_index.npz"  # git-ignored: the training digits in that network's penultimate layer
EXPORT_DIRNAME = "export"  # git-ignored, rebuilt by the export step:
KERAS_FILENAME = "mnist_cnn_model.keras"
SAVED_MODEL_DIRNAME = "saved_model"  # TensorFlow Serving wants numbered versions inside: saved_model/1/
SAVED_MODEL_ZIP = "mnist_saved_model.zip"  # the same folder packed once, for the dashboard's download button
TFLITE_FILENAME = "mnist_cnn_model.tflite"
MANIFEST_FILENAME = "manifest.json"  # what was exported from which .h5, and how well each export agrees
SOURCE_SHA256_KEY = "source_h5_sha256"  # the key under which derived files record the .h5 they came from

IMAGE_SIZE = 28
NUM_CLASSES = 10
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # what every network takes: one 28x28 grey channel

# The store of what people keep (mnist_app.store.database): a SQLAlchemy URL, else this SQLite file.
DATABASE_URL_SETTING = "MNIST_APP_DATABASE_URL"
SHARED_MODEL_KEY = "shared_model"  # the row of the store's settings table naming the model everyone reads with


def collection_path() -> Path:
    """The default store's SQLite file (MNIST_APP_COLLECTION names another)."""
    return Path(os.environ.get("MNIST_APP_COLLECTION", DATA_DIR / "collection.sqlite"))


def store_exists() -> bool:
    """Whether there is a store to ask (a database URL is set, or the SQLite file was made)."""
    return bool(os.environ.get(DATABASE_URL_SETTING)) or collection_path().is_file()


DISPLAY_MAX_SIDE = 480  # pixels: the longest side of a picture shown back to the user or kept with a digit

TRAIN_COMMAND_HINT = "make train   (or: python scripts/train.py)"


def models_file(name: str, models_dir: Path | None = None) -> Path:
    """The path of one of the files above in a models folder (the committed one by default)."""
    return Path(models_dir or MODELS_DIR) / name


def model_path(models_dir: Path | None = None) -> Path:
    """Return the path of the Keras model file the dashboard loads."""
    return models_file(MODEL_FILENAME, models_dir)


def onnx_path(models_dir: Path | None = None) -> Path:
    """Return the path of the ONNX export used by the fast predictor."""
    return models_file(ONNX_FILENAME, models_dir)


def history_path(models_dir: Path | None = None) -> Path:
    """Return the path of the per-epoch training history."""
    return models_file(HISTORY_FILENAME, models_dir)


def metrics_path(models_dir: Path | None = None) -> Path:
    """Return the path of the test-set metrics written after training."""
    return models_file(METRICS_FILENAME, models_dir)


def export_dir(models_dir: Path | None = None) -> Path:
    """The folder of the .keras, SavedModel and .tflite exports."""
    return models_file(EXPORT_DIRNAME, models_dir)
