"""Streamlit pieces shared by every page: page setup, the shared predictor, the result card, the drawing pad.

Pages stay thin: they read input widgets, call one function here or in the library, and show
the result. Nothing here imports TensorFlow: the dashboard predicts through ONNX Runtime.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from mnist_app import card, charts, config, explain, inference, reports, service
from mnist_app.errors import ImageError, ModelFileError

PAGE_ICON = ":material/edit_note:"
# Less empty space above the title (Streamlit's 6rem; its header bar is 3.75rem), so a phone shows more.
# Narrower side margins on laptop screens (Streamlit's 5rem each side leave a 1024 px laptop ~560 px).
PAGE_STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
@media (min-width: 641px) { [data-testid="stMainBlockContainer"] { padding-left: 3rem; padding-right: 3rem; } }
@media (max-width: 640px) { h1 { font-size: 1.9rem !important; } }
</style>"""


def page_setup(title: str, icon: str = PAGE_ICON, layout: str = "wide") -> None:
    """Set the browser tab title and layout (first Streamlit call on every page)."""
    st.set_page_config(page_title=f"{title} · MNIST digit recognizer", page_icon=icon, layout=layout)
    st.html(PAGE_STYLE)
    service.warm_up_in_background()  # a server started without the warm-up (plain `streamlit run`) catches up


def metric_row(name: str, count: int, min_width: int = 150) -> list:
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


def get_predictor() -> inference.Predictor:
    """The one shared predictor (loaded once per server, reloaded when the model changes; thread-safe)."""
    if service.is_loaded(f"predictor:{config.MODELS_DIR}"):
        return service.predictor()
    with st.spinner("Loading the model…"):
        return service.predictor()


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


def mnist_test_set():
    """The verified MNIST test images and labels (loaded once for every session)."""
    if service.is_loaded("test_set"):
        return service.test_set()
    with st.spinner("Loading the MNIST test set…"):
        return service.test_set()


def test_report():
    """The model's stored answers on the test set; computed here once if the model changed without them."""
    report = service.test_report()
    if report is None:
        with st.spinner("The model changed: predicting the 10,000 test images once (a few seconds)…"):
            service.build_test_report()
        report = service.test_report()
    return report


def sentence(text: str) -> str:
    """A library message ("no digit found: ...") as a sentence for the page."""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def show_notes(notes: list[str]) -> None:
    """What preprocessing did to read the input (EXIF rotation, first frame, transparency...)."""
    for note in notes:
        st.caption(f":material/info: {sentence(note)}")


def top10_chart(probabilities: np.ndarray, height: int = 260) -> None:
    """All ten digits as horizontal bars, most likely first, each labelled with its probability."""
    st.altair_chart(charts.top10(probabilities, height), width="stretch")


def confidence_message(shown: dict) -> None:
    """The digit, its confidence, and a plain warning when the model is unsure."""
    st.metric("Prediction", str(shown["digit"]), f"{charts.percent_label(shown['confidence'])} confident",
              delta_color="off", delta_arrow="off")
    slot = st.empty()  # always present, so the chart below keeps its place while the user draws
    if shown["unsure"]:
        runner_up, runner_probability = shown["runner_up"]
        slot.warning(f"Not sure: this could also be a **{runner_up}** ({runner_probability:.0%}). "
                     "Try writing larger, centred, with one clear stroke.", icon=":material/help:")


def flex_item(name: str, min_width: int) -> None:
    """Let the container keyed `name` shrink no narrower than `min_width` px (or the screen), then wrap."""
    st.html(f"<style>[data-testid='stLayoutWrapper']:has(> .st-key-{name}) "
            f"{{ min-width: min({min_width}px, 100%); flex: 1 1 {min_width}px; }}</style>")


def result_card(prediction: inference.Prediction, *, key: str, show_original: bool = True,
                caption: str | None = None) -> None:
    """The answer first, then the original, what the model sees and the top-10 chart (wrapping on a phone)."""
    if caption:
        st.markdown(f"**{caption}**")
    if not prediction.has_digit:
        if show_original and prediction.display is not None:
            st.image(prediction.display, caption="Your image", width=220)
        st.info(sentence(prediction.reason), icon=":material/search_off:")
        return
    shown = card.card_data(prediction)
    confidence_message(shown)
    row = st.container(horizontal=True, gap="medium")
    if show_original:
        row.image(prediction.display, caption="Your image", width=168)
    with row.container(width=168, gap="small"):
        picture_slot = st.empty()
        explaining = st.toggle("Why this digit?", key=f"{key}_explain",
                               help="Occlusion map: which pixels the prediction depends on.")
        if explaining:
            picture_slot.image(why_picture(prediction), caption="Red: the pixels that drove the answer", width=168)
            st.caption(explain.HOW_TO_READ)
        else:
            picture_slot.image(shown["picture"], caption="What the model sees (28×28)", width=168)
    with row.container(key=f"{key}_chart", width="stretch"):
        flex_item(f"{key}_chart", 260)
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


def digit_grid(images, true_labels, predicted, confidences, numbers=None) -> None:
    """A grid of digits with prediction and truth, mistakes in red; as many columns as the screen holds."""
    st.html(charts.digit_grid_html(images, true_labels, predicted, confidences, numbers))


