"""Fitting the decision after training: the "no digit" threshold and the temperature (mnist_app.measure.decision
says what they mean). SciPy's bounded minimiser fits the temperature; nothing that serves readings imports this.

Training runs `fit()` on the new model; `python -m mnist_app calibrate` runs it again on the committed one.
"""

from __future__ import annotations

import datetime

import numpy as np
from scipy import optimize

from mnist_app.measure import calibration, decision, negatives, robustness
from mnist_app.network.inference import apply_temperature


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the NLL of the labels (searched over 0.05 .. 20)."""
    labels = np.asarray(labels, dtype=np.int64)

    def loss(log_t: float) -> float:
        return calibration.negative_log_likelihood(apply_temperature(probabilities, float(np.exp(log_t))), labels)

    result = optimize.minimize_scalar(
        loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


QUICK = {"validation": dict(per_style=20, per_kind=20, digits=1000), "test": dict(per_style=20, digits=2000),
         "negatives": 20}  # the sizes for quick runs (training with --limit: smoke tests)


def fit(predictor, log=print, quick: bool = False) -> dict:
    """Fit the rejection threshold and the temperature on the validation mix; measure both on the test side.

    Returns {"decision": ..., "calibration": ...}, the two sections of metrics.json the predictor and the
    Evaluation page read. `quick` uses a fifth of the images (less precise figures, for smoke runs).
    """
    log("Fitting the decision on the validation mix (validation digits, user styles, non-digits)...")
    validation = decision.validation_mix(predictor, **(QUICK["validation"] if quick else {}))
    threshold = decision.choose_threshold(validation)
    kept = ((validation.labels >= 0) & (validation.probabilities.max(axis=1) >= threshold)
            & decision.with_goal(validation.groups))  # ambiguous shapes: a careful reader gets them wrong too
    val_probabilities, val_labels = validation.select(kept)
    temperature = fit_temperature(val_probabilities, val_labels)
    val_calibrated = apply_temperature(val_probabilities, temperature)
    log("Measuring on the test side (reported only)...")
    test = decision.test_mix(predictor, **(QUICK["test"] if quick else {}))
    others = negatives.build(QUICK["negatives"] if quick else 100, decision.TEST_NEGATIVE_SEED,
                             robustness.available_fonts())
    negative_test = decision.mix_of(predictor, [(item.kind, -1, item.payload) for item in others])
    answered_test = test.probabilities.max(axis=1) >= threshold
    mnist_probabilities, mnist_labels = test.select((test.groups == "mnist") & answered_test)
    style_probabilities, style_labels = test.select((test.groups != "mnist") & decision.with_goal(test.groups)
                                                    & answered_test)
    mnist_calibrated = apply_temperature(mnist_probabilities, temperature)
    style_calibrated = apply_temperature(style_probabilities, temperature)
    ece = calibration.expected_calibration_error
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "decision": {
            "reject_below": threshold,
            "method": "the highest threshold on the network's top probability that still answers 99.7 % of the "
                      "validation MNIST digits and 99 % of them in every user style (ambiguous styles aside)",
            "quick": quick,
            "validation_answered": decision.answered(validation, threshold),
            "validation_non_digits_handled": decision.handled(validation, threshold, temperature),
            "test_answered": decision.answered(test, threshold),
            "test_non_digits_handled": decision.handled(negative_test, threshold, temperature),
            "date": now,
        },
        "calibration": {
            "method": "temperature scaling fitted (NLL) on validation digits, plain and in the user styles "
                      "(ambiguous styles aside)",
            "temperature": round(float(temperature), 5),
            "bins": calibration.BINS,
            "test_ece_before": ece(mnist_probabilities, mnist_labels),
            "test_ece_after": ece(mnist_calibrated, mnist_labels),
            "test_nll_before": calibration.negative_log_likelihood(mnist_probabilities, mnist_labels),
            "test_nll_after": calibration.negative_log_likelihood(mnist_calibrated, mnist_labels),
            "user_styles_ece_before": ece(style_probabilities, style_labels),
            "user_styles_ece_after": ece(style_calibrated, style_labels),
            "validation_ece_before": ece(val_probabilities, val_labels),
            "validation_ece_after": ece(val_calibrated, val_labels),
            "validation_nll_before": calibration.negative_log_likelihood(val_probabilities, val_labels),
            "validation_nll_after": calibration.negative_log_likelihood(val_calibrated, val_labels),
            "reliability_before": calibration.reliability(mnist_probabilities, mnist_labels),
            "reliability_after": calibration.reliability(mnist_calibrated, mnist_labels),
            "user_styles_reliability_before": calibration.reliability(style_probabilities, style_labels),
            "user_styles_reliability_after": calibration.reliability(style_calibrated, style_labels),
            "date": now,
        },
    }


