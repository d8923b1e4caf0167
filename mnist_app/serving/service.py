"""What every dashboard session shares, loaded once per server process and warmed when it starts.

The predictors, the test-set reports and the MNIST test images are process-wide: each is loaded once, by
whichever comes first (the warm-up thread `python -m mnist_app serve` starts with the server, or the first
visitor), and reloaded when its files change on disk. There is one predictor per model folder: the shared
model's, and those of the people who read with a model of their own (`reading_folder`: which folder a workspace
reads with, asked of the store at most every READING_TTL seconds). At most MAX_PREDICTORS are kept; the least
recently used goes first. No Streamlit here: the same objects serve the pages and the warm-up.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.errors import ModelFileError, StoreError
from mnist_app.images import preprocess, wholeness
from mnist_app.measure import evaluate
from mnist_app.network import inference, inside
from mnist_app.store import data, database, registry, results

MAX_PREDICTORS = 8  # model folders kept loaded at once (an ensemble's ONNX session holds ~20 MiB)
MAX_INDICES = 2  # nearest-neighbour indices kept loaded at once (~90 MiB each: float16 on disk, float32 to search)
READING_TTL = 2.0  # seconds a workspace's choice of model (and the shared one) is remembered

_cache: OrderedDict[str, tuple[tuple, object]] = OrderedDict()
_folders: dict[str | None, tuple[float, tuple[Path, bool]]] = {}
_answering: dict[str | None, Path] = {}  # the folder each workspace's readings come from now
_ready: set[Path] = set()  # folders loaded and verified
_loading: set[Path] = set()
_failed: dict[Path, str] = {}  # folders that could not be loaded or verified, and why
VERIFY_IMAGES = 200
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_warming: threading.Thread | None = None


def _stamp(*paths: Path) -> tuple:
    """What identifies a version of some files: their sizes and modification times."""
    stamp = []
    for path in paths:
        try:
            status = path.stat()
            stamp.append((str(path), status.st_size, status.st_mtime_ns))
        except OSError:
            stamp.append((str(path), None, None))
    return tuple(stamp)


def _shared(name: str, stamp: tuple, load: Callable[[], object]):
    """load()'s result, shared by every thread, computed again only when `stamp` changes.

    Errors are not remembered: a missing model is looked for again on the next call.
    """
    with _locks_guard:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:  # one loader per resource; others wait for its result instead of loading it again
        cached = _cache.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        value = load()
        with _locks_guard:
            _cache[name] = (stamp, value)
        return value


def is_loaded(name: str) -> bool:
    """Whether a resource ("predictor", "report", "test_set") is already in memory."""
    return name in _cache


def _model_files(models_dir: Path) -> tuple:
    return _stamp(config.model_path(models_dir), config.onnx_path(models_dir), config.metrics_path(models_dir))


def predictor(models_dir: Path | None = None) -> inference.Predictor:
    """The shared predictor of the model in `models_dir` (the committed model by default; ModelFileError when
    there is none). A model folder of the artifact store is never rewritten, so a loaded one stays right."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    name = f"predictor:{models_dir}"
    loaded = _shared(name, _model_files(models_dir), lambda: inference.Predictor(models_dir))
    _keep_recent(name, "predictor:", MAX_PREDICTORS)
    return loaded


def _keep_recent(name: str, kind: str, most: int) -> None:
    """Mark `name` as just used, and drop the least recently used resources of its kind beyond `most`."""
    with _locks_guard:
        _cache.move_to_end(name)
        loaded = [key for key in _cache if key.startswith(kind)]
        for key in loaded[: max(0, len(loaded) - most)]:
            del _cache[key]


