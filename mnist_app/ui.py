"""Streamlit pieces shared by every page: the one cached predictor, the result card, the top-10 chart.

Pages stay thin: they read input widgets, call one function here or in the library, and show
the result. Nothing here imports TensorFlow: the dashboard predicts through ONNX Runtime.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_app import card, config, explain, inference, reports
from mnist_app.errors import ImageError, ModelFileError

PAGE_ICON = ":material/edit_note:"


def page_setup(title: str, icon: str = PAGE_ICON, layout: str = "wide") -> None:
    """Set the browser tab title and layout (first Streamlit call on every page)."""
    st.set_page_config(page_title=f"{title} · MNIST digit recognizer", page_icon=icon, layout=layout)


def metric_row(name: str, count: int, min_width: int = 170) -> list:
    """`count` cells for metrics, side by side while each gets `min_width` pixels, wrapped onto more lines
    below that: st.columns would instead cut values like "29 / 10,000" down to "29 / 1…" on a small screen."""
    row = st.container(horizontal=True, gap="medium", key=f"metric_row_{name}")
    # The row's flex items are Streamlit's layout wrappers around the cells.
    st.html(f"<style>.st-key-metric_row_{name} > [data-testid='stLayoutWrapper']"
            f" {{ min-width: {min_width}px; flex: 1 1 {min_width}px; }}</style>")
    return [row.container() for _ in range(count)]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading the model…")
def _cached_predictor(models_dir: str, model_mtime: float, onnx_mtime: float) -> inference.Predictor:
    # The modification times are part of the cache key, so a retrained model is picked up.
    return inference.Predictor(Path(models_dir))


def get_predictor() -> inference.Predictor:
    """The one shared predictor (cached across sessions; ONNX Runtime is safe to share)."""
    return _cached_predictor(str(config.MODELS_DIR), _mtime(config.model_path()), _mtime(config.onnx_path()))


def predictor_or_notice() -> inference.Predictor | None:
    """The predictor, or None after telling the user how to get a model."""
    try:
        return get_predictor()
    except ModelFileError as error:
        model_missing_notice(str(error))
        return None


def model_missing_notice(detail: str | None = None) -> None:
    """Explain that there is no usable model and give the command that trains one."""
    st.warning(
        "**No trained model is available yet.** "
        + (f"{detail}\n\n" if detail else "\n\n")
        + "Train one from the project folder with:\n\n"
        + "```\nmake train\n```\n"
        + "(or `python scripts/train.py`). It writes `models/mnist_cnn_model.h5` with its history and metrics; "
        + "reload this page afterwards.",
        icon=":material/warning:",
    )


@st.cache_data(show_spinner=False)
def cached_metrics(metrics_mtime: float) -> dict | None:
    return reports.load_metrics()


def metrics() -> dict | None:
    """models/metrics.json, re-read when the model changes."""
    return cached_metrics(_mtime(config.metrics_path()))


def history() -> dict | None:
    """models/history.json (small; read on demand)."""
    return reports.load_history()


@st.cache_resource(show_spinner="Loading the MNIST test set…")
def mnist_test_set():
    """The verified MNIST arrays (loaded once for every session)."""
    from mnist_app import data

    return data.load_mnist()


def sentence(text: str) -> str:
    """A library message ("no digit found: ...") as a sentence for the page."""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def show_notes(notes: list[str]) -> None:
    """What preprocessing did to read the input (EXIF rotation, first frame, transparency...)."""
    for note in notes:
        st.caption(f":material/info: {sentence(note)}")


def top10_chart(probabilities: np.ndarray, height: int = 280) -> None:
    """All ten digits as horizontal bars, most likely first, each labelled with its probability."""
    import altair as alt  # Streamlit's own charting dependency; used directly to label every bar

    frame = card.ranking_frame(probabilities)
    frame["label"] = [f"{p:.1%}" if p >= 0.001 else "<0.1%" for p in frame["probability"]]
    base = alt.Chart(frame).encode(
        y=alt.Y("digit:N", sort="-x", title="digit", axis=alt.Axis(labelOverlap=False, labelFontSize=13)),
        x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1.15]),
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1.0])),
        tooltip=["digit", alt.Tooltip("probability:Q", format=".2%")],
    )
    bars = base.mark_bar(color="#3b5bdb", cornerRadiusEnd=3)
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#444").encode(text="label:N")
    st.altair_chart((bars + labels).properties(height=height), width="stretch")


def confidence_message(shown: dict) -> None:
    """The digit, its confidence, and a plain warning when the model is unsure."""
    st.metric("Prediction", str(shown["digit"]), f"{shown['confidence']:.1%} confident",
              delta_color="off", delta_arrow="off")
    slot = st.empty()  # always present, so the chart below keeps its place while the user draws
    if shown["unsure"]:
        runner_up, runner_probability = shown["runner_up"]
        slot.warning(f"Not sure: this could also be a **{runner_up}** ({runner_probability:.0%}). "
                     "Try writing larger, centred, with one clear stroke.", icon=":material/help:")


def result_card(prediction: inference.Prediction, *, key: str, show_original: bool = True,
                caption: str | None = None) -> None:
    """Original, what the model sees, the prediction and the top-10 chart, side by side."""
    if caption:
        st.markdown(f"**{caption}**")
    if not prediction.has_digit:
        if show_original and prediction.display is not None:
            st.image(prediction.display, caption="Your image", width=220)
        st.info(sentence(prediction.reason), icon=":material/search_off:")
        return
    shown = card.card_data(prediction)
    columns = st.columns([1, 1, 1.6] if show_original else [1, 1.6])
    if show_original:
        columns[0].image(prediction.display, caption="Your image", width="stretch")
    with columns[-2]:
        picture_slot = st.empty()
        explaining = st.toggle("Why this digit?", key=f"{key}_explain",
                            help="Occlusion map: which pixels the prediction depends on.")
        if explaining:
            picture_slot.image(why_picture(prediction), caption="Red: the pixels that drove the answer",
                               width="stretch")
            st.caption(explain.HOW_TO_READ)
        else:
            picture_slot.image(shown["picture"], caption="What the model sees (28×28)", width="stretch")
    with columns[-1]:
        confidence_message(shown)
        top10_chart(prediction.probabilities)
    show_notes(shown["notes"])


def why_picture(prediction: inference.Prediction):
    """The occlusion heat map over what the model saw (one batch through the shared predictor)."""
    heat = explain.occlusion_map(get_predictor(), prediction.model_input, prediction.digit)
    return explain.overlay(prediction.model_input, heat)


def number_card(reading, *, caption: str | None = None) -> None:
    """A whole number: the input with a box per digit, the number, and every digit as the model saw it."""
    if caption:
        st.markdown(f"**{caption}**")
    if reading.number is None:
        st.info(sentence(reading.reason), icon=":material/search_off:")
        return
    left, right = st.columns([1.6, 1])
    left.image(reading.display, caption="Your image, one box per digit", width="stretch")
    with right:
        lowest = min(d.confidence for d in reading.digits)
        st.metric("Number", reading.number, f"{len(reading.digits)} digits · lowest confidence {lowest:.0%}",
                  delta_color="off", delta_arrow="off")
        unsure = [str(i + 1) for i, d in enumerate(reading.digits) if d.confidence < inference.UNSURE_BELOW]
        if unsure:
            st.warning(f"Not sure about digit {', '.join(unsure)} (orange boxes).", icon=":material/help:")
    strip = st.columns(max(len(reading.digits), 6))
    for column, digit in zip(strip, reading.digits):
        column.image(card.upscale(digit.model_input, 84), caption=f"{digit.digit} · {digit.confidence:.0%}")
    show_notes(reading.notes)


def show_image_error(error: Exception, name: str | None = None) -> None:
    """A friendly message for an input that could not be read."""
    where = f"**{name}**: " if name else ""
    st.error(f"{where}{error}", icon=":material/block:")


def _remembered(store: str, payload: bytes, compute, limit: int):
    """compute(payload), or its ImageError, remembered per content in this session (reruns are instant)."""
    memo = st.session_state.setdefault(store, {})
    digest = hashlib.sha256(payload).hexdigest()
    if digest not in memo:
        try:
            memo[digest] = compute(payload)
        except ImageError as error:
            memo[digest] = error
        if len(memo) > limit:  # bounded (a result holds a picture of up to 480x480): evict the oldest
            memo.pop(next(iter(memo)))
    return memo[digest]


def predict_bytes(predictor: inference.Predictor, payload: bytes) -> inference.Prediction | ImageError:
    """Predict one encoded image (a single digit)."""
    return _remembered("_prediction_memo", payload, predictor.predict_image, 64)


def read_number_bytes(predictor: inference.Predictor, payload: bytes):
    """Read a whole number from one encoded image."""
    from mnist_app import numbers

    return _remembered("_number_memo", payload, lambda data: numbers.read_number(predictor, data), 64)


@st.cache_resource(show_spinner="Predicting the 10,000 test images…")
def _test_set_probabilities(model_mtime: float, onnx_mtime: float) -> np.ndarray:
    from mnist_app import preprocess

    return get_predictor().predict_batch(preprocess.normalize_mnist(mnist_test_set().x_test))


def test_set_probabilities() -> np.ndarray:
    """The model's probabilities for every MNIST test image (computed once per model)."""
    return _test_set_probabilities(_mtime(config.model_path()), _mtime(config.onnx_path()))