def model_downloads() -> list[tuple]:
    """(label, file name, size in bytes, note, path) for every model file there is to download.

    Nothing is read here: the page's buttons read a file only when someone clicks them.
    """
    from mnist_app import export

    candidates = [("Keras .h5", config.model_path(), "the dashboard's model"),
                  ("ONNX", config.onnx_path(), "ONNX Runtime, the fast path")]
    if export.exports_current():
        folder = export.export_dir()
        candidates += [("Keras .keras", folder / export.KERAS_FILENAME, "native Keras 3 format"),
                       ("LiteRT .tflite", folder / export.TFLITE_FILENAME, "mobile and edge"),
                       ("SavedModel", folder / export.SAVED_MODEL_ZIP, "TensorFlow Serving")]
    return [(label, path.name, path.stat().st_size, note, path) for label, path, note in candidates if path.is_file()]


DEMO_TEST_INDEX = 61  # a test-set 8, shown on the home page as a photo on tinted paper


@st.cache_data(show_spinner=False, max_entries=1)
def _demo(model_mtime: float):
    from mnist_app import robustness

    mnist = mnist_test_set()
    photo = robustness.photo_tinted_jpeg(mnist.x_test[DEMO_TEST_INDEX], np.random.default_rng(21))  # well framed
    prediction = get_predictor().predict_image(photo)
    return prediction.display, card.upscale(prediction.model_input), prediction.digit, prediction.confidence


def how_it_works() -> None:
    """The preprocessing in three pictures: a user's photo, what the model sees, the answer (a wrapping row)."""
    display, seen, digit, confidence = _demo(_mtime(config.model_path()))
    arrow = "<div style='font-size:2rem;padding-top:3.5rem'>→</div>"
    row = st.container(horizontal=True, gap="medium")
    row.image(display, caption="1. A photo of a digit (a test image on tinted, unevenly lit paper)", width=200)
    row.html(arrow, width="content")
    row.image(seen, caption="2. What the model sees: ink only, 20×20 box, centred in 28×28", width=150)
    row.html(arrow, width="content")
    row.metric("3. The answer", str(digit), f"{charts.percent_label(confidence)} confident", delta_color="off",
               delta_arrow="off", width="content")


# The canvas component draws its own toolbar (undo, redo, reset...) which shows on hover only: on a touch
# screen it stays invisible over the canvas' top-right corner, eating strokes that start there, and a tap
# can reset the drawing. It lives in the component's shadow DOM, out of reach of the page's CSS, so this
# script hides it there; the pad's own buttons below the canvas do its job.
_HIDE_CANVAS_TOOLBAR = """<script>
(() => {
  if (window.mnistCanvasToolbarHidden) return;
  window.mnistCanvasToolbarHidden = true;
  const hide = () => document.querySelectorAll("[data-testid='stBidiComponentIsolated']").forEach(host => {
    const root = host.shadowRoot;
    if (root && !root.querySelector("style[data-mnist-toolbar]")) {
      const style = document.createElement("style");
      style.dataset.mnistToolbar = "hidden";
      style.textContent = ".dc-toolbar { display: none !important; }";
      root.appendChild(style);
    }
  });
  hide();
  new MutationObserver(hide).observe(document.body, {childList: true, subtree: true});
})();
</script>"""
BLANK_DRAWING = {"objects": [], "background": "#000000"}


def drawing_pad(key: str, *, width: int, height: int, stroke_width: int):
    """A black canvas with white ink and visible Undo, Redo and Clear buttons that work with a finger.

    The buttons rebuild the canvas from the strokes kept in the session (the canvas' `initial_drawing`,
    stamped with a revision so that every change is a new drawing for the component, which then sends
    the new picture back). The canvas keeps its key, so it never jumps while the page reruns.
    Returns the canvas' result (its `image_data` is None until something is drawn).
    """
    from streamlit_drawable_canvas import st_canvas  # only importable inside a running Streamlit app

    st.html(_HIDE_CANVAS_TOOLBAR, unsafe_allow_javascript=True)
    initial = st.session_state.setdefault(f"{key}_initial", {**BLANK_DRAWING, "revision": 0})
    redo = st.session_state.setdefault(f"{key}_redo", [])
    result = st_canvas(stroke_width=stroke_width, stroke_color="#FFFFFF", background_color="#000000", width=width,
                       height=height, drawing_mode="freedraw", return_image_data=True, update_streamlit=True,
                       initial_drawing=initial, key=key)
    strokes = list((result.json_data or initial).get("objects", []))
    if st.session_state.get(f"{key}_pending") and len(strokes) != len(initial["objects"]):
        strokes = list(initial["objects"])  # the canvas has yet to send back the drawing a button asked for
    else:
        st.session_state[f"{key}_pending"] = False
        if len(strokes) > len(initial["objects"]):
            redo.clear()  # a new stroke since the last undo: what was undone can no longer be redone

    def show(objects: list) -> None:
        st.session_state[f"{key}_initial"] = {**BLANK_DRAWING, "objects": objects,
                                             "revision": initial["revision"] + 1}
        st.session_state[f"{key}_pending"] = True

    def undo() -> None:
        redo.append(strokes[-1])
        show(strokes[:-1])

    def redo_last() -> None:
        show(strokes + [redo.pop()])

    def clear() -> None:
        redo.clear()
        show([])

    buttons = st.container(horizontal=True, gap="small", key=f"{key}_buttons")
    buttons.button("Undo", icon=":material/undo:", on_click=undo, disabled=not strokes, key=f"{key}_undo")
    buttons.button("Redo", icon=":material/redo:", on_click=redo_last, disabled=not redo, key=f"{key}_redo_button")
    buttons.button("Clear", icon=":material/delete:", on_click=clear, disabled=not strokes, key=f"{key}_clear")
    return result


def on_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent has "Mobi", as MDN recommends checking)."""
    try:
        return "Mobi" in (st.context.headers.get("User-Agent") or "")
    except Exception:  # no request headers (AppTest)
        return False
