"""Export the committed Keras model to other formats and verify each against it.

`export_onnx()` writes the ONNX file the fast predictor runs (models/, committed). `export_all()`
(scripts/export.py) also writes models/export/: the native `.keras` file, a TensorFlow SavedModel
that TensorFlow Serving can serve (models/export/saved_model/1/, signature `serving_default`,
input `image` (N, 28, 28, 1) float32 in [0, 1], output `output_0` (N, 10) probabilities) and a
LiteRT `.tflite` file. Every export is checked on the 10,000 MNIST test images: identical argmax
everywhere and probabilities within 1e-4 of Keras.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from mnist_app import config, data, preprocess, reports, testset
from mnist_app.inference import ONNX_SOURCE_KEY, file_sha256

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROBABILITY_TOLERANCE = 1e-4
ONNX_OPSET = 17
EXPORT_DIRNAME = "export"
KERAS_FILENAME = "mnist_cnn_model.keras"
SAVED_MODEL_DIRNAME = "saved_model"  # TensorFlow Serving wants numbered versions inside: saved_model/1/
SAVED_MODEL_ZIP = "mnist_saved_model.zip"  # the same folder packed once for the dashboard's download button
TFLITE_FILENAME = "mnist_cnn_model.tflite"
MANIFEST_FILENAME = "manifest.json"


def export_dir(models_dir: Path | None = None) -> Path:
    return Path(models_dir or config.MODELS_DIR) / EXPORT_DIRNAME


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
    drift = report["max_abs_probability_difference"]
    if report["argmax_identical"] != report["images"] or drift > PROBABILITY_TOLERANCE:
        raise RuntimeError(f"{what} disagrees with the Keras model: {report}")


def keras_reference(model, images: np.ndarray) -> np.ndarray:
    """Keras' own probabilities for a batch (the reference)."""
    return np.asarray(model.predict(images, batch_size=1024, verbose=0))


def export_onnx(models_dir: Path | None = None, verify_images: np.ndarray | None = None, *, model=None,
                reference: np.ndarray | None = None) -> dict:
    """Write models/mnist_cnn_model.onnx from the .h5, verify it, and return the agreement figures.

    A caller that already holds the Keras model (as saved in the .h5) and its probabilities on
    `verify_images` passes them in, so neither is loaded or computed twice.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx

    models_dir = Path(models_dir or config.MODELS_DIR)
    model = model if model is not None else load_keras_model(models_dir)
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
    if reference is None:
        reference = keras_reference(model, verify_images)
    report = agreement(reference, _OnnxBackend(temporary)(verify_images))
    check_agreement(report, "The ONNX export")
    os.replace(temporary, target)
    reports.summary_path(models_dir).write_text(json.dumps(reports.describe_model(model), indent=1) + "\n")
    return {"path": str(target), "seconds": round(seconds, 1), **report}


def _keras_file_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    import keras

    return keras_reference(keras.models.load_model(path, compile=False), images)


def _saved_model_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    outputs = [serve(image=tf.constant(images[start: start + 1024]))["output_0"].numpy()
               for start in range(0, len(images), 1024)]
    return np.concatenate(outputs)


def _tflite_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=2)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], [len(images), 28, 28, 1])
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], np.ascontiguousarray(images, dtype=np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(target["index"]).copy()


def export_all(models_dir: Path | None = None, verify_images: np.ndarray | None = None) -> dict:
    """Write .keras, SavedModel and .tflite exports (and the ONNX file), verify each, write a manifest."""
    import shutil

    import tensorflow as tf

    models_dir = Path(models_dir or config.MODELS_DIR)
    if verify_images is None:
        verify_images = preprocess.normalize_mnist(data.load_mnist().x_test)
    target = export_dir(models_dir)
    target.mkdir(parents=True, exist_ok=True)
    model = load_keras_model(models_dir)
    reference = keras_reference(model, verify_images)
    source_sha256 = file_sha256(config.model_path(models_dir))
    report = {"source": config.model_path(models_dir).name, ONNX_SOURCE_KEY: source_sha256, "exports": {}}

    keras_path = target / KERAS_FILENAME
    model.save(keras_path)
    saved_model_path = target / SAVED_MODEL_DIRNAME / "1"
    shutil.rmtree(saved_model_path, ignore_errors=True)
    model.export(str(saved_model_path), format="tf_saved_model", verbose=False)
    _zip_folder(target / SAVED_MODEL_DIRNAME, target / SAVED_MODEL_ZIP, inside="mnist")
    tflite_path = target / TFLITE_FILENAME
    tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    for name, path, predict in (("keras", keras_path, _keras_file_predictions),
                                ("saved_model", saved_model_path, _saved_model_predictions),
                                ("tflite", tflite_path, _tflite_predictions)):
        figures = agreement(reference, predict(path, verify_images))
        check_agreement(figures, f"The {name} export")
        report["exports"][name] = {"path": str(path.relative_to(models_dir)), **figures}
    onnx_figures = _current_onnx(models_dir, model, reference, verify_images, source_sha256)
    report["exports"]["onnx"] = {"path": config.ONNX_FILENAME, **onnx_figures}
    (target / MANIFEST_FILENAME).write_text(json.dumps(report, indent=1) + "\n")
    if not testset.current(models_dir):
        testset.build(models_dir)
    return report


def _zip_folder(folder: Path, target: Path, inside: str) -> None:
    """Pack every file under `folder` into a zip whose entries start with `inside/`."""
    import zipfile

    temporary = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(inside) / path.relative_to(folder))
    os.replace(temporary, target)


def _current_onnx(models_dir: Path, model, reference: np.ndarray, verify_images: np.ndarray,
                  source_sha256: str) -> dict:
    """Verify the ONNX file if it was exported from this .h5 (committed files stay untouched), else re-export."""
    from mnist_app.inference import _OnnxBackend

    path = config.onnx_path(models_dir)
    if path.is_file() and reports.summary_path(models_dir).is_file():
        existing = _OnnxBackend(path)
        if existing.metadata.get(ONNX_SOURCE_KEY) == source_sha256:
            figures = agreement(reference, existing(verify_images))
            check_agreement(figures, "The ONNX export")
            return figures
    exported = export_onnx(models_dir, verify_images, model=model, reference=reference)
    return {key: value for key, value in exported.items() if key not in ("path", "seconds")}


def exports_current(models_dir: Path | None = None) -> bool:
    """True when models/export holds verified exports of the current .h5."""
    manifest = export_dir(models_dir) / MANIFEST_FILENAME
    try:
        recorded = json.loads(manifest.read_text())[ONNX_SOURCE_KEY]
    except (OSError, ValueError, KeyError):
        return False
    packed = (export_dir(models_dir) / SAVED_MODEL_ZIP).is_file()
    return packed and recorded == file_sha256(config.model_path(models_dir))
