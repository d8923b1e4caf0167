"""Confidence that means something: temperature scaling fitted on the validation split.

A network's softmax outputs are often over- or under-confident (an averaged ensemble is usually the
latter). Temperature scaling divides the log-probabilities by one number T, fitted to minimise the
negative log-likelihood on the validation images (never the test set); the argmax, and so the
accuracy, is unchanged. The expected calibration error (ECE) -- the gap between confidence and
accuracy, averaged over confidence bins -- is reported on the test set before and after.
"""

from __future__ import annotations

import datetime

import numpy as np

BINS = 15


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Re-soften (T > 1) or sharpen (T < 1) probabilities: softmax(log(p) / T)."""
    if temperature == 1.0:
        return probabilities
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (the cross-entropy loss)."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of the labels (searched over 0.05 .. 20)."""
    from scipy import optimize  # deferred: only fitting needs SciPy, not every prediction (the CLI starts faster)

    labels = np.asarray(labels, dtype=np.int64)
    result = optimize.minimize_scalar(
        lambda log_t: negative_log_likelihood(apply_temperature(probabilities, float(np.exp(log_t))), labels),
        bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


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


def calibration_report(val_probabilities, val_labels, test_probabilities, test_labels) -> dict:
    """Fit T on validation; ECE, NLL and reliability on the test set before and after."""
    temperature = fit_temperature(val_probabilities, val_labels)
    calibrated = apply_temperature(test_probabilities, temperature)
    return {
        "method": "temperature scaling fitted on the validation split (NLL)",
        "temperature": round(temperature, 5),
        "bins": BINS,
        "test_ece_before": expected_calibration_error(test_probabilities, test_labels),
        "test_ece_after": expected_calibration_error(calibrated, test_labels),
        "test_nll_before": negative_log_likelihood(test_probabilities, np.asarray(test_labels, np.int64)),
        "test_nll_after": negative_log_likelihood(calibrated, np.asarray(test_labels, np.int64)),
        "validation_nll_before": negative_log_likelihood(val_probabilities, np.asarray(val_labels, np.int64)),
        "validation_nll_after": negative_log_likelihood(apply_temperature(val_probabilities, temperature),
                                                        np.asarray(val_labels, np.int64)),
        "validation_ece_before": expected_calibration_error(val_probabilities, val_labels),
        "validation_ece_after": expected_calibration_error(apply_temperature(val_probabilities, temperature),
                                                           val_labels),
        "reliability_before": reliability(test_probabilities, test_labels),
        "reliability_after": reliability(calibrated, test_labels),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
