"""Look inside one network: its output at every stage, and the training digits nearest to a digit.

The export step writes `mnist_cnn_inside.onnx` beside the model: the first network of the model (of an ensemble, one
member) with one ONNX output per stage -- each convolution after its batch normalisation and ReLU, each max-pooling,
the hidden dense layer and the probabilities -- and, in its metadata, the stages in words, the first layer's filters
and the SHA-256 of the .h5 it came from. ONNX Runtime runs it, so the dashboard still never imports TensorFlow.

The nearest-neighbour index (`nearest_index.npz`) holds the 60,000 MNIST training digits as that network's
penultimate-layer vectors (unit length, float16), stamped with the same SHA-256. It is built at export time, and
again wherever it is missing or stale: an index of another model is never used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.errors import ModelFileError
from mnist_app.network import inference
from mnist_app.store import results

NEIGHBOURS = 12
INDEX_BATCH = 2000  # training digits per ONNX Runtime call while the index is built


class Inside:
    """The Look inside export, run by ONNX Runtime: every stage's output for a batch of 28x28 model inputs."""

    def __init__(self, path: Path, threads: int = 0):
        try:
            self.session = inference.onnx_session(path, threads)
            metadata = dict(self.session.get_modelmeta().custom_metadata_map)
            self.stages: list[dict] = json.loads(metadata["stages"])
            self.filters = np.asarray(json.loads(metadata["first_filters"]), dtype=np.float32)  # (k, h, w)
        except Exception as error:
            raise ModelFileError(f"The Look inside file {path} could not be read ({str(error)[:200]}). Re-export "
                                 "with: python -m mnist_app export") from None
        self.source_sha256 = metadata.get(config.SOURCE_SHA256_KEY)
        self.member = int(metadata.get("member", 1))
        self.networks = int(metadata.get("networks", 1))
        self.parameters = int(metadata.get("network_parameters", 0))
        self.input_name = self.session.get_inputs()[0].name
        self.names = [output.name for output in self.session.get_outputs()]
        for stage in self.stages:
            stage["shape"] = tuple(stage["shape"])

    @property
    def penultimate(self) -> str:
        """The stage whose vectors the nearest training digits are found by: the last before the output."""
        return [stage["name"] for stage in self.stages if stage["kind"] != "output"][-1]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """{stage name: its output for every image of the batch (N, 28, 28, 1)}."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return dict(zip(self.names, self.session.run(None, {self.input_name: batch})))

    def look(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every stage's output for one 28x28 model input, without the batch axis."""
        image = np.asarray(image, dtype=np.float32).reshape(1, *config.INPUT_SHAPE)
        return {name: output[0] for name, output in self.run(image).items()}

    def vectors(self, batch: np.ndarray) -> np.ndarray:
        """The penultimate stage's outputs, flattened, at unit length (N, d)."""
        features = self.run(batch)[self.penultimate].reshape(len(batch), -1).astype(np.float32)
        return _unit(features)


def _unit(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def inside_path(models_dir: Path | None = None) -> Path:
    return config.models_file(config.INSIDE_FILENAME, models_dir)


def current(models_dir: Path | None = None) -> bool:
    """Whether the Look inside export beside the model was exported from this very .h5."""
    try:
        return Inside(inside_path(models_dir)).source_sha256 == results.file_sha256(config.model_path(models_dir))
    except (ModelFileError, OSError):
        return False


def load(models_dir: Path | None = None) -> Inside:
    """The Look inside export of the model in `models_dir`, or a ModelFileError that says why there is none."""
    path = inside_path(models_dir)
    if not path.is_file():
        raise ModelFileError("This model has no Look inside export (models trained before the page existed have "
                             "none). Re-export with: python -m mnist_app export")
    found = Inside(path)
    if found.source_sha256 != results.file_sha256(config.model_path(models_dir)):
        raise ModelFileError(f"{path.name} was exported from another model. Re-export with: python -m mnist_app "
                             "export")
    return found


@dataclass
class NearestIndex:
    """The training digits as unit vectors of one network's penultimate layer; the nearest are the most similar
    (cosine similarity)."""

    vectors: np.ndarray  # float16 (N, d), unit length
    labels: np.ndarray  # uint8 (N,)
    source_sha256: str  # the .h5 whose network made the vectors
    _matrix: np.ndarray | None = field(default=None, repr=False)

    def query(self, vector: np.ndarray, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
        """(the indices of the k nearest training digits, most similar first; their similarities)."""
        if self._matrix is None:  # float32 once: numpy multiplies float16 without BLAS, ~20x slower
            self._matrix = self.vectors.astype(np.float32)
        similarity = self._matrix @ _unit(np.asarray(vector, np.float32).reshape(1, -1))[0]
        nearest = np.argpartition(-similarity, k)[:k]
        nearest = nearest[np.argsort(-similarity[nearest], kind="stable")]
        return nearest, similarity[nearest]


def index_path(models_dir: Path | None = None) -> Path:
    return config.models_file(config.NEAREST_FILENAME, models_dir)


def build_index(found: Inside, images: np.ndarray, labels: np.ndarray,
                progress: Callable[[int, int], None] | None = None) -> NearestIndex:
    """Every training image (uint8 (N, 28, 28)) through the network, kept as penultimate-layer unit vectors."""
    parts = []
    for start in range(0, len(images), INDEX_BATCH):
        batch = images[start: start + INDEX_BATCH].astype(np.float32)[..., None] / 255.0
        parts.append(found.vectors(batch).astype(np.float16))
        if progress:
            progress(min(start + INDEX_BATCH, len(images)), len(images))
    return NearestIndex(np.concatenate(parts), np.asarray(labels, np.uint8), found.source_sha256)


def save_index(index: NearestIndex, models_dir: Path | None = None) -> None:
    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez(handle, vectors=index.vectors, labels=index.labels, source_sha256=np.array(index.source_sha256))

    results.replace_atomically(index_path(models_dir), write)


def load_index(models_dir: Path | None = None) -> NearestIndex | None:
    """The index beside the model, or None when it is missing, unreadable or another model's."""
    try:
        with np.load(index_path(models_dir), allow_pickle=False) as stored:
            index = NearestIndex(stored["vectors"], stored["labels"], str(stored["source_sha256"]))
        wanted = results.file_sha256(config.model_path(models_dir))
    except (OSError, ValueError, KeyError):
        return None
    if index.vectors.ndim != 2 or len(index.vectors) != len(index.labels):
        return None
    return index if index.source_sha256 == wanted else None


def nearest_index(models_dir: Path | None = None, progress: Callable[[int, int], None] | None = None,
                  training: tuple[np.ndarray, np.ndarray] | None = None) -> NearestIndex:
    """The current index of the model in `models_dir`: the stored one, or built again (a few seconds) and stored
    beside the model when it is missing or stale. `training`: the MNIST training (images, labels), if at hand."""
    index = load_index(models_dir)
    if index is not None:
        return index
    found = load(models_dir)
    if training is None:
        from mnist_app.store import data

        mnist = data.load_mnist()
        training = (mnist.x_train, mnist.y_train)
    index = build_index(found, *training, progress=progress)
    try:
        save_index(index, models_dir)
    except OSError:  # a read-only model folder: this process keeps the index it built
        pass
    return index
