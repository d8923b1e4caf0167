"""Paths and constants shared by the library, the pages, the scripts and the tests.

Every path is anchored on the package, never on the working directory, so the app, the CLI and the
tests find the same files wherever they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# MNIST cache: git-ignored, rebuilt from the first source that works (see mnist_app.data).
DATA_DIR = Path(os.environ.get("MNIST_APP_DATA_DIR", PROJECT_ROOT / "data"))
MNIST_CACHE = DATA_DIR / "mnist.npz"
KERAS_MNIST_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"

# The committed model and the files the training script writes beside it.
MODELS_DIR = Path(os.environ.get("MNIST_APP_MODELS_DIR", PROJECT_ROOT / "models"))
MODEL_FILENAME = "mnist_cnn_model.h5"
ONNX_FILENAME = "mnist_cnn_model.onnx"
HISTORY_FILENAME = "history.json"
METRICS_FILENAME = "metrics.json"

IMAGE_SIZE = 28
NUM_CLASSES = 10
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # what every network takes: one 28x28 grey channel
ARCHITECTURES = ("default", "medium", "small")  # mnist_app.model builds them

TRAIN_COMMAND_HINT = "make train   (or: python scripts/train.py)"


def model_path(models_dir: Path | None = None) -> Path:
    """Return the path of the Keras model file the dashboard loads."""
    return (models_dir or MODELS_DIR) / MODEL_FILENAME


def onnx_path(models_dir: Path | None = None) -> Path:
    """Return the path of the ONNX export used by the fast predictor."""
    return (models_dir or MODELS_DIR) / ONNX_FILENAME


def history_path(models_dir: Path | None = None) -> Path:
    """Return the path of the per-epoch training history."""
    return (models_dir or MODELS_DIR) / HISTORY_FILENAME


def metrics_path(models_dir: Path | None = None) -> Path:
    """Return the path of the test-set metrics written after training."""
    return (models_dir or MODELS_DIR) / METRICS_FILENAME
