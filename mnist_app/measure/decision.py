"""The decision every face shares: is this a digit at all, and how sure may the app say it is.

Two numbers, fitted after training on held-out images that look like what users send -- never on the
MNIST test set (the fitting is mnist_app.training.calibrate; what it chooses on is here):

- `reject_below`: a reading whose most likely digit gets less of the network's probability than this is
  "no digit found" (the network was trained to spread its probability over all ten digits for non-digits,
  see mnist_app.training.userstyle). It is the highest value that still answers at least 99.7 % of the
  validation split's MNIST digits and 99 % of them in every user style (except the ambiguous ones,
  robustness.AMBIGUOUS_STYLES, where "not sure" is a fair answer).
- `temperature`: the confidence calibration (mnist_app.measure.calibration), fitted on the same mix of
  validation digits, plain and in the user styles, rather than on clean MNIST alone.

The validation mix: the 5,000 MNIST validation digits; the same digits (and pen-written 1s, 7s and 4s)
drawn in every robustness style with seeds of their own; non-digits in the training fonts with a seed of
their own. Test-side figures (ECE before and after on the MNIST test set and on the user-style test set,
rejection rates) are reported only: nothing is chosen on them. Stored in metrics.json, read by the predictor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_app.errors import ImageError
from mnist_app.images import preprocess, reading
from mnist_app.measure import calibration, negatives, robustness
from mnist_app.store import data

MNIST_ANSWERED = 0.997  # share of the validation MNIST digits the rejection must leave answered ...
STYLE_ANSWERED = 0.99  # ... and of the validation digits in each user style (a margin under the 2 %)
THRESHOLDS = np.round(np.arange(0.15, 0.951, 0.01), 2)
VALIDATION_STYLE_SEED = 2024
VALIDATION_NEGATIVE_SEED = 2025
TEST_NEGATIVE_SEED = 11  # the negative test set (tests/test_trust.py, the README figures)


@dataclass
class Mix:
    """Raw network probabilities for a set of images, with labels (-1: not a digit) and groups.

    Images that preprocessing already turned down (no ink, texture...) have no probabilities: they are
    counted in `refused`, by group.
    """

    probabilities: np.ndarray  # (N, 10), the network's own output
    labels: np.ndarray  # (N,), -1 for non-digits
    groups: np.ndarray  # (N,) str: "mnist", a style name, or a non-digit kind
    refused: dict[str, int]  # group -> images preprocessing turned down
    sizes: dict[str, int]  # group -> images in all
    digit_groups: set[str]  # the groups of digits (the others are non-digits)

    def select(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.probabilities[keep], self.labels[keep]


def mix_of(predictor, named: list[tuple[str, int, object]]) -> Mix:
    """Prepare (name, label, source) items through the reading path; predict the ones with a digit."""
    fields, labels, groups, refused, sizes, digit_groups = [], [], [], {}, {}, set()
    for group, label, source in named:
        sizes[group] = sizes.get(group, 0) + 1
        if label >= 0:
            digit_groups.add(group)
        try:
            prepared = reading.prepare(source)
        except ImageError:
            prepared = None
        if prepared is None or not prepared.has_digit:
            refused[group] = refused.get(group, 0) + 1
            continue
        fields.append(prepared.model_input)
        labels.append(label)
        groups.append(group)
    probabilities = predictor.predict_batch(preprocess.to_batch(fields)).astype(np.float64)
    return Mix(probabilities, np.asarray(labels, np.int64), np.asarray(groups), refused, sizes, digit_groups)


def mnist_items(images: np.ndarray, labels: np.ndarray) -> list:
    """MNIST digits as (group, label, source) items for `mix_of`."""
    return [("mnist", int(label), image) for image, label in zip(images, labels)]


def validation_mix(predictor, per_style: int = 150, per_kind: int = 100, digits: int = 5000) -> Mix:
    """The held-out mix the decision is fitted on (validation digits, user styles, training-font non-digits)."""
    mnist = data.load_mnist()
    _, (x_val, y_val) = data.split_validation(mnist.x_train, mnist.y_train, 5000)
    x_val, y_val = x_val[:digits], y_val[:digits]
    styles = robustness.build_cases(x_val, y_val, per_style=per_style, seed=VALIDATION_STYLE_SEED)
    others = negatives.build(per_kind, VALIDATION_NEGATIVE_SEED, negatives.training_fonts())
    items = (mnist_items(x_val, y_val) + [(case.style, case.label, case.payload) for case in styles]
             + [(item.kind, -1, item.payload) for item in others])
    return mix_of(predictor, items)


def test_mix(predictor, per_style: int = 200, digits: int = 10_000) -> Mix:
    """MNIST test digits and the user-style test set, for the reported figures (never for choosing)."""
    test_set = data.load_test_set()
    cases = robustness.build_cases(test_set.x_test, test_set.y_test, per_style=per_style)
    return mix_of(predictor, mnist_items(test_set.x_test[:digits], test_set.y_test[:digits])
                + [(case.style, case.label, case.payload) for case in cases])


def answered(mix: Mix, threshold: float) -> dict[str, float]:
    """Per group of digits: the share given a digit (neither turned down by preprocessing nor by the threshold)."""
    best = mix.probabilities.max(axis=1)
    return {group: float(np.sum((mix.groups == group) & (best >= threshold))) / mix.sizes[group]
            for group in sorted(mix.digit_groups)}


def with_goal(groups: np.ndarray) -> np.ndarray:
    """True for the images of groups held to a goal (all but robustness.AMBIGUOUS_STYLES)."""
    return ~np.isin(groups, robustness.AMBIGUOUS_STYLES)


def lowest_style_answered(answered_shares: dict[str, float]) -> float:
    """The smallest share of digits answered over the user styles held to a goal (MNIST and ambiguous styles
    aside): what the 2 % goal is about."""
    return min(share for group, share in answered_shares.items()
               if group != "mnist" and group not in robustness.AMBIGUOUS_STYLES)


def choose_threshold(mix: Mix) -> float:
    """The highest threshold that still answers enough validation digits, plain and in every style."""
    chosen = 0.0
    for threshold in THRESHOLDS:
        shares = answered(mix, threshold)
        if shares["mnist"] >= MNIST_ANSWERED and lowest_style_answered(shares) >= STYLE_ANSWERED:
            chosen = float(threshold)
    return chosen


def handled(mix: Mix, threshold: float, temperature: float) -> dict[str, float]:
    """Per group of non-digits: the share answered "no digit" or "not sure" (never a confident digit)."""
    best = mix.probabilities.max(axis=1)
    confidence = calibration.apply_temperature(mix.probabilities, temperature).max(axis=1)
    confident = (best >= threshold) & (confidence >= reading.UNSURE_BELOW)
    return {group: 1.0 - float(np.sum((mix.groups == group) & confident)) / size
            for group, size in sorted(mix.sizes.items()) if group not in mix.digit_groups}


def summary(metrics: dict) -> str:
    """The fitted decision in a few lines for people."""
    chosen, calibrated = metrics["decision"], metrics["calibration"]
    handled_test = chosen["test_non_digits_handled"]
    lines = [f"No digit below a top probability of {chosen['reject_below']:.2f}; temperature "
             f"{calibrated['temperature']:.3f}.",
             f"Non-digits answered 'no digit' or 'not sure' (test set): {np.mean(list(handled_test.values())):.1%} "
             "(" + ", ".join(f"{kind} {share:.0%}" for kind, share in handled_test.items()) + ").",
             f"Digits answered (test side): MNIST {chosen['test_answered']['mnist']:.2%}; lowest user style "
             f"{lowest_style_answered(chosen['test_answered']):.1%}.",
             f"Calibration error (ECE) MNIST test {calibrated['test_ece_before']:.2%} -> "
             f"{calibrated['test_ece_after']:.2%}; user styles {calibrated['user_styles_ece_before']:.2%} -> "
             f"{calibrated['user_styles_ece_after']:.2%}."]
    return "\n".join(lines)
