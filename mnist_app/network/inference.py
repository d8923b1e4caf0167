"""The predictor: loads the model once and turns batches of 28x28 model inputs into probabilities.

It runs the model's ONNX export with ONNX Runtime (the fast path every face uses). The export records the
SHA-256 of the .h5 it came from, so a retrained model is never answered by a stale export: a missing or stale
export is a ModelFileError that names the command to export again. The Keras reference path (the .h5 called
directly) is `mnist_app.training.reference.Predictor`, which needs TensorFlow: nothing here imports it.
A predictor is safe to call from many threads at once, as Streamlit's shared cached resources are.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime

from mnist_app import config
from mnist_app.errors import ModelFileError
from mnist_app.store import results

BACKENDS = ("auto", "onnx", "keras")  # what --backend offers; "auto" and "keras" need mnist_app.training.reference
BATCH_SIZE = 512
ONNX_SOURCE_KEY = config.SOURCE_SHA256_KEY
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first bytes of every HDF5 file (the .h5 format)


class StaleExportError(ModelFileError):
    """The fast path cannot answer for this .h5: its ONNX export is missing, unreadable or another model's."""

    def __init__(self, problem: str):
        super().__init__(f"Fast path unavailable: {problem}. Re-export with: python -m mnist_app export")
        self.problem = problem


def missing_model_message(path: Path) -> str:
    return f"No trained model at {path}. Train one with: {config.TRAIN_COMMAND_HINT}"


def onnx_session(path: Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session on the CPU (`threads` 0: as many as the process may run on); raises what ONNX Runtime
    raises for a file it cannot read."""
    options = onnxruntime.SessionOptions()
    # Left at 0, ONNX Runtime starts a thread per core of the machine and pins each to its core, whatever the
    # process was allowed: a process held to one core (taskset, a container's cpuset, `scripts/bench_numbers`) then
    # ran its batches on the others too (seen: a worker thread pinned to core 1 in a process pinned to core 0).
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    # No spin-waiting for the next Run: ONNX Runtime's pool threads otherwise spin after every call, which
    # cost the dashboard's server ~35 ms of CPU per drawn stroke (perf showed them busy in ORT between
    # strokes); the 10,000-image batch is no slower without it (3.7-4.0 s either way).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxModel:
    """An ONNX export run by ONNX Runtime (the fast path); its metadata names the .h5 it came from."""

    name = "onnx"

    def __init__(self, path: Path, threads: int = 0):
        try:
            self.session = onnx_session(path, threads)
        except Exception as error:
            raise ModelFileError(f"The ONNX model {path} could not be read ({str(error)[:200]}).") from None
        model_input, model_output = self.session.get_inputs()[0], self.session.get_outputs()[0]
        check_shapes(path, tuple(model_input.shape[1:]), tuple(model_output.shape[1:]))
        self.input_name = model_input.name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.parameters = int(self.metadata.get("parameters", 0))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        # InferenceSession.run is thread-safe (ONNX Runtime documents concurrent Run calls).
        return self.session.run(None, {self.input_name: batch})[0]


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Re-soften (T > 1) or sharpen (T < 1) probabilities: softmax(log(p) / T)."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def _figure(metrics: dict, section: str, name: str, default: float, bounds: tuple[float, float]) -> float:
    """A fitted number from metrics.json (`python -m mnist_app calibrate` and training write them), or the
    default when it is missing or out of bounds: the temperature (1.0 = none) and the rejection threshold."""
    try:
        value = float(metrics[section][name])
    except (KeyError, TypeError, ValueError):
        return default
    return value if bounds[0] <= value <= bounds[1] else default


def check_shapes(path: Path, input_shape: tuple, output_shape: tuple) -> None:
    if input_shape != config.INPUT_SHAPE or output_shape != (config.NUM_CLASSES,):
        raise ModelFileError(
            f"{path} is not an MNIST classifier: it takes {input_shape} and returns {output_shape}, "
            f"but {config.INPUT_SHAPE} -> ({config.NUM_CLASSES},) is needed. Retrain with: {config.TRAIN_COMMAND_HINT}")


class Predictor:
    """Loads the model once; predicts one image or many; thread-safe."""

    backends = ("onnx",)  # what this class can load (the reference predictor adds "keras" and "auto")

    def __init__(self, models_dir: Path | None = None, backend: str = "onnx"):
        if backend not in self.backends:
            raise ValueError(f"backend must be one of {self.backends}")
        self.models_dir = Path(models_dir or config.MODELS_DIR)
        self.model_path = config.model_path(self.models_dir)
        if not self.model_path.is_file():
            raise ModelFileError(missing_model_message(self.model_path))
        if self.model_path.stat().st_size == 0:
            raise ModelFileError(f"The model file {self.model_path} is empty. Retrain it with: "
                                 f"{config.TRAIN_COMMAND_HINT}")
        with open(self.model_path, "rb") as handle:  # read without Keras: the file's signature, at least
            if handle.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                raise ModelFileError(f"The model file {self.model_path} could not be read (it is not an HDF5 "
                                     f"file). Retrain it with: {config.TRAIN_COMMAND_HINT}")
        self.notes: list[str] = []
        self.sha256 = results.file_sha256(self.model_path)  # ties the ONNX export to this very .h5
        self.model_id = self.sha256[:12]  # which model answered (kept with saved digits)
        self._backend = self._load(backend)
        self._lock = threading.Lock()
        metrics = results.load_metrics(self.models_dir) or {}
        self.temperature = _figure(metrics, "calibration", "temperature", 1.0, (0.01, 100.0))
        self.reject_below = _figure(metrics, "decision", "reject_below", 0.0, (0.0, 1.0))

    def _load(self, backend: str):
        """The ONNX export of this very .h5, or a StaleExportError that says why not."""
        onnx_file = config.onnx_path(self.models_dir)
        if not onnx_file.is_file():
            raise StaleExportError(f"no ONNX export at {onnx_file}")
        try:
            fast = OnnxModel(onnx_file)
        except ModelFileError as error:
            raise StaleExportError(str(error)) from None
        if fast.metadata.get(ONNX_SOURCE_KEY) != self.sha256:
            raise StaleExportError(f"{onnx_file.name} was exported from a different {self.model_path.name}")
        return fast

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
        if getattr(self._backend, "thread_safe", True):
            return self._backend(batch)
        with self._lock:  # e.g. Keras models, not documented as safe for concurrent calls
            return self._backend(batch)

    def single_image_ms(self, batch: np.ndarray) -> float:
        """The median time, in ms, to read one image of `batch` (N, 28, 28, 1) at a time (after one warm-up)."""
        self.predict_batch(batch[:1])
        seconds = []
        for index in range(len(batch)):
            began = time.perf_counter()
            self.predict_batch(batch[index: index + 1])
            seconds.append(time.perf_counter() - began)
        return float(np.median(seconds) * 1000)

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """Temperature-scaled probabilities (same argmax; confidences that match accuracy)."""
        return apply_temperature(probabilities, self.temperature)
