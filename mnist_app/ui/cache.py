"""Data the pages share or remember: the server's shared predictor and test-set figures (mnist_app.serving.service),
the result files, and each session's readings, remembered by content so a rerun never reads an image twice."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_app import config
from mnist_app.errors import ImageError
from mnist_app.images import reading
from mnist_app.measure import robustness
from mnist_app.network import inference
from mnist_app.serving import service
from mnist_app.store import collection, data, results

READINGS_KEPT = 64  # per session: a reading holds a picture of up to 480x480


def _loaded(name: str, load, message: str):
    """load(), with a spinner the first time the server loads it (the warm-up usually has)."""
    if service.is_loaded(name):
        return load()
    with st.spinner(message):
        return load()


def predictor() -> inference.Predictor:
    """The one shared predictor (loaded once per server, reloaded when the model changes; thread-safe)."""
    return _loaded(f"predictor:{config.MODELS_DIR}", service.predictor, "Loading the model…")


def test_set() -> data.TestSet:
    """The verified MNIST test images and labels (loaded once for every session)."""
    return _loaded("test_set", service.test_set, "Loading the MNIST test set…")


def test_report() -> results.TestReport:
    """The model's stored answers on the test set; computed here once if the model changed without them."""
    report = service.test_report()
    if report is None:
        with st.spinner("The model changed: predicting the 10,000 test images once (a few seconds)…"):
            service.build_test_report()
        report = service.test_report()
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
    """models/metrics.json, re-read when it changes."""
    return _json(str(config.metrics_path()), _mtime(config.metrics_path()))


def history() -> dict | None:
    """models/history.json, re-read when it changes."""
    return _json(str(config.history_path()), _mtime(config.history_path()))


def model_summary() -> dict | None:
    """models/model_summary.json (written by the export step), re-read when it changes."""
    path = config.models_file(config.SUMMARY_FILENAME)
    return _json(str(path), _mtime(path))


def read(payload: bytes, *, number: bool = False) -> reading.Reading | ImageError:
    """The reading of one encoded image (or its ImageError), remembered in this session by content."""
    memo = st.session_state.setdefault("_readings", {})
    key = (hashlib.sha256(payload).hexdigest(), number)
    if key not in memo:
        try:
            memo[key] = reading.read(payload, number=number, predictor=predictor())
        except ImageError as error:
            memo[key] = error
        if len(memo) > READINGS_KEPT:  # evict the oldest
            memo.pop(next(iter(memo)))
    return memo[key]


def read_many(payloads: list[bytes], *, number: bool = False, progress=None) -> list[reading.Reading | ImageError]:
    """Readings of many images: each prepared once (`progress(done, total)` after each), all predicted in one
    batch; remembered like `read`."""
    memo = st.session_state.setdefault("_readings", {})
    keys = [(hashlib.sha256(payload).hexdigest(), number) for payload in payloads]
    waiting = {}
    for done, (key, payload) in enumerate(zip(keys, payloads), start=1):
        if key not in memo and key not in waiting:
            try:
                waiting[key] = reading.prepare(payload, number=number)
            except ImageError as error:
                memo[key] = error
        if progress:
            progress(done, len(payloads))
    for key, result in zip(waiting, reading.read_prepared(list(waiting.values()), predictor())):
        memo[key] = result
    answers = [memo[key] for key in keys]
    while len(memo) > max(READINGS_KEPT, len(keys)):
        memo.pop(next(iter(memo)))
    return answers


def session_id() -> str:
    """An id for this browser session, recorded with every digit it keeps."""
    return st.session_state.setdefault("_session_id", uuid.uuid4().hex)


def my_digits() -> collection.Collection:
    """The collection of kept digits (My digits)."""
    return collection.Collection()


def _fingerprint(shown: reading.Reading) -> str:
    seen = shown.first or shown.rejected[0]
    return hashlib.sha256(np.ascontiguousarray(seen.model_input).tobytes()).hexdigest()


def kept(shown: reading.Reading) -> int | None:
    """The label this session kept the reading's digit with, or None."""
    return st.session_state.get("_kept", {}).get(_fingerprint(shown))


def keep(shown: reading.Reading, label: int, source: str) -> None:
    """Store the reading's digit in My digits with the label the person gave (a button's callback)."""
    seen = shown.first or shown.rejected[0]
    try:
        number = my_digits().add(seen.model_input, int(label), prediction=shown.digit, confidence=shown.confidence,
                                 source=source, session=session_id(), original=shown.display,
                                 model=predictor().model_id)
    except collection.CollectionError as error:
        st.toast(f"Not kept: {error}", icon=":material/error:")
        return
    st.session_state.setdefault("_kept", {})[_fingerprint(shown)] = int(label)
    st.toast(f"Kept as {reading.a_digit(int(label))} in My digits (#{number}).", icon=":material/bookmark_added:")


def model_downloads() -> list[tuple]:
    """(label, file name, size in bytes, note, path) for every model file there is to download.

    Nothing is read here: the page's buttons read a file only when someone clicks them.
    """
    candidates = [("Keras .h5", config.model_path(), "the dashboard's model"),
                  ("ONNX", config.onnx_path(), "ONNX Runtime, the fast path")]
    if results.exports_current():
        folder = config.export_dir()
        candidates += [("Keras .keras", folder / config.KERAS_FILENAME, "native Keras 3 format"),
                       ("LiteRT .tflite", folder / config.TFLITE_FILENAME, "mobile and edge"),
                       ("SavedModel", folder / config.SAVED_MODEL_ZIP, "TensorFlow Serving")]
    return [(label, path.name, path.stat().st_size, note, path) for label, path, note in candidates if path.is_file()]


DEMO_TEST_INDEX = 61  # a test-set 8, shown on the home page as a photo on tinted paper


@st.cache_data(show_spinner=False, max_entries=1)
def _demo(model_mtime: float):
    photo = robustness.photo_tinted_jpeg(test_set().x_test[DEMO_TEST_INDEX], np.random.default_rng(21))
    shown = reading.read(photo, predictor=predictor())
    return shown.display, shown.model_input, shown.digit, shown.confidence


def demo() -> tuple:
    """Home's "how it works": (photo, what the model saw, digit, confidence) for a test digit photographed."""
    return _demo(_mtime(config.model_path()))
