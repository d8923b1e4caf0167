"""Streamlit pieces shared by every page: the one cached predictor, the result card, the top-10 chart.

Pages stay thin: they read input widgets, call one function here or in the library, and show
the result. Nothing here imports TensorFlow: the dashboard predicts through ONNX Runtime.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_app import card, config, inference, reports
from mnist_app.errors import ImageError, ModelFileError

PAGE_ICON = ":material/edit_note:"


def page_setup(title: str, icon: str = PAGE_ICON, layout: str = "wide") -> None:
    """Set the browser tab title and layout (first Streamlit call on every page)."""
    st.set_page_config(page_title=f"{title} · MNIST digit recognizer", page_icon=icon, layout=layout)


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
def cached_metrics(model_mtime: float) -> dict | None:
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


def top10_chart(probabilities: np.ndarray, height: int = 260) -> None:
    """All ten classes as horizontal bars, most likely first."""
    frame = card.ranking_frame(probabilities)
    # With horizontal=True the labels follow the columns: x is the digit axis, y the probability axis.
    st.bar_chart(frame, x="digit", y="probability", horizontal=True, sort="-probability", height=height,
                 x_label="digit", y_label="probability")


def confidence_message(shown: dict) -> None:
    """The digit, its confidence, and a plain warning when the model is unsure."""
    st.metric("Prediction", str(shown["digit"]), f"{shown['confidence']:.1%} confident",
              delta_color="off", delta_arrow="off")
    slot = st.empty()  # always present, so the chart below keeps its place while the user draws
    if shown["unsure"]:
        runner_up, runner_probability = shown["runner_up"]
        slot.warning(f"Not sure: this could also be a **{runner_up}** ({runner_probability:.0%}). "
                   "Try writing larger, centred, with one clear stroke.", icon=":material/help:")


def result_card(prediction: inference.Prediction, *, show_original: bool = True, caption: str | None = None) -> None:
    """Original, what the model sees, the prediction and the top-10 chart, side by side."""
    if caption:
        st.markdown(f"**{caption}**")
    if not prediction.has_digit:
        if show_original and prediction.display is not None:
            st.image(prediction.display, caption="Your image", width=220)
        st.info(f"{prediction.reason[0].upper()}{prediction.reason[1:]}.", icon=":material/search_off:")
        return
    shown = card.card_data(prediction)
    columns = st.columns([1, 1, 1.6] if show_original else [1, 1.6])
    if show_original:
        columns[0].image(prediction.display, caption="Your image", width="stretch")
    columns[-2].image(shown["picture"], caption="What the model sees (28×28)", width="stretch")
    with columns[-1]:
        confidence_message(shown)
        top10_chart(prediction.probabilities)
    for note in shown["notes"]:
        st.caption(f":material/info: {note[0].upper()}{note[1:]}.")


def show_image_error(error: Exception, name: str | None = None) -> None:
    """A friendly message for an input that could not be read."""
    where = f"**{name}**: " if name else ""
    st.error(f"{where}{error}", icon=":material/block:")


def predict_bytes(predictor: inference.Predictor, payload: bytes) -> inference.Prediction | ImageError:
    """Predict one encoded image; remembered per content for this session (reruns are instant)."""
    memo = st.session_state.setdefault("_prediction_memo", {})
    digest = hashlib.sha256(payload).hexdigest()
    if digest not in memo:
        try:
            memo[digest] = predictor.predict_image(payload)
        except ImageError as error:
            memo[digest] = error
        if len(memo) > 256:  # bounded: a session uploading thousands of files must not grow forever
            memo.pop(next(iter(memo)))
    return memo[digest]


def model_status_line() -> str | None:
    """One sentence about the committed model, from metrics.json."""
    figures = metrics()
    if not figures:
        return None
    return (f"Test accuracy **{figures['test_accuracy']:.2%}** on the 10,000 MNIST test images · "
            f"{figures['parameters']:,} parameters · trained {figures['date'][:10]} in "
            f"{figures['training_seconds'] / 60:.0f} min")


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
