"""Export the committed Keras model to other formats and verify each against it.

`export_onnx()` writes the ONNX file the fast predictor runs. Every export is checked on the
10,000 MNIST test images: identical argmax everywhere and probabilities within 1e-4 of Keras.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from mnist_app import config, data, preprocess, reports
from mnist_app.inference import ONNX_SOURCE_KEY, file_sha256

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROBABILITY_TOLERANCE = 1e-4
ONNX_OPSET = 17


def load_keras_model(models_dir: Path | None = None):
    """The committed Keras model (the reference every export is checked against)."""
    import keras

    return keras.models.load_model(config.model_path(models_dir), compile=False)


def agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """How closely two sets of probabilities agree (argmax matches and largest difference)."""
    return {
        "images": int(len(reference)),
        "argmax_identical": int(np.sum(reference.argmax(axis=1) == candidate.argmax(axis=1))),
        "max_abs_probability_difference": float(np.max(np.abs(reference - candidate))),
    }


def check_agreement(report: dict, what: str) -> None:
    """Raise if an export disagrees with the Keras model beyond the tolerance."""
    if report["argmax_identical"] != report["images"] or report["max_abs_probability_difference"] > PROBABILITY_TOLERANCE:
        raise RuntimeError(f"{what} disagrees with the Keras model: {report}")


def keras_reference(model, images: np.ndarray) -> np.ndarray:
    """Keras' own probabilities for a batch (the reference)."""
    return np.asarray(model.predict(images, batch_size=1024, verbose=0))


def export_onnx(models_dir: Path | None = None, verify_images: np.ndarray | None = None) -> dict:
    """Write models/mnist_cnn_model.onnx from the .h5, verify it, and return the agreement figures."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    models_dir = Path(models_dir or config.MODELS_DIR)
    model = load_keras_model(models_dir)
    started = time.perf_counter()
    signature = (tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image"),)
    function = tf.function(lambda image: {"probabilities": model(image, training=False)})
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET)
    for key, value in ((ONNX_SOURCE_KEY, file_sha256(config.model_path(models_dir))),
                       ("parameters", str(int(model.count_params()))),
                       ("exported_by", "mnist_app.export.export_onnx")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    target = config.onnx_path(models_dir)
    temporary = target.with_suffix(".onnx.tmp")
    onnx.save(proto, str(temporary))
    seconds = time.perf_counter() - started

    from mnist_app.inference import _OnnxBackend

    if verify_images is None:
        verify_images = preprocess.normalize_mnist(data.load_mnist().x_test)
    report = agreement(keras_reference(model, verify_images), _OnnxBackend(temporary)(verify_images))
    check_agreement(report, "The ONNX export")
    os.replace(temporary, target)
    reports.summary_path(models_dir).write_text(json.dumps(reports.describe_model(model), indent=1) + "\n")
    return {"path": str(target), "seconds": round(seconds, 1), **report}
