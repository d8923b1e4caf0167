"""User-style images that are not MNIST training data: an accuracy floor per style.

The floors sit a few points under what the committed model measured (README and the issue note list
the figures; `python -m mnist_app robustness` prints them), and far above a plain 28x28 resize.
"""

import pytest

from mnist_app.measure import robustness

# style: (accuracy floor, plain resize must stay below or None); measured 2026-11-23 (accuracy / plain resize):
FLOORS = {
    "canvas-offcentre": (0.97, 0.80),  # 99.5 % / 71.0 %
    "paper-inverted": (0.96, 0.50),  # 99.5 % / 38.0 %
    "photo-tinted-jpeg": (0.96, 0.40),  # 99.0 % / 27.0 %
    "transparent-png": (0.97, 0.65),  # 99.5 % / 51.5 %
    "handwriting-fonts": (0.95, 0.45),  # 100 % / 34.5 %
    # Real handwriting MNIST's writers rarely used (issue: each >= 97 %); the model before the user-style
    # training measured in brackets (README, "Real handwriting and non-digits"):
    "european-one": (0.97, 0.75),  # 100 % / 63.5 % (before: see README)
    "crossed-seven": (0.97, 0.70),  # 100 % / 57.0 %
    "open-four": (0.97, None),  # 100 % / 94.0 %: pen-written, filling the frame; a plain resize reads it too
    "thick-pen": (0.97, 0.60),  # 98.0 % / 46.0 %
    "thin-pen": (0.97, 0.60),  # 98.0 % / 49.5 %
    "hollow": (0.97, 0.75),  # 98.0 % / 61.0 %
    "slanted": (0.97, 0.75),  # 99.0 % / 64.0 %
    "small-in-photo": (0.97, 0.30),  # 99.5 % / 8.0 %
    # Ambiguous (robustness.AMBIGUOUS_STYLES): a long-flagged 1 with no base, the shape of an uncrossed 7.
    # No 97 % goal; the floor guards against it getting worse.
    "flag-one": (0.60, 0.55),  # 67.5 % / 38.5 % (the rest read as 7)
}
TURNED_DOWN = 0.02  # at most this share of any style may get "no digit" (issue: <= 2 % newly rejected)


@pytest.fixture(scope="module")
def results(predictor, user_style_cases):
    cases, readings = user_style_cases
    return robustness.figures(cases, readings, predictor)


@pytest.mark.parametrize("style", list(FLOORS))
def test_accuracy_floor_per_style(results, style):
    if style not in results:
        pytest.skip("handwriting fonts are not installed (make browser installs them)")
    floor, naive_ceiling = FLOORS[style]
    row = results[style]
    assert row["accuracy"] >= floor, row
    if naive_ceiling is not None:  # the preprocessing is what makes the difference
        assert row["plain_resize_accuracy"] < naive_ceiling, row


@pytest.mark.parametrize("style", list(FLOORS))
def test_few_digits_of_any_style_are_turned_down(results, style):
    if style not in results:
        pytest.skip("handwriting fonts are not installed (make browser installs them)")
    row = results[style]
    assert row["no_digit"] <= TURNED_DOWN * row["images"], row
