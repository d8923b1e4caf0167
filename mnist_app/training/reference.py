"""The Keras reference path: the .h5 called directly, beside the fast ONNX path of mnist_app.network.inference.

`Predictor(backend="keras")` answers with Keras itself (`model(x, training=False)`, never `model.predict` per
image: Keras documents a large fixed cost per call); `backend="auto"` uses the ONNX export when it is this very
.h5's and falls back to Keras, with a note, when it is missing or stale. Both give the same answers: the export
step checks it on every test image. TensorFlow costs seconds and ~0.5 GB, so only the command line (when asked
or when the export is stale), the exports and the tests come here; the dashboard never does.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from mnist_app import config
from mnist_app.errors import ModelFileError
from mnist_app.network import inference


class KerasModel:
    """The .h5 model, loaded with Keras for inference only."""

    name = "keras"
    thread_safe = False  # Keras models are not documented as safe for concurrent calls: the predictor serialises

    def __init__(self, path: Path):
        try:
            self.model = keras.models.load_model(path, compile=False)
        except Exception as error:
            raise ModelFileError(
                f"The model file {path} could not be read ({type(error).__name__}: {str(error)[:200]}). "
                f"Retrain it with: {config.TRAIN_COMMAND_HINT}") from None
        inference.check_shapes(path, tuple(self.model.inputs[0].shape[1:]), tuple(self.model.outputs[0].shape[1:]))
        self.parameters = int(self.model.count_params())

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(batch, training=False))


class Predictor(inference.Predictor):
    """The predictor with the Keras reference path: "keras", or "auto" (ONNX when current, else Keras)."""

    backends = inference.BACKENDS

    def __init__(self, models_dir: Path | None = None, backend: str = "auto"):
        super().__init__(models_dir, backend)

    def _load(self, backend: str):
        if backend in ("auto", "onnx"):
            try:
                return super()._load(backend)
            except inference.StaleExportError as error:
                if backend == "onnx":
                    raise
                self.notes.append(f"Using the Keras reference path: {error.problem} (run `python -m mnist_app "
                                  "export`).")
        return KerasModel(self.model_path)
