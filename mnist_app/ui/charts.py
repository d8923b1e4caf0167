"""The dashboard's pictures of figures: Altair charts and a responsive grid of digits (no Streamlit here).

Charts are Vega-Lite specifications drawn by the browser at the width it has: their labels stay
readable on a phone (a server-rendered image would shrink them), they cost the server nothing to
draw, and they answer hovering with exact values. The digit grid is HTML whose columns follow the
screen's width: fewer columns on a phone, never smaller captions.
"""

from __future__ import annotations

import base64
import functools
import html
import io

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

BAR_COLOUR = "#3b5bdb"
TRAINING_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"


def percent_label(probability: float) -> str:
    """A probability as people read it: "> 99.9 %" rather than a rounded "100.0 %", "< 0.1 %" near zero."""
    if probability >= 0.9995:
        return "> 99.9 %"
    if probability < 0.0005:
        return "< 0.1 %"
    return f"{probability:.1%}".replace("%", " %")


def top10_spec(probabilities: np.ndarray, height: int = 260) -> dict:
    """The top-10 chart as a Vega-Lite specification: Altair's, made (and checked against the schema) once per
    height, with this reading's ten numbers put in. Building it with Altair for every stroke cost ~38 ms of the
    server's CPU; this costs a few microseconds."""
    values = [{"digit": str(digit), "probability": float(p), "label": percent_label(float(p))}
              for digit, p in enumerate(np.asarray(probabilities, float))]
    return {**_top10_template(height), "data": {"values": values}, "description": top10_words(probabilities)}


def spoken_percent(probability: float) -> str:
    """`percent_label` as words: "more than 99.9 %" for "> 99.9 %"."""
    return percent_label(probability).replace("> ", "more than ").replace("< ", "less than ")


def top10_words(probabilities) -> str:
    """What the top-10 chart shows, for a screen reader (the chart's alt text): the three likeliest digits."""
    probabilities = np.asarray(probabilities, float)
    likeliest = np.argsort(-probabilities)[:3]
    return ("Bar chart of the probability of each digit, most likely first: "
            + ", ".join(f"{digit} at {spoken_percent(probabilities[digit])}" for digit in likeliest) + ".")


def warm_up() -> None:
    """Make the chart templates a first visitor would otherwise wait for (the server's warm-up calls this)."""
    _top10_template(260)


@functools.cache
def _top10_template(height: int) -> dict:
    spec = top10(np.full(10, 0.1), height).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return spec


def top10(probabilities: np.ndarray, height: int = 260) -> alt.LayerChart:
    """All ten digits as horizontal bars, most likely first, each labelled with its probability."""
    frame = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": np.asarray(probabilities, float)})
    frame["label"] = [percent_label(p) for p in frame["probability"]]
    base = alt.Chart(frame).encode(
        y=alt.Y("digit:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelFontSize=13)),
        x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1.2]),
                axis=alt.Axis(format="%", values=[0, 0.5, 1.0])),
        tooltip=["digit", alt.Tooltip("probability:Q", format=".2%")],
    )
    bars = base.mark_bar(color=BAR_COLOUR, cornerRadiusEnd=3)
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="currentColor").encode(text="label:N")
    return (bars + labels).properties(height=height)


