"""How the pages show things: a reading (a digit's card, or a whole number's), the top-10 chart, the grid of
test digits, the notes and errors that come with an image."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import streamlit as st

from mnist_app.errors import ImageError
from mnist_app.images import explain, reading
from mnist_app.ui import cache, charts, identity
from mnist_app.ui.chrome import flex_item

PICTURE = 168  # pixels: every model pixel a crisp 6x6 block


GLOSSARY = {
    "softmax": "the network's last step: it turns ten raw scores into ten probabilities that add up to 100 %.",
    "ReLU": "a layer that keeps positive values and sets negative ones to zero, so the network can learn shapes "
            "that are not straight-line combinations of pixels.",
    "batch normalisation": "rescales each layer's outputs to a steady range while training, which makes training "
                           "faster and steadier; its running averages are the non-trainable parameters "
                           "(\"batch-norm statistics\").",
    "max-pooling": "keeps the strongest value of each 2×2 patch: the picture halves in size and small shifts of "
                   "the pen matter less.",
    "dropout": "switches a share of the units off at random while training (never when reading), so the network "
               "cannot lean on any single one.",
    "layer names": "the names Keras gave the layers inside the model file; repeated kinds are numbered from the "
                   "second on (re_lu_1 is the second ReLU, conv2d_3 the fourth convolution).",
    "ECE": "expected calibration error: the answers are put in bins by how confident they are, and the gap between "
           "confidence and the share actually right is averaged over the bins. 0 % is a model whose \"95 %\" is "
           "right 95 % of the time.",
    "NLL": "negative log-likelihood: how surprised the model is by the right answers on average (it punishes "
           "confident mistakes most); the temperature is the one that makes it smallest on held-out digits.",
    "temperature scaling": "dividing the network's raw scores by one number (the temperature) before the softmax: "
                           "above 1 makes every answer less sure, below 1 more sure; it never changes which digit "
                           "wins.",
    "filter": "a small grid of learned weights (3×3 here) laid over every place of the picture in turn; its answer "
              "at each place is the sum of the pixels under it, each times its weight: large where the pattern "
              "matches.",
    "feature map": "the answers of one filter at every place: a picture of where its pattern is in the digit.",
    "dense layer": "a layer whose every unit weighs all the numbers of the layer before it at once, not a small patch.",
    "penultimate layer": "the layer before the last: the network's summary of the digit, from which the last layer "
                         "only weighs up the ten answers.",
    "cosine similarity": "how alike two lists of numbers are in direction, from -1 to 1; 1 means the same proportions. "
                         "Here, after ReLU, it runs from 0 to 1.",
    "MFLOP": "millions of floating-point operations (a multiplication and an addition are two) to read one digit.",
    "long-flagged 1 without a base": "a 1 written with a long slanting stroke at its top and no foot, as many "
                                     "Europeans write it: it has the shape of a 7 without a crossbar, so the model "
                                     "is allowed to hesitate on it.",
}


def glossary(*terms: str) -> None:
    """What the words on this page mean, in an expander: `terms` from GLOSSARY, in the order given."""
    with st.expander("What the words mean", icon=":material/menu_book:"):
        st.markdown("\n".join(f"- **{term}**: {GLOSSARY[term]}" for term in terms))


def sentence(text: str) -> str:
    """A library message ("no digit found: ...") as a sentence for the page."""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def unsure_places(shown: reading.Reading) -> str:
    """Which digits of a number the model is unsure of, by place: "2, 4"."""
    return ", ".join(str(place + 1) for place, digit in enumerate(shown.digits) if digit.unsure)


def spoken(shown: reading.Reading) -> str:
    """The answer as one sentence: "Prediction: 7, more than 99.9 % confident." (and what the model is unsure of)."""
    if not shown.has_digit:
        return f"No digit found. {sentence(shown.reason)}"
    if shown.whole_number:
        text = (f"Number: {shown.number}, {len(shown.digits)} digits, the least sure of them "
                f"{charts.spoken_percent(shown.lowest_confidence)} confident.")
        return text + (f" Not sure about digit {unsure_places(shown)}." if shown.unsure else "")
    text = f"Prediction: {shown.digit}, {charts.spoken_percent(shown.confidence)} confident."
    if shown.unsure:
        runner_up = shown.top(2)[1][0]
        text += f" Not sure: it could also be {reading.a_digit(runner_up)}."
    return text


def announce(text: str) -> None:
    """`text` for screen readers only: a status region (read out when it appears or changes), hidden from sight
    because the page shows the same answer as a figure, a chart and pictures."""
    st.html(f'<p class="spoken-answer" role="status">{html.escape(text)}</p>')


def notes(texts: list[str]) -> None:
    """What preprocessing did to read the input (EXIF rotation, first frame, transparency...)."""
    for note in texts:
        st.caption(f":material/info: {sentence(note)}")


def image_error(error: Exception, name: str | None = None) -> None:
    """A friendly message for an input that could not be read."""
    where = f"**{name}**: " if name else ""
    st.error(f"{where}{error}", icon=":material/block:")


def top10_chart(probabilities: np.ndarray, height: int = 260) -> None:
    """All ten digits as horizontal bars, most likely first, each labelled with its probability."""
    st.vega_lite_chart(charts.top10_spec(probabilities, height), width="stretch")


def digit_grid(images, true_labels, predicted, confidences, numbers=None) -> None:
    """A grid of digits with prediction and truth, mistakes in red; as many columns as the screen holds."""
    st.html(charts.digit_grid_html(images, true_labels, predicted, confidences, numbers))


def answer(shown: reading.Reading) -> None:
    """The digit (or number) and its confidence first, and a plain warning when the model is unsure."""
    announce(spoken(shown))
    if shown.whole_number:
        st.metric("Number", shown.number, f"{len(shown.digits)} digits · lowest confidence "
                  f"{charts.percent_label(shown.lowest_confidence)}", delta_color="off", delta_arrow="off")
    else:
        st.metric("Prediction", str(shown.digit), f"{charts.percent_label(shown.confidence)} confident",
                  delta_color="off", delta_arrow="off")
    slot = st.empty()  # always present, so what follows keeps its place while the user draws
    if shown.whole_number and shown.unsure:
        slot.warning(f"Not sure about digit {unsure_places(shown)} (orange boxes).", icon=":material/help:")
    elif shown.unsure:
        runner_up, runner_probability = shown.top(2)[1]
        slot.warning(f"Not sure: this could also be **{reading.a_digit(runner_up)}** ({runner_probability:.0%}). "
                     "Try writing larger, centred, with one clear stroke.", icon=":material/help:")


def show(shown: reading.Reading, *, key: str, source: str, show_original: bool = True,
         caption: str | None = None) -> None:
    """A reading: the answer first, then the pictures and the chart (wrapping onto more lines on a phone), then
    the buttons that keep it in My digits with the right label. `source`: draw, upload, camera or url."""
    if caption:
        st.markdown(f"**{caption}**")
    if not shown.has_digit:
        row = st.container(horizontal=True, gap="medium")
        if show_original and shown.display is not None:
            row.image(shown.display, caption="Your image", width=PICTURE, alt="your image, as it came in")
        if shown.rejected:  # what the model was shown, so the answer can be checked
            row.image(charts.upscale(shown.rejected[0].model_input, PICTURE), caption="What the model saw",
                      width=PICTURE, alt="what the model saw: the ink, white on black, 28×28; no digit found")
        announce(spoken(shown))
        st.info(sentence(shown.reason), icon=":material/search_off:")
        notes(shown.notes)
        if shown.rejected and not shown.whole_number:
            keep(shown, key=key, source=source)
        return
    answer(shown)
    if shown.whole_number:
        _number_details(shown, show_original, key)
    else:
        _digit_details(shown, key, show_original)
        keep(shown, key=key, source=source)
    notes(shown.notes)


def keep(shown: reading.Reading, *, key: str, source: str) -> None:
    """Right / Wrong, it is … / Save to my digits: nothing is stored until the person clicks Save, and the original
    picture only when they tick "keep my picture too"."""
    if identity.current() is None:
        st.caption(":material/login: Sign in (in the sidebar) to keep digits and teach the model.")
        return
    seen = shown.first or shown.rejected[0]
    said = None if not shown.has_digit else seen.digit
    already = cache.kept(shown)
    row = st.container(horizontal=True, gap="small", vertical_alignment="bottom", key=f"{key}_keep")
    if said is None:
        verdict = "Wrong"
        row.markdown("It **is** a digit after all?")
    else:
        verdict = row.segmented_control(f"Is it {reading.a_digit(said)}?", ["Right", "Wrong"], key=f"{key}_verdict",
                                        disabled=already is not None)
    label = said
    if verdict == "Wrong":
        label = row.pills("It is a", list(range(10)), key=f"{key}_label", disabled=already is not None)
    if already is not None:
        row.button(f"Kept as {reading.a_digit(already)}", icon=":material/check:", key=f"{key}_save", disabled=True)
        st.caption("In [My digits](My_digits): your kept digits, to check the model on and to train it with.")
        return
    with_picture = row.checkbox("keep my picture too", key=f"{key}_picture",
                                help="Without it only the 28×28 image the model saw is kept, not your picture.")
    row.button("Save to my digits", icon=":material/bookmark_add:", key=f"{key}_save",
               disabled=label is None or verdict is None, on_click=cache.keep,
               args=(shown, label, source, with_picture),
               help="Keep this digit, with the right label, in My digits (only you see it).")


def _digit_details(shown: reading.Reading, key: str, show_original: bool) -> None:
    row = st.container(horizontal=True, gap="medium")
    if show_original:
        row.image(shown.display, caption="Your image", width=PICTURE, alt="your image, as it came in")
    with row.container(width=PICTURE, gap="small"):
        picture = st.empty()
        explaining = st.toggle("Why this digit?", key=f"{key}_explain",
                               help="Occlusion map: which pixels the prediction depends on.")
        if explaining:
            heat = shown.first.why(cache.predictor())  # computed once per reading, then remembered
            picture.image(explain.overlay(shown.model_input, heat, PICTURE),
                          caption="Red: the pixels that drove the answer", width=PICTURE,
                          alt=f"occlusion map over the {shown.digit}: red where covering the image lowers the "
                              "model's confidence most")
            st.caption(explain.HOW_TO_READ)
        else:
            picture.image(charts.upscale(shown.model_input, PICTURE), caption="What the model sees (28×28)",
                          width=PICTURE, alt=f"what the model sees: a white {shown.digit} on black, 28×28")
    with row.container(key=f"{key}_chart", width="stretch"):
        flex_item(f"{key}_chart", 260)
        top10_chart(shown.probabilities)
    look_inside(shown.model_input, shown.display, "your digit", key=key)


LOOK_INSIDE_PAGE = "pages/11_Look_inside.py"


def look_inside(image: np.ndarray, picture, what: str, *, key: str) -> None:
    """A "Look inside this reading" button: the Look inside page opens on this digit (its 28x28 model input, and the
    picture it came from for the page's "without MNIST preprocessing" switch)."""
    if st.button("Look inside this reading", icon=":material/neurology:", key=f"{key}_look_inside",
                 help="See what each layer of the network makes of this digit, the training digits it resembles "
                      "and what changes the model's mind."):
        st.session_state["look_inside"] = {"image": np.asarray(image, np.float32), "picture": picture, "what": what}
        st.session_state["inside_source"] = "Your digit"
        st.switch_page(LOOK_INSIDE_PAGE)


def _number_details(shown: reading.Reading, show_original: bool, key: str) -> None:
    if show_original:
        st.image(shown.annotated, caption="Your image, one box per digit", width="stretch",
                 alt=f"your image with a box and the digit read over each digit: {shown.number}")
    strip = st.container(horizontal=True, gap="small")
    for digit in shown.digits:
        strip.image(charts.upscale(digit.model_input, 84),
                    caption=f"{digit.digit} · {charts.percent_label(digit.confidence)}", width=84,
                    alt=f"what the model sees of one digit: a white {digit.digit} on black, 28×28")
    if st.session_state.pop(f"{key}_looking", False):
        st.switch_page(LOOK_INSIDE_PAGE)
    names = {f"{place + 1}: {digit.digit}": digit for place, digit in enumerate(shown.digits)}
    st.pills("Look inside digit", list(names), key=f"{key}_look_digit", on_change=_look_at_digit,
             args=(names, shown.display, key), help="See what each layer of the network makes of this digit.")


def _look_at_digit(names: dict, picture, key: str) -> None:
    """A number's digit chosen to look inside (a callback): the page opens on it once the script runs again."""
    chosen = st.session_state.get(f"{key}_look_digit")
    st.session_state[f"{key}_look_digit"] = None  # not chosen again when the person comes back
    if chosen in names:
        st.session_state["look_inside"] = {"image": np.asarray(names[chosen].model_input, np.float32),
                                           "picture": None, "what": f"digit {chosen.split(':')[0]} of your number"}
        st.session_state["inside_source"] = "Your digit"
        st.session_state[f"{key}_looking"] = True


NEGLIGIBLE_ECE_CHANGE = 0.0005  # a change of calibration error below 0.05 points is no change, in words and arrows


def calibration_verdict(where: str, before: float, after: float) -> str:
    """What calibration did to one set's error, in words that never dress a worsening up as a gain."""
    if abs(after - before) < NEGLIGIBLE_ECE_CHANGE:
        return f"On {where} calibration leaves the error where it was ({before:.2%})."
    if after < before:
        return f"On {where} calibration brings the error down from {before:.2%} to {after:.2%}."
    return (f"On {where} calibration makes the error worse, from {before:.2%} to {after:.2%}: one "
            "temperature serves every kind of image, and it is fitted where users' images need it most.")


def table(named: dict[str, reading.Reading | ImageError], *, number: bool) -> pd.DataFrame:
    """One row per file: what was read, its confidence (a number's least sure digit) and a status."""
    rows = []
    for name, result in named.items():
        row = {"file": name, "number" if number else "digit": None, "confidence": None}
        if isinstance(result, ImageError):
            row["status"] = f"error: {result}"
        elif not result.has_digit:
            row["status"] = result.reason
        else:
            row["number" if number else "digit"] = result.number if number else result.digit
            row["confidence"] = round(result.lowest_confidence, 4)
            row["status"] = "unsure" if result.unsure else "ok"
        if number:
            row["digits"] = None if isinstance(result, ImageError) else len(result.digits)
        rows.append(row)
    columns = ["file", "number", "digits", "confidence", "status"] if number else ["file", "digit", "confidence",
                                                                                  "status"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame if number else frame.astype({"digit": "Int64"})
