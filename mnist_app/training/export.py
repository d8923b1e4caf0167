"""The export step: from a trained Keras model to the files that serve it, each verified against it.

`prepare_serving()` writes what the dashboard and the command line need beside a new `.h5`: the ONNX
file the fast predictor runs, the layer table the Model page shows and the test-set report the pages
read. Training calls it for every model it writes; `export_all()` (`python -m mnist_app export`,
`scripts/check_model.py`) also writes `models/export/`: the native `.keras` file, a TensorFlow
SavedModel that TensorFlow Serving can serve (`saved_model/1/`, signature `serving_default`, input
`image` (N, 28, 28, 1) float32 in [0, 1], output `output_0` (N, 10) probabilities), the same zipped,
and a LiteRT `.tflite` file. Every export is checked on the 10,000 MNIST test images: identical argmax
everywhere and probabilities within 1e-4 of Keras.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from ai_edge_litert.interpreter import Interpreter

from mnist_app import config
from mnist_app.images import preprocess
from mnist_app.measure import evaluate
from mnist_app.network import inference, inside
from mnist_app.store import data, results
from mnist_app.training import model as networks

PROBABILITY_TOLERANCE = 1e-4
ONNX_OPSET = 17


def load_keras_model(models_dir: Path | None = None) -> keras.Model:
    """The committed Keras model (the reference every export is checked against)."""
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


def keras_reference(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Keras' own probabilities for a batch (the reference)."""
    return np.asarray(model.predict(images, batch_size=1024, verbose=0))


def _test_images() -> np.ndarray:
    return preprocess.normalize_mnist(data.load_test_set().x_test)


def export_onnx(models_dir: Path | None = None, verify_images: np.ndarray | None = None, *,
                model: keras.Model | None = None, reference: np.ndarray | None = None) -> dict:
    """Write models/mnist_cnn_model.onnx from the .h5, verify it, and return the agreement figures.

    A caller that already holds the Keras model (as saved in the .h5) and its probabilities on
    `verify_images` passes them in, so neither is loaded or computed twice.
    """
    models_dir = Path(models_dir or config.MODELS_DIR)
    model = model if model is not None else load_keras_model(models_dir)
    started = time.perf_counter()
    signature = (tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32, name="image"),)
    function = tf.function(lambda image: {"probabilities": model(image, training=False)})
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET)
    for key, value in ((inference.ONNX_SOURCE_KEY, results.file_sha256(config.model_path(models_dir))),
                       ("parameters", str(int(model.count_params()))),
                       ("exported_by", "mnist_app.training.export.export_onnx")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    target = config.onnx_path(models_dir)
    temporary = target.with_suffix(".onnx.tmp")
    onnx.save(proto, str(temporary))
    seconds = time.perf_counter() - started
    verify_images = _test_images() if verify_images is None else verify_images
    reference = keras_reference(model, verify_images) if reference is None else reference
    report = agreement(reference, inference.OnnxModel(temporary)(verify_images))
    check_agreement(report, "The ONNX export")
    os.replace(temporary, target)
    return {"path": str(target), "seconds": round(seconds, 1), **report}


def count_flops(proto: onnx.ModelProto) -> int:
    """Floating-point operations per image of an ONNX graph: 2 per multiply-add of its convolutions and matrix
    products (the usual count; additions of biases, normalisations and activations are left out)."""
    proto = onnx.ModelProto.FromString(proto.SerializeToString())
    for tensor in (*proto.graph.input, *proto.graph.output):
        dimensions = tensor.type.tensor_type.shape.dim
        if dimensions and not dimensions[0].dim_value:
            dimensions[0].dim_value = 1  # one image
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {value.name: [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]  # unknown: the one image
              for value in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output)}
    shapes.update({tensor.name: list(tensor.dims) for tensor in inferred.graph.initializer})
    multiply_adds = 0
    for node in inferred.graph.node:
        outputs = int(np.prod(shapes[node.output[0]])) if node.output[0] in shapes else 0
        if node.op_type == "Conv":  # each output value: in_channels / groups x kernel height x width
            _, in_per_group, *kernel = shapes[node.input[1]]
            multiply_adds += outputs * in_per_group * int(np.prod(kernel))
        elif node.op_type in ("Gemm", "MatMul"):  # each output value: one row of the left times one column
            right = shapes[node.input[1]]
            transposed = any(a.name == "transB" and a.i for a in node.attribute)
            multiply_adds += outputs * (right[-1] if transposed else right[-2])
    return 2 * multiply_adds