def training_curves(epochs: list[dict]) -> tuple[alt.Chart, alt.Chart]:
    """Accuracy and loss per epoch, training vs validation (two charts, shown one above the other)."""
    rows = []
    for epoch in epochs:
        for split, prefix in (("training", ""), ("validation", "val_")):
            rows.append({"epoch": epoch["epoch"], "split": split, "accuracy": epoch[f"{prefix}accuracy"],
                         "loss": epoch[f"{prefix}loss"]})
    frame = pd.DataFrame(rows)
    colour = alt.Color("split:N", title=None, scale=alt.Scale(range=[TRAINING_COLOUR, VALIDATION_COLOUR]),
                       legend=alt.Legend(orient="top"))
    lowest = float(frame["accuracy"].min())
    accuracy = alt.Chart(frame, title="Accuracy").mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("accuracy:Q", title=None, scale=alt.Scale(domain=[max(0.0, lowest - 0.005), 1.0]),
                axis=alt.Axis(format="%")),
        color=colour, tooltip=["epoch", "split", alt.Tooltip("accuracy:Q", format=".3%")])
    loss = alt.Chart(frame, title="Loss (log scale)").mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("loss:Q", title=None, scale=alt.Scale(type="log")),
        color=colour, tooltip=["epoch", "split", alt.Tooltip("loss:Q", format=".4f")])
    # The plot area is 220 px tall; the title, the legend and the axes are added around it ("fit-x" with
    # "padding"). Left to Streamlit's default, all of them shared the 220 px and the plots were ~15 px tall.
    room = alt.AutoSizeParams(type="fit-x", contains="padding")
    last = epochs[-1]
    said = (f"per epoch, training and validation, over {len(epochs)} epochs; at epoch {last['epoch']}: "
            f"training {{}}, validation {{}}.")
    return (accuracy.properties(height=220, autosize=room, description="Line chart of accuracy " + said.format(
                f"{last['accuracy']:.2%}", f"{last['val_accuracy']:.2%}")),
            loss.properties(height=220, autosize=room, description="Line chart of the loss (log scale) " + said.format(
                f"{last['loss']:.4f}", f"{last['val_loss']:.4f}")))


MATRIX_TEXT = "#1b1b1b"
RIGHT_CELL = "#c8e6c9"  # the diagonal: light green under dark numbers
EMPTY_CELL = "#f7f7f7"
MISTAKE_CELLS = ("#fcbba1", "#a50f15")  # one mistake ... the most mistakes in a cell (ColorBrewer "Reds")


def _mistake_colour(share: float) -> str:
    """The red of a cell holding `share` (0..1] of the largest mistake count."""
    low, high = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in MISTAKE_CELLS)
    return "#" + "".join(f"{int(round(v)):02x}" for v in low + (high - low) * share)