def reading_folder(owner: str | None) -> tuple[Path, bool]:
    """(the model folder `owner` should read with, whether it is their own model): the shared one for None.
    Asked of the store at most every READING_TTL seconds; a model whose files cannot be had falls back to the
    committed one."""
    now = time.monotonic()
    remembered = _folders.get(owner)
    if remembered is not None and now - remembered[0] < READING_TTL:
        return remembered[1]
    try:
        found = registry.folders(database.engine(), owner)
    except StoreError:  # an incomplete or damaged model in the artifact store: never loaded
        found = (Path(config.MODELS_DIR), False)
    if not config.model_path(found[0]).is_file() and found[0] != config.MODELS_DIR:
        found = (Path(config.MODELS_DIR), False)  # a model whose files are gone: the committed one answers
    _folders[owner] = (now, found)
    return found


def reading_predictor(owner: str | None) -> inference.Predictor:
    """The predictor `owner`'s readings use now.

    When the model they read with changes under them (an admin shared another, seen within READING_TTL s on
    every replica), the new one is loaded and verified in the background while the old one keeps answering;
    readings switch to it in one step once it is ready. A model the person chose themselves (forget_choice) is
    loaded at once.
    """
    folder = reading_folder(owner)[0]
    previous = _answering.get(owner)
    if previous is None or previous == folder or folder in _ready:
        loaded = predictor(folder)
        _ready.add(folder)
        _answering[owner] = folder
        return loaded
    _load_in_background(folder)
    try:
        return predictor(previous)
    except ModelFileError:  # the old one is gone too: wait for the new one
        _answering.pop(owner, None)
        return reading_predictor(owner)


def _load_in_background(folder: Path) -> None:
    with _locks_guard:
        if folder in _loading or folder in _failed:  # a model's folder is named by its content: a failure is final
            return
        _loading.add(folder)

    def load() -> None:
        try:
            verify(predictor(folder), folder)
            _ready.add(folder)
        except Exception as error:  # not loadable or not right: the old model goes on answering
            _failed[folder] = str(error)
        finally:
            with _locks_guard:
                _loading.discard(folder)

    threading.Thread(target=load, name="mnist-model-switch", daemon=True).start()


def verify(loaded: inference.Predictor, folder: Path) -> None:
    """Check a newly loaded model before it answers anyone: it must give its own stored answers on the first
    VERIFY_IMAGES test images (or, without a stored report, proper probabilities); ModelFileError otherwise."""
    report = results.load_test_report(folder)
    if report is not None:
        images = preprocess.normalize_mnist(test_set().x_test[:VERIFY_IMAGES])
        answers = loaded.predict_batch(images).argmax(axis=1)
        if not np.array_equal(answers, report.predicted[:VERIFY_IMAGES]):
            raise ModelFileError(f"the model in {folder} does not give its own recorded answers")
        return
    probabilities = loaded.predict_batch(np.zeros((1, *config.INPUT_SHAPE), np.float32))
    if not (np.all(np.isfinite(probabilities)) and abs(float(probabilities.sum()) - 1.0) < 1e-3):
        raise ModelFileError(f"the model in {folder} does not give probabilities")


def forget_choice(owner: str | None = None) -> None:
    """Ask the store again on the next reading, and switch at once (after someone chose another model)."""
    if owner is None:
        _folders.clear()
        _answering.clear()
    else:
        for key in (owner, None):
            _folders.pop(key, None)
            _answering.pop(key, None)


def test_report(models_dir: Path | None = None) -> results.TestReport | None:
    """The stored test-set report of the current model, or None when it is missing or stale."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    stamp = _model_files(models_dir) + _stamp(results.test_report_path(models_dir))
    return _shared(f"report:{models_dir}", stamp, lambda: results.load_test_report(models_dir))


def build_test_report(models_dir: Path | None = None) -> results.TestReport:
    """Compute and store the test-set report of the current model (a few seconds), for a stale one."""
    return evaluate.build_test_report(models_dir, predictor(models_dir), test_set())


def test_set() -> data.TestSet:
    """The verified MNIST test images and labels."""
    return _shared("test_set", _stamp(config.MNIST_CACHE), data.load_test_set)


def training_set() -> tuple[np.ndarray, np.ndarray]:
    """The verified MNIST training images (uint8 (60000, 28, 28)) and labels: the nearest digits are shown from it."""
    def load():
        mnist = data.load_mnist()
        return mnist.x_train, mnist.y_train

    return _shared("training_set", _stamp(config.MNIST_CACHE), load)


SPEED_IMAGES = 50  # single-image predictions timed per model (the median is kept)


def ms_per_image(models_dir: Path | None = None) -> float:
    """The model's median time to read one 28x28 image on this machine, in ms (timed once per model and process)."""
    models_dir = Path(models_dir or config.MODELS_DIR)

    def measure() -> float:
        return predictor(models_dir).single_image_ms(preprocess.normalize_mnist(test_set().x_test[:SPEED_IMAGES]))

    return _shared(f"speed:{models_dir}", _model_files(models_dir), measure)


