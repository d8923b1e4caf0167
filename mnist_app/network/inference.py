"""The predictor: loads the model once and turns batches of 28x28 model inputs into probabilities.

Two back-ends give the same answers:
- "onnx" (the fast path, used by the dashboard and the CLI): ONNX Runtime running the ONNX export
  of the committed Keras model. The export records the SHA-256 of the .h5 it came from, so a
  retrained model is never answered by a stale export.
- "keras" (the reference): the .h5 model called directly, `model(x, training=False)`, never
  `model.predict` per image (Keras documents a large fixed cost per call).
Both are safe to call from many threads at once, as Streamlit's shared cached resources are.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime

from mnist_app import calibration, config, results
from mnist_app.errors import ModelFileError

BACKENDS = ("auto", "onnx", "keras")
BATCH_SIZE = 512
ONNX_SOURCE_KEY = config.SOURCE_SHA256_KEY


def missing_model_message(path: Path) -> str:
    return f"No trained model at {path}. Train one with: {config.TRAIN_COMMAND_HINT}"


class _KerasModel:
    name = "keras"

    def __init__(self, path: Path):
        try:
            import keras  # deferred: TensorFlow costs seconds and ~0.5 GB; only this reference path needs it

            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:
            raise ModelFileError(
                f"The model file {path} could not be read ({type(error).__name__}: {str(error)[:200]}). "
                f"Retrain it with: {config.TRAIN_COMMAND_HINT}") from None
        input_shape = tuple(self.model.inputs[0].shape[1:])
        output_shape = tuple(self.model.outputs[0].shape[1:])
        _check_shapes(path, input_shape, output_shape)
        self.parameters = int(self.model.count_params())

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(batch, training=False))


class OnnxModel:
    """An ONNX export run by ONNX Runtime (the fast path); its metadata names the .h5 it came from."""

    name = "onnx"

    def __init__(self, path: Path, threads: int = 0):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:
            raise ModelFileError(f"The ONNX model {path} could not be read ({str(error)[:200]}).") from None
        model_input, model_output = self.session.get_inputs()[0], self.session.get_outputs()[0]
        _check_shapes(path, tuple(model_input.shape[1:]), tuple(model_output.shape[1:]))
        self.input_name = model_input.name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.parameters = int(self.metadata.get("parameters", 0))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        # InferenceSession.run is thread-safe (ONNX Runtime documents concurrent Run calls).
        return self.session.run(None, {self.input_name: batch})[0]


def _figure(metrics: dict, section: str, name: str, default: float, bounds: tuple[float, float]) -> float:
    """A fitted number from metrics.json (`python -m mnist_app calibrate` and training write them), or the
    default when it is missing or out of bounds: the temperature (1.0 = none) and the rejection threshold."""
    try:
        value = float(metrics[section][name])
    except (KeyError, TypeError, ValueError):
        return default
    return value if bounds[0] <= value <= bounds[1] else default


def _check_shapes(path: Path, input_shape: tuple, output_shape: tuple) -> None:
    if input_shape != config.INPUT_SHAPE or output_shape != (config.NUM_CLASSES,):
        raise ModelFileError(
            f"{path} is not an MNIST classifier: it takes {input_shape} and returns {output_shape}, "
            f"but {config.INPUT_SHAPE} -> ({config.NUM_CLASSES},) is needed. Retrain with: {config.TRAIN_COMMAND_HINT}")


class Predictor:
    """Loads the model once; predicts one image or many; thread-safe."""

    def __init__(self, models_dir: Path | None = None, backend: str = "auto"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}")
        self.models_dir = Path(models_dir or config.MODELS_DIR)
        self.model_path = config.model_path(self.models_dir)
        if not self.model_path.is_file():
            raise ModelFileError(missing_model_message(self.model_path))
        if self.model_path.stat().st_size == 0:
            raise ModelFileError(f"The model file {self.model_path} is empty. Retrain it with: "
                                 f"{config.TRAIN_COMMAND_HINT}")
        self.notes: list[str] = []
        self.sha256 = results.file_sha256(self.model_path)  # ties the ONNX export to this very .h5
        self.model_id = self.sha256[:12]  # which model answered (kept with saved digits)
        self._backend = self._load(backend)
        self._lock = threading.Lock()
        metrics = results.load_metrics(self.models_dir) or {}
        self.temperature = _figure(metrics, "calibration", "temperature", 1.0, (0.01, 100.0))
        self.reject_below = _figure(metrics, "decision", "reject_below", 0.0, (0.0, 1.0))

    def _load(self, backend: str):
        onnx_file = config.onnx_path(self.models_dir)
        if backend in ("auto", "onnx"):
            problem = None
            if not onnx_file.is_file():
                problem = f"no ONNX export at {onnx_file}"
            else:
                try:
                    fast = OnnxModel(onnx_file)
                except (ModelFileError, ImportError) as error:
                    problem = str(error)
                else:
                    if fast.metadata.get(ONNX_SOURCE_KEY) == self.sha256:
                        return fast
                    problem = f"{onnx_file.name} was exported from a different {self.model_path.name}"
            if backend == "onnx":
                raise ModelFileError(f"Fast path unavailable: {problem}. Re-export with: python -m mnist_app export")
            self.notes.append(f"Using the Keras reference path: {problem} (run `python -m mnist_app export`).")
        return _KerasModel(self.model_path)

    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def parameters(self) -> int:
        return self._backend.parameters

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) for a float32 batch (N, 28, 28, 1) of preprocessed images."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != config.INPUT_SHAPE:
            raise ValueError(f"expected a batch of shape (N, *{config.INPUT_SHAPE}), got {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, config.NUM_CLASSES), dtype=np.float32)
        outputs = [self._run(batch[start: start + BATCH_SIZE * 8]) for start in range(0, len(batch), BATCH_SIZE * 8)]
        return np.concatenate(outputs).astype(np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._backend.name == "onnx":
            return self._backend(batch)
        with self._lock:  # Keras models are not documented as safe for concurrent calls
            return self._backend(batch)

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities (same argmax; confidences that match accuracy)."""
        return calibration.apply_temperature(probabilities, self.temperature)
