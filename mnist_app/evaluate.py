"""Test-set evaluation: the figures `models/metrics.json` holds and the Evaluation page shows."""

from __future__ import annotations

import numpy as np

from mnist_app import config

MISCLASSIFIED_KEPT = 200


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """10x10 counts: rows are true digits, columns are predicted digits."""
    matrix = np.zeros((config.NUM_CLASSES, config.NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def classification_report(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, loss, per-class precision/recall/F1, confusion matrix and the worst mistakes."""
    labels = np.asarray(labels).astype(np.int64)
    predictions = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    true_positives = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted_counts = matrix.sum(axis=0)
    precision = np.divide(true_positives, predicted_counts, out=np.zeros(10), where=predicted_counts > 0)
    recall = np.divide(true_positives, support, out=np.zeros(10), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(10), where=(precision + recall) > 0)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities.max(axis=1)
    wrong = wrong[np.argsort(-confidence[wrong])][:MISCLASSIFIED_KEPT]
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "loss": cross_entropy(probabilities, labels),
        "count": int(len(labels)),
        "errors": int(np.sum(predictions != labels)),
        "per_class": [
            {"digit": digit, "precision": float(precision[digit]), "recall": float(recall[digit]),
             "f1": float(f1[digit]), "support": int(support[digit]), "accuracy": float(recall[digit])}
            for digit in range(config.NUM_CLASSES)
        ],
        "confusion_matrix": matrix.tolist(),
        "misclassified": [
            {"index": int(i), "true": int(labels[i]), "predicted": int(predictions[i]),
             "confidence": float(confidence[i])}
            for i in wrong
        ],
    }
