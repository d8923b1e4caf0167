"""User-style images that are not MNIST training data: an accuracy floor per style.

The floors sit a few points under what the committed model measured (README and the issue note list
the figures; `python -m mnist_app robustness` prints them), and far above a plain 28x28 resize.
"""

import pytest

from mnist_app import robustness

FLOORS = {  # style: (project preprocessing floor, plain resize must stay below); measured 2026-11-21:
    "canvas-offcentre": (0.97, 0.80),  # 99.5 % vs plain resize 71.5 %
    "paper-inverted": (0.96, 0.30),  # 99.0 % vs 18.0 %
    "photo-tinted-jpeg": (0.96, 0.30),  # 99.5 % vs 15.0 %
    "transparent-png": (0.97, 0.55),  # 99.5 % vs 39.5 %
    "handwriting-fonts": (0.95, 0.30),  # 100 % vs 10.0 %
    # Real handwriting MNIST's writers rarely used (issue: each >= 97 %); before / after the user-style training:
    "european-one": (0.97, 0.50),  # 80.0 % before
    "crossed-seven": (0.97, 0.60),  # 100 % before
    "open-four": (0.97, 0.60),  # 100 % before
    "thick-pen": (0.97, 0.50),  # 93.5 % before (9 taken for texture)
    "thin-pen": (0.97, 0.40),  # 99.5 % before
    "hollow": (0.97, 0.40),  # 31.0 % before
    "slanted": (0.97, 0.60),  # 98.5 % before
    "small-in-photo": (0.97, 0.30),  # 90.5 % before (18 found no digit)
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
    assert row["plain_resize_accuracy"] < naive_ceiling, row  # the preprocessing is what makes the difference


@pytest.mark.parametrize("style", list(FLOORS))
def test_few_digits_of_any_style_are_turned_down(results, style):
    if style not in results:
        pytest.skip("handwriting fonts are not installed (make browser installs them)")
    row = results[style]
    assert row["no_digit"] <= TURNED_DOWN * row["images"], row