def show_figure(figure) -> None:
    """Render a matplotlib figure and free it (figures are not garbage-collected by pyplot)."""
    import matplotlib.pyplot as plt

    st.pyplot(figure, clear_figure=True)
    plt.close(figure)


@st.cache_data(show_spinner="Packing the model files…", max_entries=2)
def _model_downloads(model_mtime: float, onnx_mtime: float, manifest_mtime: float) -> list[tuple]:
    import io
    import zipfile

    from mnist_app import export

    files = []
    candidates = [("Keras .h5", config.model_path(), "the dashboard's model"),
                  ("ONNX", config.onnx_path(), "ONNX Runtime, the fast path")]
    current = export.exports_current()  # hashes the .h5 once
    if current:
        folder = export.export_dir()
        candidates += [("Keras .keras", folder / export.KERAS_FILENAME, "native Keras 3 format"),
                       ("LiteRT .tflite", folder / export.TFLITE_FILENAME, "mobile and edge")]
    for label, path, note in candidates:
        if path.is_file():
            files.append((label, path.name, path.read_bytes(), note))
    saved_model = export.export_dir() / export.SAVED_MODEL_DIRNAME
    if current and saved_model.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(saved_model.rglob("*")):
                if path.is_file():
                    archive.write(path, Path("mnist") / path.relative_to(saved_model))
        files.append(("SavedModel", "mnist_saved_model.zip", buffer.getvalue(), "TensorFlow Serving"))
    return files