def confusion(matrix) -> alt.LayerChart:
    """The 10x10 confusion matrix with every count written in its cell: right answers on a green diagonal,
    mistakes on a red scale. The colours are the chart's own, not the theme's, so it reads the same on the light
    and the dark theme (a light figure on a dark page), its numbers at >= 4.5:1 on their cells."""
    matrix = np.asarray(matrix)
    worst = max(1, int(max((matrix[t, p] for t in range(len(matrix)) for p in range(len(matrix)) if t != p),
                           default=1)))
    rows = []
    for t in range(matrix.shape[0]):
        for p in range(matrix.shape[1]):
            count = int(matrix[t, p])
            share = count / worst
            fill = RIGHT_CELL if t == p else EMPTY_CELL if count == 0 else _mistake_colour(share)
            ink = "#ffffff" if t != p and share > 0.5 else MATRIX_TEXT
            rows.append({"true": str(t), "predicted": str(p), "count": count, "fill": fill, "ink": ink,
                         "label": str(count) if count else ""})
    base = alt.Chart(pd.DataFrame(rows)).encode(
        x=alt.X("predicted:O", title="predicted digit", axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y("true:O", title="true digit"))
    cells = base.mark_rect(stroke="#d0d0d0").encode(color=alt.Color("fill:N", scale=None),
                                                    tooltip=["true", "predicted", "count"])
    counts = base.mark_text(fontSize=11).encode(text="label:N", color=alt.Color("ink:N", scale=None))
    mistakes = [(int(matrix[t, p]), t, p) for t in range(len(matrix)) for p in range(len(matrix)) if t != p]
    count, true, said = max(mistakes, default=(0, 0, 0))
    tied = sum(m[0] == count for m in mistakes) > 1
    words = (f"Confusion matrix, true digit by predicted digit: {int(np.trace(matrix)):,} of {int(matrix.sum()):,} "
             f"right, {sum(m[0] for m in mistakes):,} mistakes"
             + (f"; {'one of the most frequent' if tied else 'the most frequent'}: a {true} read as a {said} "
                f"({count} times)." if count else "."))
    return (cells + counts).properties(height=340, description=words)


def per_digit(frame: pd.DataFrame) -> alt.Chart:
    """Recall per digit for two models side by side (columns digit, recall, model)."""
    low = max(0.0, float(frame["recall"].min()) - 0.01)
    return alt.Chart(frame).mark_bar(clip=True).encode(  # clipped: the axis starts near the lowest recall
        x=alt.X("digit:N", title="digit", axis=alt.Axis(labelAngle=0)),
        xOffset="model:N",
        y=alt.Y("recall:Q", title="recall", scale=alt.Scale(domain=[low, 1.0], zero=False),
                axis=alt.Axis(format=".0%" if low < 0.9 else ".1%")),
        color=alt.Color("model:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=["digit", "model", alt.Tooltip("recall:Q", format=".2%")],
    ).properties(height=220, description=_per_digit_words(frame))


def _per_digit_words(frame: pd.DataFrame) -> str:
    worst = frame.loc[frame["recall"].idxmin()]
    return (f"Bar chart of the recall of each digit for {' and '.join(map(str, frame['model'].unique()))}; the "
            f"lowest: digit {worst['digit']} at {worst['recall']:.2%} ({worst['model']}).")


def reliability(before: list[dict], after: list[dict], temperature: float) -> alt.LayerChart:
    """Accuracy against confidence per bin, before and after calibration; the diagonal is perfect."""
    rows = [{"confidence": row["confidence"], "accuracy": row["accuracy"], "predictions": row["count"],
             "model": label}
            for rows_, label in ((before, "as trained"), (after, f"calibrated (T = {temperature:.2f})"))
            for row in rows_ if row["count"]]
    frame = pd.DataFrame(rows)
    diagonal = alt.Chart(pd.DataFrame({"confidence": [0.0, 1.0], "accuracy": [0.0, 1.0]})).mark_line(
        strokeDash=[4, 4], color="grey").encode(x="confidence:Q", y="accuracy:Q")
    points = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("confidence:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("model:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=["model", alt.Tooltip("confidence:Q", format=".1%"), alt.Tooltip("accuracy:Q", format=".1%"),
                 "predictions"])
    return (diagonal + points).properties(height=300, description=(
        f"Reliability chart: accuracy against confidence, as trained and calibrated (temperature "
        f"{temperature:.2f}); the dashed diagonal is where a model's confidence equals its accuracy."))


def upscale(model_input: np.ndarray, size: int = 168) -> Image.Image:
    """A 28x28 image (floats in [0, 1]) enlarged with hard pixel edges: what the model sees, as people see it."""
    picture = Image.fromarray((np.clip(model_input, 0, 1) * 255).astype(np.uint8))
    return picture.resize((size, size), Image.Resampling.NEAREST)


def _png_data_url(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


GRID_STYLE = """
<style>
.digit-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(92px, 1fr)); gap: 10px; }
.digit-grid figure { margin: 0; text-align: center; }
.digit-grid img { width: 100%; max-width: 112px; aspect-ratio: 1; image-rendering: pixelated;
  border: 2px solid #c8e6c9; border-radius: 4px; }
.digit-grid figure.wrong img { border: 4px solid #c62828; }
.digit-grid figcaption { font-size: 0.85rem; line-height: 1.25; color: light-dark(#2e7d32, #a5d6a7); }
.digit-grid figure.wrong figcaption { color: light-dark(#c62828, #ff9e9e); font-weight: 600; }
</style>
"""


def digit_grid_html(images: np.ndarray, true_labels, predicted, confidences, numbers=None) -> str:
    """Digits captioned with the prediction and the truth; mistakes framed and captioned in red.

    The columns follow the width of the screen (a CSS grid), so a phone shows two or three per row
    with captions at full size.
    """
    cells = []
    for slot, image in enumerate(images):
        wrong = int(predicted[slot]) != int(true_labels[slot])
        number = f"#{numbers[slot]} · " if numbers is not None else ""
        caption = (f"{html.escape(number)}{percent_label(float(confidences[slot]))}<br>"
                   f"pred {int(predicted[slot])} · true {int(true_labels[slot])}")
        alt_text = f"test image {number}predicted {int(predicted[slot])}, true {int(true_labels[slot])}"
        cells.append(f'<figure class="{"wrong" if wrong else "right"}"><img src="{_png_data_url(image)}" '
                     f'alt="{html.escape(alt_text)}"><figcaption>{caption}</figcaption></figure>')
    return GRID_STYLE + '<div class="digit-grid">' + "".join(cells) + "</div>"
