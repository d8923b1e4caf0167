"""Matplotlib figures for the dashboard: sample grids, curves, the confusion matrix."""

from __future__ import annotations

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

CORRECT_COLOUR = "#2e7d32"
WRONG_COLOUR = "#c62828"


def sample_grid(images: np.ndarray, true_labels, predicted, confidences, columns: int = 8, numbers=None):
    """A grid of digits captioned 'pred X · true Y'; mistakes framed and captioned in red."""
    count = len(images)
    rows = max(1, int(np.ceil(count / columns)))
    figure, axes = plt.subplots(rows, columns, figsize=(columns * 1.25, rows * 1.62), squeeze=False)
    for slot, axis in enumerate(axes.ravel()):
        axis.set_xticks([])
        axis.set_yticks([])
        if slot >= count:
            axis.axis("off")
            continue
        wrong = predicted[slot] != true_labels[slot]
        colour = WRONG_COLOUR if wrong else CORRECT_COLOUR
        axis.imshow(images[slot], cmap="gray", vmin=0, vmax=255)
        label = f"#{numbers[slot]} · " if numbers is not None else ""
        axis.set_title(f"{label}{confidences[slot]:.0%}\npred {predicted[slot]} · true {true_labels[slot]}",
                       fontsize=7.5, color=colour, fontweight="bold" if wrong else "normal", pad=3)
        for spine in axis.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(3 if wrong else 0.5)
    figure.tight_layout(h_pad=0.6)
    return figure


def training_curves(epochs: list[dict]):
    """Accuracy and loss per epoch, training vs validation, side by side."""
    numbers = [e["epoch"] for e in epochs]
    figure, (accuracy_axis, loss_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, key, title in ((accuracy_axis, "accuracy", "Accuracy"), (loss_axis, "loss", "Loss")):
        axis.plot(numbers, [e[key] for e in epochs], "o-", label="training", color="#1f77b4")
        axis.plot(numbers, [e[f"val_{key}"] for e in epochs], "s-", label="validation", color="#ff7f0e")
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.legend()
    lowest = min(min(e["accuracy"], e["val_accuracy"]) for e in epochs)
    accuracy_axis.set_ylim(max(0.0, lowest - 0.005), 1.0)
    for axis in (accuracy_axis, loss_axis):
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    loss_axis.set_yscale("log")
    figure.tight_layout()
    return figure


def confusion_heatmap(matrix):
    """The 10x10 confusion matrix, counts written in each cell; the diagonal on its own scale."""
    matrix = np.asarray(matrix)
    off_diagonal = matrix.astype(float).copy()
    np.fill_diagonal(off_diagonal, np.nan)
    figure, axis = plt.subplots(figsize=(6.2, 5.4))
    shown = axis.imshow(off_diagonal, cmap="Reds", vmin=0, vmax=max(1, np.nanmax(off_diagonal)))
    for true in range(10):
        for predicted in range(10):
            value = matrix[true, predicted]
            if value:
                strong = true != predicted and value > 0.6 * np.nanmax(off_diagonal)
                axis.text(predicted, true, str(value), ha="center", va="center", fontsize=8,
                          color="white" if strong else ("#1b5e20" if true == predicted else "black"),
                          fontweight="bold" if true == predicted else "normal")
    axis.set_xticks(range(10))
    axis.set_yticks(range(10))
    axis.set_xlabel("predicted digit")
    axis.set_ylabel("true digit")
    axis.set_title("Confusion matrix (off-diagonal cells coloured by count)")
    figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04, label="mistakes")
    figure.tight_layout()
    return figure


def reliability_diagram(before: list[dict], after: list[dict], temperature: float):
    """Accuracy against confidence per bin, before and after temperature scaling; the diagonal is perfect."""
    figure, axis = plt.subplots(figsize=(5.4, 4.4))
    axis.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    curves = ((before, "o-", "model as trained"), (after, "s-", f"calibrated (T = {temperature:.2f})"))
    for rows, style, label in curves:
        points = [(row["confidence"], row["accuracy"], row["count"]) for row in rows if row["count"]]
        axis.plot([p[0] for p in points], [p[1] for p in points], style, label=label, markersize=5)
    axis.set_xlabel("confidence")
    axis.set_ylabel("accuracy")
    axis.set_xlim(0, 1.02)
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", fontsize=8)
    axis.set_title("Reliability on the test set")
    figure.tight_layout()
    return figure
