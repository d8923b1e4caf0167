"""Data the pages share or remember: the predictor of the model this person reads with and its figures
(mnist_app.serving.service), their kept digits, and each session's readings, remembered by content so a rerun
never reads an image twice."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_app import config
from mnist_app.errors import ImageError, LimitError, ModelFileError, StoreError
from mnist_app.images import reading
from mnist_app.measure import robustness
from mnist_app.network import inference
from mnist_app.network.inside import Inside, NearestIndex, load_index
from mnist_app.serving import service
from mnist_app.store import collection, data, registry, results
from mnist_app.ui import identity

READINGS_KEPT = 64  # per session: a reading holds a picture of up to 480x480


def _loaded(name: str, load, message: str):
    """load(), with a spinner the first time the server loads it (the warm-up usually has)."""
    if service.is_loaded(name):
        return load()
    with st.spinner(message):
        return load()


def owner() -> str | None:
    """The workspace this session is for (None: signed out on a server with sign-in)."""
    person = identity.current()
    return None if person is None else person.owner


def models_dir() -> Path:
    """The folder of the model this person reads with: one of their own after "Use this model", else the shared
    one (the committed model until an admin shares another) -- the one answering their readings right now."""
    try:
        return predictor().models_dir
    except ModelFileError:
        return service.reading_folder(owner())[0]


def own_model() -> registry.Model | None:
    """The model of their own this person reads with, or None (the shared one)."""
    person = identity.current()
    return None if person is None else registry.Registry(person.access).in_use()


def predictor() -> inference.Predictor:
    """The predictor of the model this person reads with (loaded once per server and folder; thread-safe)."""
    who = owner()
    folder = service.reading_folder(who)[0]
    return _loaded(f"predictor:{folder}", lambda: service.reading_predictor(who), "Loading the model…")


def test_set() -> data.TestSet:
    """The verified MNIST test images and labels (loaded once for every session)."""
    return _loaded("test_set", service.test_set, "Loading the MNIST test set…")


def inside() -> Inside:
    """The Look inside export of the model this person reads with (ModelFileError when it has none)."""
    folder = models_dir()
    return _loaded(f"inside:{folder}", lambda: service.inside_of(folder), "Loading the network's layers…")


def nearest_index() -> NearestIndex:
    """The nearest-neighbour index of the model this person reads with; built with a progress bar the first time
    (when the export step has not built it, or it belongs to another model)."""
    folder = models_dir()
    if service.is_loaded(f"nearest:{folder}") or load_index(folder) is not None:
        return _loaded(f"nearest:{folder}", lambda: service.nearest_index(folder), "Loading the training digits…")
    bar = st.progress(0.0, text="Putting the 60,000 training digits through the network once (a few seconds)…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Putting the training digits through the network: {done:,} of {total:,}")

    index = service.nearest_index(folder, progress)
    bar.empty()
    return index


def training_set() -> tuple[np.ndarray, np.ndarray]:
    """The MNIST training images and labels (loaded once for every session)."""
    return _loaded("training_set", service.training_set, "Loading the MNIST training set…")


def models_to_compare() -> list[tuple[str, Path]]:
    """(name, folder) of every model this person can read with: the shared one, then their own, newest first."""
    found = [("The shared model", service.reading_folder(None)[0])]
    person = identity.current()
    if person is not None:
        try:
            found += [(f"Yours: {model.description} ({model.created[:10]})", model.folder)
                      for model in registry.Registry(person.access).models()]
        except StoreError as error:
            st.caption(f":material/error: Your own models could not be listed: {identity.store_problem(error)}")
    return found


def predictor_of(folder: Path) -> inference.Predictor:
    """The shared predictor of the model in `folder` (ModelFileError when it cannot be loaded)."""
    return service.predictor(folder)


def model_figures(folder: Path) -> dict:
    """A model's row in a comparison: its network, size, cost, MNIST accuracy, speed here and training time."""
    metrics = _json(str(config.metrics_path(folder)), _mtime(config.metrics_path(folder))) or {}
    summary_file = config.models_file(config.SUMMARY_FILENAME, folder)
    summary = _json(str(summary_file), _mtime(summary_file)) or {}
    networks = metrics.get("ensemble") or summary.get("networks") or 1
    seconds = metrics.get("training_seconds")
    accuracy = metrics.get("test_accuracy")
    return {"network": f"{metrics.get('arch', summary.get('name', '?'))}" + (f" × {networks}" if networks > 1 else ""),
            "parameters": metrics.get("parameters") or summary.get("total_parameters"),
            "MFLOP": summary.get("mflop"),
            "MNIST accuracy": None if accuracy is None else f"{accuracy:.2%}",
            "ms per image": round(service.ms_per_image(folder), 2),
            "training time": None if seconds is None else f"{seconds / 60:.0f} min" if seconds >= 60 else
            f"{seconds:.0f} s"}


def accuracy_on_my_digits(reader: inference.Predictor) -> dict:
    """{"your digits": the share of this person's kept digits `reader` gets right}, or {} without any."""
    if identity.current() is None:
        return {}
    try:
        images, labels = my_digits().arrays()
    except StoreError:
        return {}
    if not len(labels):
        return {}
    answers = reader.predict_batch(images.astype(np.float32).reshape(-1, *config.INPUT_SHAPE) / 255.0).argmax(axis=1)
    return {"your digits": f"{np.mean(answers == labels):.1%} of {len(labels)}"}


