"""One network against the ensemble: every figure a distilled student must hold to become the committed model.

    .venv/bin/python scripts/compare_student.py models/student-seed1 models/student-seed2 ...

For the committed model (models/) and every student folder given (`make train-student SEED=n` writes
models/student-seed<n>): MFLOP and parameters (model_summary.json, counted in the ONNX graph at export), MNIST test
accuracy with final weights (metrics.json: no epoch is picked on the test set), accuracy per writer style on the
robustness set (200 per style), non-digits answered "no digit" or "not sure" on the test negatives (100 per kind),
the share of MNIST test digits turned down, and the calibration error on MNIST test after temperature scaling.
Then the students' mean and spread, and each bar of issue 19: MNIST >= 99.65 %, every style within 0.5 pt of the
ensemble's, non-digits >= 97 % handled with <= 0.5 % of the MNIST test digits turned down, calibration no worse
(with a paired bootstrap interval for each student's calibration gap, to tell a real one from the test set's noise).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.measure import calibration, decision, negatives, robustness
from mnist_app.network import inference
from mnist_app.store import data, results

STYLES_PER = 200
NEGATIVES_PER = 100
BOOTSTRAP_ROUNDS = 2000


def test_calibration_inputs(folder: Path, predictor, items: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's answers on the MNIST test digits read through the reading path, at its own temperature; which of
    them it answers (not turned down by its threshold): what metrics.json's test ECE is measured on; and their
    labels (the same for every model: preprocessing does not depend on it)."""
    metrics = results.load_metrics(folder)
    mnist = decision.mix_of(predictor, items)
    calibrated = calibration.apply_temperature(mnist.probabilities, metrics["calibration"]["temperature"])
    return calibrated, mnist.probabilities.max(axis=1) >= metrics["decision"]["reject_below"], mnist.labels


def ece_difference(student: tuple, ensemble: tuple, seed: int = 0) -> dict:
    """The student's test ECE minus the ensemble's (each as `test_calibration_inputs` gives it), and a 95 % interval
    for it from a paired bootstrap over the test digits (the same digits drawn for both): how much of a gap the
    10,000 digits can tell from none."""
    labels = ensemble[2]

    def ece(answers, pick):
        calibrated, answered, _ = answers
        pick = pick[answered[pick]]
        return calibration.expected_calibration_error(calibrated[pick], labels[pick])

    def gap(pick):
        return ece(student, pick) - ece(ensemble, pick)

    rng = np.random.default_rng(seed)
    gaps = [gap(rng.integers(0, len(labels), len(labels))) for _ in range(BOOTSTRAP_ROUNDS)]
    low, high = np.percentile(gaps, [2.5, 97.5])
    return {"difference": round(gap(np.arange(len(labels))), 5),
            "interval_95": [round(float(low), 5), round(float(high), 5)]}


def figures(folder: Path, predictor, cases, readings_of, negative_items) -> dict:
    metrics, summary = results.load_metrics(folder) or {}, results.load_model_summary(folder) or {}
    styles = robustness.figures(cases, readings_of(predictor), predictor)
    handled = negatives.measure(negative_items, predictor)
    total = sum(row["images"] for row in handled.values())
    return {
        "folder": str(folder), "mflop": summary.get("mflop"), "parameters": metrics.get("parameters"),
        "mnist_test_accuracy": metrics["test_accuracy"],
        "styles": {style: row["accuracy"] for style, row in styles.items()},
        "non_digits_handled": sum(row["no_digit"] + row["not_sure"] for row in handled.values()) / total,
        "mnist_turned_down": 1.0 - metrics["decision"]["test_answered"]["mnist"],
        "test_ece": metrics["calibration"]["test_ece_after"],
        "training_seconds": metrics.get("training_seconds"),
    }


def main(folders: list[str]) -> int:
    test = data.load_test_set()
    cases = robustness.build_cases(test.x_test, test.y_test, per_style=STYLES_PER)
    negative_items = negatives.build(NEGATIVES_PER, decision.TEST_NEGATIVE_SEED, robustness.available_fonts())
    predictors = {folder: inference.Predictor(folder) for folder in [config.MODELS_DIR, *map(Path, folders)]}
    rows = [figures(folder, predictor, cases, lambda p: robustness.read_cases(cases, p), negative_items)
            for folder, predictor in predictors.items()]
    ensemble, students = rows[0], rows[1:]
    report = {"ensemble": ensemble, "students": students}
    if students:
        def spread(values):
            values = np.array(values, float)
            return {"mean": round(float(values.mean()), 5), "min": round(float(values.min()), 5),
                    "max": round(float(values.max()), 5), "std": round(float(values.std(ddof=1)), 5)
                    if len(values) > 1 else None}

        items = decision.mnist_items(test.x_test, test.y_test)
        answers = {folder: test_calibration_inputs(folder, predictor, items)
                   for folder, predictor in predictors.items()}
        report["test_ece_difference"] = {str(folder): ece_difference(answers[folder], answers[config.MODELS_DIR])
                                         for folder in list(predictors)[1:]}
        report["students_mean"] = {key: spread([s[key] for s in students])
                                   for key in ("mnist_test_accuracy", "non_digits_handled", "mnist_turned_down",
                                               "test_ece")}
        report["bar"] = [{
            "folder": s["folder"],
            "mnist_at_least_99.65": s["mnist_test_accuracy"] >= 0.9965,
            "styles_within_0.5pt": {style: round(s["styles"][style] - ensemble["styles"][style], 4)
                                    for style in ensemble["styles"]},
            "every_style_within_0.5pt": all(s["styles"][style] >= ensemble["styles"][style] - 0.005
                                            for style in ensemble["styles"]),
            "non_digits_at_least_97": s["non_digits_handled"] >= 0.97,
            "turned_down_at_most_0.5": s["mnist_turned_down"] <= 0.005,
            "calibration_no_worse": s["test_ece"] <= ensemble["test_ece"],
            "mflop_at_most_20": (s["mflop"] or 99) <= 20,
        } for s in students]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