def _inside_files(models_dir: Path) -> tuple:
    return _stamp(config.model_path(models_dir), inside.inside_path(models_dir))


def inside_of(models_dir: Path | None = None) -> inside.Inside:
    """The Look inside export of the model in `models_dir` (ModelFileError when it has none, or a stale one)."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    return _shared(f"inside:{models_dir}", _inside_files(models_dir), lambda: inside.load(models_dir))


def nearest_index(models_dir: Path | None = None, progress: Callable[[int, int], None] | None = None
                  ) -> inside.NearestIndex:
    """The nearest-neighbour index of the model in `models_dir`, built (and stored beside it) when it is missing or
    was made for another model; `progress(done, total)` while it is built."""
    models_dir = Path(models_dir or config.MODELS_DIR)
    name = f"nearest:{models_dir}"
    index = _shared(name, _inside_files(models_dir),
                    lambda: inside.nearest_index(models_dir, progress, training=training_set()))
    _keep_recent(name, "nearest:", MAX_INDICES)
    return index


def warm_up(log: Callable[[str], None] | None = None, extra: dict[str, Callable[[], object]] | None = None) -> dict:
    """Load everything a first visitor would otherwise wait for (and the `extra` steps the caller names); return
    the seconds each step took."""
    seconds = {}

    def step(name, work):
        started = time.perf_counter()
        try:
            work()
        except Exception as error:  # a missing model or dataset: the pages explain it to the visitor
            if log:
                log(f"warm-up: {name} unavailable ({error})")
        seconds[name] = round(time.perf_counter() - started, 2)

    # The first prediction also builds ONNX Runtime's kernels: a visitor's first answer is then as fast as any.
    shared = lambda: reading_folder(None)[0]  # noqa: E731 -- the shared model: the committed one, or an admin's choice
    step("store", shared)
    step("predictor", lambda: reading_predictor(None).predict_batch(np.zeros((1, *config.INPUT_SHAPE), np.float32)))
    step("whole-digit network", lambda: wholeness.log_odds([np.zeros((28, 28), np.float32)]))  # whole numbers
    step("test report", lambda: test_report(shared()))
    step("test set", test_set)
    step("page libraries", _import_page_libraries)
    for name, work in (extra or {}).items():
        step(name, work)
    if os.environ.get("MNIST_APP_GC_FREEZE", "on") != "off":
        step("freeze", _freeze)
    if log:
        log(f"warm-up done: {seconds}")
    return seconds


def _freeze() -> None:
    """Move everything loaded so far (libraries, the model, the test set) out of the collector's sight."""
    gc.collect()
    gc.freeze()


def _import_page_libraries() -> None:
    """Import what the pages draw with, so the first page a visitor opens does not pay for it."""
    import altair  # noqa: F401
    import pandas  # noqa: F401


def warm_up_in_background(log: Callable[[str], None] | None = None,
                          extra: dict[str, Callable[[], object]] | None = None) -> threading.Thread:
    """Start warm_up() in a daemon thread, once per process; later calls return the same thread."""
    global _warming
    with _locks_guard:
        if _warming is None:
            _warming = threading.Thread(target=warm_up, args=(log, extra), name="mnist-warm-up", daemon=True)
            _warming.start()
        return _warming
