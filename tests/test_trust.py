"""Answers a person can trust: "no digit" for non-digits, few digits turned down, calibration that helps.

The negative set, the user-style set and the thresholds are documented in mnist_app.measure.negatives,
mnist_app.measure.robustness and mnist_app.measure.decision; the figures measured for the committed model are in the
README ("No digit instead of a guess") and in models/metrics.json.
"""

import numpy as np
import pytest

from mnist_app.images import preprocess, reading
from mnist_app.measure import calibration, decision, negatives, robustness
from tests.support import images

# Share of each kind of non-digit that must get "no digit found" or "not sure" (the target is 95 %
# overall); measured on 100 of each for the committed model (2026-11-23: letters 90, symbols 98, shapes 100,
# scribbles 97, textures 100, photos 100, camera frames 94, text lines 99 %), floors a few points under.
# Camera frames and text lines are kinds training never saw.
NON_DIGIT_FLOORS = {"letters": 0.87, "symbols": 0.93, "shapes": 0.95, "scribbles": 0.92, "textures": 0.95,
                    "photos": 0.95, "camera-frames": 0.90, "text-lines": 0.95}
OVERALL = 0.95


@pytest.fixture(scope="module")
def non_digits(predictor):
    fonts = robustness.available_fonts()
    if not fonts:
        pytest.skip("handwriting fonts are not installed (make browser installs them)")
    return negatives.measure(negatives.build(100, decision.TEST_NEGATIVE_SEED, fonts), predictor)


@pytest.mark.parametrize("kind", negatives.KINDS)
def test_each_kind_of_non_digit_gets_no_digit_or_not_sure(non_digits, kind):
    row = non_digits[kind]
    assert row["handled"] >= NON_DIGIT_FLOORS[kind], row


def test_the_negative_set_as_a_whole(non_digits):
    total = sum(row["images"] for row in non_digits.values())
    handled = sum(row["no_digit"] + row["not_sure"] for row in non_digits.values())
    assert handled / total >= OVERALL, non_digits


def test_few_mnist_test_digits_are_turned_down(predictor, mnist):
    best = predictor.predict_batch(preprocess.normalize_mnist(mnist.x_test)).max(axis=1)
    assert predictor.reject_below > 0  # the committed model does say "no digit"
    assert np.mean(best < predictor.reject_below) <= 0.005  # issue: <= 0.5 % of the test digits


def test_calibration_on_both_sets(predictor, mnist, user_style_cases):
    """The calibrated confidence is no worse than the raw one on user-style images, and close on MNIST."""
    cases, readings = user_style_cases
    answered = [r for r in readings if r.has_digit]
    raw = np.array([r.raw_probabilities for r in answered], dtype=np.float64)
    labels = np.array([case.label for case, r in zip(cases, readings) if r.has_digit])
    calibrated = calibration.apply_temperature(raw, predictor.temperature)
    assert (calibration.expected_calibration_error(calibrated, labels)
            <= calibration.expected_calibration_error(raw, labels))
    mnist_raw = predictor.predict_batch(preprocess.normalize_mnist(mnist.x_test)).astype(np.float64)
    mnist_calibrated = calibration.apply_temperature(mnist_raw, predictor.temperature)
    assert calibration.expected_calibration_error(mnist_calibrated, mnist.y_test) < 0.02


def test_a_line_of_text_is_several_characters_not_a_digit(predictor):
    from PIL import Image, ImageDraw

    picture = Image.new("L", (400, 80), 255)
    ImageDraw.Draw(picture).text((10, 10), "hello there", fill=0, font_size=48)
    answer = reading.read(images.encode(picture), predictor=predictor)
    assert answer.digit is None and "several characters" in answer.reason


def test_the_same_decision_for_every_face(predictor, tmp_path):
    """The JSON answer for a non-digit carries digit null and the reason the dashboard shows."""
    import json
    import subprocess
    import sys

    from mnist_app import config

    rng = np.random.default_rng(3)
    path = tmp_path / "face.jpg"
    path.write_bytes(negatives.camera_frame([], rng))
    answer = reading.read(path, predictor=predictor)
    line = json.loads(subprocess.run([sys.executable, "-m", "mnist_app", "predict", "--json", str(path)],
                                     cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=120).stdout)
    assert line["digit"] == answer.digit
    assert line.get("reason") == answer.reason