def model_downloads() -> list[tuple]:
    """(label, file name, bytes, note) for every model file there is to download."""
    from mnist_app import export

    manifest = export.export_dir() / export.MANIFEST_FILENAME
    return _model_downloads(_mtime(config.model_path()), _mtime(config.onnx_path()), _mtime(manifest))


DEMO_TEST_INDEX = 61  # a test-set 8, shown on the home page as a photo on tinted paper


@st.cache_data(show_spinner=False, max_entries=1)
def _demo(model_mtime: float):
    from mnist_app import robustness

    mnist = mnist_test_set()
    photo = robustness.photo_tinted_jpeg(mnist.x_test[DEMO_TEST_INDEX], np.random.default_rng(21))  # well framed
    prediction = get_predictor().predict_image(photo)
    return prediction.display, card.upscale(prediction.model_input), prediction.digit, prediction.confidence


def how_it_works() -> None:
    """The preprocessing in three pictures: a user's photo, what the model sees, the answer."""
    display, seen, digit, confidence = _demo(_mtime(config.model_path()))
    columns = st.columns([1.3, 0.3, 1, 0.3, 1])
    columns[0].image(display, caption="1. A photo of a digit (a test image on tinted, unevenly lit paper)",
                     width="stretch")
    columns[1].markdown("<div style='font-size:2.5rem;text-align:center;padding-top:3.5rem'>→</div>",
                        unsafe_allow_html=True)
    columns[2].image(seen, caption="2. What the model sees: ink only, 20×20 box, centred in 28×28", width="stretch")
    columns[3].markdown("<div style='font-size:2.5rem;text-align:center;padding-top:3.5rem'>→</div>",
                        unsafe_allow_html=True)
    columns[4].metric("3. The answer", str(digit), f"{confidence:.1%} confident", delta_color="off", delta_arrow="off")