def member(model: keras.Model, index: int = 0) -> keras.Model:
    """One network of an ensemble (the model itself when it is one network)."""
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return members[index] if members else model


def _inside_model(network: keras.Model) -> tuple[keras.Model, list[dict]]:
    stages = networks.inside_stages(network)
    outputs = {info["name"]: layer.output for layer, info in stages}
    return keras.Model(network.inputs, outputs, name=f"{network.name}_inside"), [info for _, info in stages]


def export_inside(models_dir: Path | None = None, *, model: keras.Model | None = None,
                  verify_images: np.ndarray | None = None) -> dict:
    """Write models/mnist_cnn_inside.onnx: the first network's output at every stage (the Look inside page),
    with its stages and first-layer filters in the metadata; verified against Keras' own layer outputs."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    model = model if model is not None else load_keras_model(models_dir)
    network = member(model)
    stage_model, stages = _inside_model(network)
    signature = (tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32, name="image"),)
    function = tf.function(lambda image: stage_model([image], training=False))
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=ONNX_OPSET)
    networks_in_model = max(1, sum(isinstance(layer, keras.Model) for layer in model.layers))
    first_conv = next(layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D))
    kernel = first_conv.get_weights()[0]  # (height, width, 1, filters)
    filters = np.moveaxis(kernel[:, :, 0, :], -1, 0)
    metadata = {inference.ONNX_SOURCE_KEY: results.file_sha256(config.model_path(models_dir)),
                "member": "1", "networks": str(networks_in_model), "stages": json.dumps(stages),
                "first_filters": json.dumps(np.round(filters.astype(float), 6).tolist()),
                "network_parameters": str(int(network.count_params())),
                "exported_by": "mnist_app.training.export.export_inside"}
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    target = config.models_file(config.INSIDE_FILENAME, models_dir)
    temporary = target.with_suffix(".onnx.tmp")
    onnx.save(proto, str(temporary))
    verify_images = (_test_images() if verify_images is None else verify_images)[:INSIDE_VERIFY_IMAGES]
    report = inside_agreement(stage_model, temporary, verify_images)
    if report["max_abs_difference"] > PROBABILITY_TOLERANCE:
        raise RuntimeError(f"The Look inside export disagrees with Keras' layer outputs: {report}")
    os.replace(temporary, target)
    return report


INSIDE_VERIFY_IMAGES = 100


def inside_agreement(stage_model: keras.Model, path: Path, images: np.ndarray) -> dict:
    """The largest difference, over every stage's output, between Keras and the ONNX file at `path` (read as the
    dashboard reads it)."""
    expected = {name: np.asarray(value) for name, value in stage_model([images], training=False).items()}
    produced = inside.Inside(path).run(images)
    worst = {name: float(np.max(np.abs(expected[name] - produced[name]))) for name in expected}
    return {"images": int(len(images)), "stages": worst, "max_abs_difference": max(worst.values())}


def prepare_serving(models_dir: Path | None = None, *, model: keras.Model | None = None,
                    verify_images: np.ndarray | None = None, reference: np.ndarray | None = None) -> dict:
    """Everything a new .h5 needs to be served: the verified ONNX file (unless it is already current),
    the Model page's layer table and the test-set report; returns the ONNX agreement figures."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    model = model if model is not None else load_keras_model(models_dir)
    verify_images = _test_images() if verify_images is None else verify_images
    reference = keras_reference(model, verify_images) if reference is None else reference
    path = config.onnx_path(models_dir)
    current = None
    if path.is_file():
        existing = inference.OnnxModel(path)
        if existing.metadata.get(inference.ONNX_SOURCE_KEY) == results.file_sha256(config.model_path(models_dir)):
            current = agreement(reference, existing(verify_images))  # committed files stay untouched
            check_agreement(current, "The ONNX export")
    figures = current or {key: value for key, value in export_onnx(models_dir, verify_images, model=model,
                                                                   reference=reference).items()
                          if key not in ("path", "seconds")}
    summary = networks.summary(model)
    summary["mflop"] = round(count_flops(onnx.load(str(path))) / 1e6, 2)
    results.save_model_summary(summary, models_dir)
    if results.load_test_report(models_dir) is None:
        evaluate.build_test_report(models_dir)
    if not inside.current(models_dir):
        figures["inside"] = export_inside(models_dir, model=model, verify_images=verify_images)
    inside.nearest_index(models_dir)  # built now (a few seconds) unless the one beside the model is current
    return figures


