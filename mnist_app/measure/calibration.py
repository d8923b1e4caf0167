"""Confidence that means something: how far the model's confidence is from its accuracy.

A network's softmax outputs are often over- or under-confident (an averaged ensemble is usually the
latter). Temperature scaling divides the log-probabilities by one number T (`apply_temperature`, which the
predictor applies to every answer); the argmax, and so the accuracy, is unchanged. T is fitted after training
on held-out images, never the test set (mnist_app.training.calibrate). The expected calibration error
(ECE) -- the gap between confidence and accuracy, averaged over confidence bins -- and the negative
log-likelihood are measured here, before and after.
"""

from __future__ import annotations

import numpy as np

from mnist_app.network.inference import apply_temperature  # noqa: F401  (measured here, applied by the predictor)

BINS = 15


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (the cross-entropy loss)."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> list[dict]:
    """Per confidence bin: how many predictions, their mean confidence and their accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        count = int(inside.sum())
        rows.append({"low": round(float(low), 4), "high": round(float(high), 4), "count": count,
                     "confidence": float(confidence[inside].mean()) if count else None,
                     "accuracy": float(correct[inside].mean()) if count else None})
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Sum over bins of (share of predictions) x |accuracy - confidence|."""
    total = len(labels)
    return float(sum(row["count"] / total * abs(row["accuracy"] - row["confidence"])
                     for row in reliability(probabilities, labels, bins) if row["count"]))