def test_report() -> results.TestReport:
    """The model's stored answers on the test set; computed here once if the model changed without them."""
    folder = models_dir()
    report = service.test_report(folder)
    if report is None:
        with st.spinner("The model changed: predicting the 10,000 test images once (a few seconds)…"):
            service.build_test_report(folder)
        report = service.test_report(folder)
    return report


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=4)
def _json(path: str, mtime: float) -> dict | None:
    return results.read_json(Path(path))


def metrics() -> dict | None:
    """The metrics.json of the model this person reads with, re-read when it changes."""
    path = config.metrics_path(models_dir())
    return _json(str(path), _mtime(path))


def history() -> dict | None:
    """The history.json of the model this person reads with, re-read when it changes."""
    path = config.history_path(models_dir())
    return _json(str(path), _mtime(path))


def model_summary() -> dict | None:
    """The model_summary.json (written by the export step) of the model this person reads with."""
    path = config.models_file(config.SUMMARY_FILENAME, models_dir())
    return _json(str(path), _mtime(path))


def read(payload: bytes, *, number: bool = False) -> reading.Reading | ImageError:
    """The reading of one encoded image (or its ImageError), remembered in this session by content and model."""
    memo = st.session_state.setdefault("_readings", {})
    reader = predictor()
    key = (hashlib.sha256(payload).hexdigest(), number, reader.model_id)
    if key not in memo:
        try:
            memo[key] = reading.read(payload, number=number, predictor=reader)
        except ImageError as error:
            memo[key] = error
        if len(memo) > READINGS_KEPT:  # evict the oldest
            memo.pop(next(iter(memo)))
    return memo[key]


def read_many(payloads: list[bytes], *, number: bool = False, progress=None) -> list[reading.Reading | ImageError]:
    """Readings of many images: each prepared once (`progress(done, total)` after each), all predicted in one
    batch; remembered like `read`."""
    memo = st.session_state.setdefault("_readings", {})
    reader = predictor()
    keys = [(hashlib.sha256(payload).hexdigest(), number, reader.model_id) for payload in payloads]
    waiting = {}
    for done, (key, payload) in enumerate(zip(keys, payloads), start=1):
        if key not in memo and key not in waiting:
            try:
                waiting[key] = reading.prepare(payload, number=number)
            except ImageError as error:
                memo[key] = error
        if progress:
            progress(done, len(payloads))
    for key, result in zip(waiting, reading.read_prepared(list(waiting.values()), reader)):
        memo[key] = result
    answers = [memo[key] for key in keys]
    while len(memo) > max(READINGS_KEPT, len(keys)):
        memo.pop(next(iter(memo)))
    return answers


def session_id() -> str:
    """An id for this browser session, recorded with every digit it keeps."""
    return st.session_state.setdefault("_session_id", uuid.uuid4().hex)


def my_digits(everyone: bool = False) -> collection.Collection:
    """This person's kept digits (My digits); an admin's view of everyone's with `everyone`."""
    return collection.Collection(identity.required("keep digits").access, everyone=everyone)


def _fingerprint(shown: reading.Reading) -> str:
    seen = shown.first or shown.rejected[0]
    return hashlib.sha256(np.ascontiguousarray(seen.model_input).tobytes()).hexdigest()


def kept(shown: reading.Reading) -> int | None:
    """The label this session kept the reading's digit with, or None."""
    return st.session_state.get("_kept", {}).get(_fingerprint(shown))


def keep(shown: reading.Reading, label: int, source: str, with_picture: bool = False) -> None:
    """Store the reading's digit in My digits with the label the person gave (a button's callback); the original
    picture only when they asked for it."""
    seen = shown.first or shown.rejected[0]
    try:
        number = my_digits().add(seen.model_input, int(label), prediction=shown.digit, confidence=shown.confidence,
                                 source=source, session=session_id(), original=shown.display if with_picture else None,
                                 model=predictor().model_id)
    except (StoreError, LimitError) as error:
        said = identity.store_problem(error) if isinstance(error, StoreError) else str(error)
        st.toast(f"Not kept: {said}", icon=":material/error:")
        return
    st.session_state.setdefault("_kept", {})[_fingerprint(shown)] = int(label)
    st.toast(f"Kept as {reading.a_digit(int(label))} in My digits (#{number}).", icon=":material/bookmark_added:")


def model_downloads() -> list[tuple]:
    """(label, file name, size in bytes, note, path) for every model file there is to download.

    Nothing is read here: the page's buttons read a file only when someone clicks them.
    """
    reading_with = models_dir()
    candidates = [("Keras .h5", config.model_path(reading_with), "the dashboard's model"),
                  ("ONNX", config.onnx_path(reading_with), "ONNX Runtime, the fast path")]
    if results.exports_current(reading_with):
        folder = config.export_dir(reading_with)
        candidates += [("Keras .keras", folder / config.KERAS_FILENAME, "native Keras 3 format"),
                       ("LiteRT .tflite", folder / config.TFLITE_FILENAME, "mobile and edge"),
                       ("SavedModel", folder / config.SAVED_MODEL_ZIP, "TensorFlow Serving")]
    return [(label, path.name, path.stat().st_size, note, path) for label, path, note in candidates if path.is_file()]


DEMO_TEST_INDEX = 61  # a test-set 8, shown on the home page as a photo on tinted paper


@st.cache_data(show_spinner=False, max_entries=4)
def _demo(model_folder: str):
    photo = robustness.photo_tinted_jpeg(test_set().x_test[DEMO_TEST_INDEX], np.random.default_rng(21))
    shown = reading.read(photo, predictor=service.predictor(Path(model_folder)))
    return shown.display, shown.model_input, shown.digit, shown.confidence


def demo() -> tuple:
    """Home's "how it works": (photo, what the model saw, digit, confidence) for a test digit photographed."""
    return _demo(str(models_dir()))