def _keras_file_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    return keras_reference(keras.models.load_model(path, compile=False), images)


def _saved_model_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    outputs = [serve(image=tf.constant(images[start: start + 1024]))["output_0"].numpy()
               for start in range(0, len(images), 1024)]
    return np.concatenate(outputs)


def _tflite_predictions(path: Path, images: np.ndarray) -> np.ndarray:
    interpreter = Interpreter(model_path=str(path), num_threads=2)
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], [len(images), *config.INPUT_SHAPE])
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], np.ascontiguousarray(images, dtype=np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(target["index"]).copy()


def _zip_folder(folder: Path, target: Path, inside: str) -> None:
    """Pack every file under `folder` into a zip whose entries start with `inside/`."""
    def write(temporary: Path) -> None:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, Path(inside) / path.relative_to(folder))

    results.replace_atomically(target, write)


def export_all(models_dir: Path | None = None, verify_images: np.ndarray | None = None) -> dict:
    """Write .keras, SavedModel (and its zip) and .tflite exports and prepare serving; verify each; write a manifest."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    verify_images = _test_images() if verify_images is None else verify_images
    target = config.export_dir(models_dir)
    target.mkdir(parents=True, exist_ok=True)
    model = load_keras_model(models_dir)
    reference = keras_reference(model, verify_images)
    source_sha256 = results.file_sha256(config.model_path(models_dir))
    report = {"source": config.MODEL_FILENAME, inference.ONNX_SOURCE_KEY: source_sha256, "exports": {}}

    keras_path = target / config.KERAS_FILENAME
    model.save(keras_path)
    saved_model_path = target / config.SAVED_MODEL_DIRNAME / "1"
    shutil.rmtree(saved_model_path, ignore_errors=True)
    model.export(str(saved_model_path), format="tf_saved_model", verbose=False)
    _zip_folder(target / config.SAVED_MODEL_DIRNAME, target / config.SAVED_MODEL_ZIP, inside="mnist")
    tflite_path = target / config.TFLITE_FILENAME
    tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    for name, path, predict in (("keras", keras_path, _keras_file_predictions),
                                ("saved_model", saved_model_path, _saved_model_predictions),
                                ("tflite", tflite_path, _tflite_predictions)):
        figures = agreement(reference, predict(path, verify_images))
        check_agreement(figures, f"The {name} export")
        report["exports"][name] = {"path": str(path.relative_to(models_dir)), **figures}
    onnx_figures = prepare_serving(models_dir, model=model, verify_images=verify_images, reference=reference)
    report["exports"]["onnx"] = {"path": config.ONNX_FILENAME, **onnx_figures}
    results.write_json(target / config.MANIFEST_FILENAME, report)
    return report
