"""Pictures and charts of a network's inside (the Look inside page; no Streamlit here): feature maps as responsive
grids of tiles, the first layer's filters beside where each fires, the strongest dense units, the nearest training
digits and the probability sweeps."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from mnist_app.ui.charts import _png_data_url, spoken_percent

# A dark-to-light scale ("inferno"-like): zero is black like the model's background, the strongest answers light.
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=float)
LUT = np.stack([np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_STOPS)), _STOPS[:, channel])
                for channel in range(3)], axis=1).astype(np.uint8)

TILE_STYLE = """
<style>
.maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(var(--tile, 52px), 1fr)); gap: 4px;
  max-width: 100%; }
.maps figure { margin: 0; text-align: center; min-width: 0; }
.maps img { width: 100%; aspect-ratio: 1; image-rendering: pixelated; border-radius: 2px; display: block; }
.maps figcaption { font-size: 0.75rem; line-height: 1.2; }
.maps .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 2px; }
</style>
"""


def coloured(values: np.ndarray, top: float) -> np.ndarray:
    """A map of non-negative values as RGB on the dark-to-light scale, `top` the brightest."""
    levels = np.clip(np.asarray(values, float) / max(top, 1e-12), 0, 1)
    return LUT[(levels * 255).astype(np.uint8)]


def strongest_first(maps: np.ndarray) -> np.ndarray:
    """The channels of (h, w, c) maps ordered by their strongest answer, strongest first."""
    return np.argsort(-maps.reshape(-1, maps.shape[-1]).max(axis=0), kind="stable")


def _scaled(picture: np.ndarray, side: int) -> np.ndarray:
    """A small picture enlarged by a whole factor to at least `side` pixels (crisp in every browser)."""
    factor = max(1, -(-side // picture.shape[0]))
    return np.asarray(Image.fromarray(picture).resize((picture.shape[1] * factor, picture.shape[0] * factor),
                                                      Image.Resampling.NEAREST))


def maps_html(maps: np.ndarray, stage: str, tile: int = 52) -> str:
    """Every channel of (h, w, c) maps as a tile, strongest first, one brightness scale for the whole layer (a weak
    channel looks weak); the grid has as many columns as the screen holds."""
    order = strongest_first(maps)
    top = float(maps.max())
    cells = []
    for channel in order:
        peak = float(maps[..., channel].max())
        words = f"{stage}, channel {channel + 1}: strongest answer {peak:.2f}" + (" (silent)" if peak <= 0 else "")
        cells.append(f'<figure><img src="{_png_data_url(_scaled(coloured(maps[..., channel], top), 48))}" '
                     f'alt="{html.escape(words)}" title="{html.escape(words)}"></figure>')
    return (TILE_STYLE + f'<div class="maps" style="--tile: {tile}px" role="group" '
            f'aria-label="{html.escape(stage)}: {maps.shape[-1]} maps of {maps.shape[0]}×{maps.shape[1]}, strongest '
            f'first">' + "".join(cells) + "</div>")


def filter_picture(kernel: np.ndarray) -> np.ndarray:
    """A small filter as RGB: red where it adds the pixel under it, blue where it subtracts, white for nothing."""
    scale = max(float(np.abs(kernel).max()), 1e-12)
    level = np.clip(kernel / scale, -1, 1)[..., None]
    red, blue = np.array([200, 30, 30], float), np.array([30, 70, 200], float)
    white = np.full(3, 255.0)
    colour = np.where(level >= 0, white + (red - white) * level, white + (blue - white) * -level)
    return colour.astype(np.uint8)


def filters_html(filters: np.ndarray, first_maps: np.ndarray) -> str:
    """Each first-layer filter (k, h, w) beside where it fires in this digit (its map of (H, W, k)), strongest first."""
    order = strongest_first(first_maps)
    top = float(first_maps.max())
    cells = []
    for channel in order:
        peak = float(first_maps[..., channel].max())
        filter_words = f"filter {channel + 1}: red adds, blue subtracts"
        map_words = f"where filter {channel + 1} fires in this digit (strongest answer {peak:.2f})"
        kernel = _png_data_url(_scaled(filter_picture(filters[channel]), 48))
        fires = _png_data_url(_scaled(coloured(first_maps[..., channel], top), 48))
        cells.append(f'<figure><div class="pair"><img src="{kernel}" alt="{html.escape(filter_words)}">'
                     f'<img src="{fires}" alt="{html.escape(map_words)}"></div>'
                     f"<figcaption>{channel + 1}</figcaption></figure>")
    return TILE_STYLE + '<div class="maps" style="--tile: 104px">' + "".join(cells) + "</div>"


def units(vector: np.ndarray, shown: int = 16) -> alt.Chart:
    """The strongest units of a dense layer as bars, strongest first."""
    order = np.argsort(-vector, kind="stable")[:shown]
    frame = pd.DataFrame({"unit": [f"unit {i + 1}" for i in order], "answer": vector[order].astype(float)})
    active = int(np.sum(vector > 0))
    words = (f"Bar chart of the {shown} strongest of the layer's {len(vector)} units ({active} answer at all): "
             + ", ".join(f"{row.unit} at {row.answer:.2f}" for row in frame.head(3).itertuples()) + ".")
    return alt.Chart(frame).mark_bar(color="#e8590c").encode(
        x=alt.X("answer:Q", title="answer (after ReLU)"),
        y=alt.Y("unit:N", sort=None, title=None),
        tooltip=["unit", alt.Tooltip("answer:Q", format=".3f")],
    ).properties(height=20 * shown + 20, description=words)


def neighbours_html(images: np.ndarray, labels: np.ndarray, similarities: np.ndarray, numbers: np.ndarray) -> str:
    """The nearest training digits with their labels and how similar each is."""
    cells = []
    for image, label, similarity, number in zip(images, labels, similarities, numbers):
        words = f"training image #{number}: a {int(label)}, similarity {similarity:.2f}"
        cells.append(f'<figure><img src="{_png_data_url(_scaled(np.asarray(image, np.uint8), 56))}" '
                     f'alt="{html.escape(words)}"><figcaption><b>{int(label)}</b> · {similarity:.2f}</figcaption>'
                     "</figure>")
    return TILE_STYLE + '<div class="maps" style="--tile: 72px">' + "".join(cells) + "</div>"


SWEEP_SHOWN = 0.05  # a digit gets its own line when it reaches this probability somewhere in the sweep


def sweep(values, probabilities: np.ndarray, *, title: str, unit: str, now: float) -> alt.LayerChart:
    """The probability of each digit against a change (rotation angle, shift): one line per digit that ever
    reaches SWEEP_SHOWN; the rule marks where the slider is."""
    probabilities = np.asarray(probabilities, float)
    digits = [d for d in range(probabilities.shape[1]) if probabilities[:, d].max() >= SWEEP_SHOWN]
    rows = [{title: float(value), "digit": str(d), "probability": float(probabilities[i, d])}
            for i, value in enumerate(values) for d in digits]
    frame = pd.DataFrame(rows)
    winners = probabilities.argmax(axis=1)
    changes = [f"{float(values[i])}{unit}" for i in range(1, len(values)) if winners[i] != winners[i - 1]]
    words = (f"Line chart of each digit's probability against the {title}, from {values[0]}{unit} to "
             f"{values[-1]}{unit}: " + ", ".join(
                 f"{d} peaks at {spoken_percent(probabilities[:, d].max())}" for d in digits)
             + (f"; the answer changes at {', '.join(changes)}." if changes else "; the answer never changes."))
    lines = alt.Chart(frame).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X(f"{title}:Q", title=f"{title} ({unit.strip()})"),
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("digit:N", scale=alt.Scale(domain=[str(d) for d in range(10)], scheme="category10"),
                        legend=alt.Legend(orient="top", columns=5, values=[str(d) for d in digits])),
        tooltip=["digit", alt.Tooltip(f"{title}:Q"), alt.Tooltip("probability:Q", format=".1%")],
    )
    rule = alt.Chart(pd.DataFrame({title: [float(now)]})).mark_rule(strokeDash=[4, 3], color="#868e96").encode(
        x=f"{title}:Q")
    # The plot area is 200 px tall, with the legend and the axes around it (as the training curves: left to
    # Streamlit's default, the legend's two rows took most of the height and left the lines ~45 px).
    return (lines + rule).properties(height=200, description=words,
                                     autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))

