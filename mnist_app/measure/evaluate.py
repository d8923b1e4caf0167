"""Test-set evaluation: the figures `models/metrics.json` holds, and the test-set report the pages read."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.images import preprocess
from mnist_app.measure import calibration
from mnist_app.network import inference
from mnist_app.store import data, results

MISCLASSIFIED_KEPT = 200


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
        "loss": calibration.negative_log_likelihood(probabilities, labels),
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


def build_test_report(models_dir: Path | None = None, predictor: inference.Predictor | None = None,
                      test_set: data.TestSet | None = None) -> results.TestReport:
    """Predict every test image with the current model and store the report beside it (a few seconds).

    Training, the export step and `scripts/check_model.py` call this once per model; the Random samples
    and Evaluation pages only read what it stored.
    """
    predictor = predictor or inference.Predictor(models_dir)
    test_set = test_set or data.load_test_set()
    probabilities = predictor.predict_batch(preprocess.normalize_mnist(test_set.x_test))
    figures = classification_report(probabilities.astype(np.float64), test_set.y_test)
    mistakes = np.array([row["index"] for row in figures["misclassified"]], dtype=np.int64)
    report = results.TestReport(probabilities.astype(np.float32), mistakes, test_set.x_test[mistakes],
                                test_set.y_test[mistakes], results.file_sha256(config.model_path(models_dir)))
    results.save_test_report(report, models_dir)
    return report
