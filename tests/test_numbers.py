"""Whole numbers: segmentation on synthetic strokes, reading accuracy on our own number set, the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_app import config
from mnist_app.images import reading as readings
from mnist_app.images import segment
from mnist_app.measure import robustness
from tests.support import images


def blank(width=400, height=160):
    return Image.new("L", (width, height), 0)


def test_separate_strokes_are_separate_digits_left_to_right():
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.line([(60, 30), (60, 130)], fill=255, width=10)  # a 1
    draw.ellipse([150, 30, 210, 130], outline=255, width=10)  # a 0
    draw.line([(280, 30), (280, 130)], fill=255, width=10)  # another 1
    masks = segment.digit_masks(np.asarray(picture) > 128)
    assert len(masks) == 3
    lefts = [np.flatnonzero(mask.any(axis=0))[0] for mask in masks]
    assert lefts == sorted(lefts)


def test_broken_strokes_of_one_digit_are_merged():
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.line([(150, 30), (215, 30)], fill=255, width=10)  # a 5's top bar, drawn separately
    draw.line([(150, 38), (150, 75)], fill=255, width=10)
    draw.arc([140, 60, 215, 135], start=270, end=150, fill=255, width=10)
    draw.line([(300, 30), (300, 70)], fill=255, width=10)  # a 1 broken in two, one piece above the other
    draw.line([(296, 80), (292, 130)], fill=255, width=10)
    assert len(segment.digit_masks(np.asarray(picture) > 128)) == 2


def test_touching_digits_joined_by_a_thin_stroke_are_split():
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.ellipse([60, 30, 130, 130], outline=255, width=12)
    draw.ellipse([150, 30, 220, 130], outline=255, width=12)
    draw.line([(128, 80), (152, 80)], fill=255, width=2)  # a thin join between two 0s
    assert len(segment.digit_masks(np.asarray(picture) > 128)) == 2


def test_blank_image_reads_no_number(predictor):
    reading = readings.read(images.encode(blank()), number=True, predictor=predictor)
    assert reading.number is None and reading.digits == [] and "no number" in reading.reason


def clear_number(mnist) -> tuple[str, bytes]:
    """Test digits 0-3 (7, 2, 1, 0) side by side with clear gaps, as a 260x60 PNG."""
    strip = np.zeros((60, 260), dtype=np.uint8)
    for slot in range(4):
        strip[16:44, 20 + slot * 60: 48 + slot * 60] = mnist.x_test[slot]
    return "".join(str(d) for d in mnist.y_test[:4]), images.encode(Image.fromarray(strip))


def test_reading_gives_boxes_inside_the_image_and_an_annotated_picture(predictor, mnist):
    label, payload = clear_number(mnist)
    reading = readings.read(payload, number=True, predictor=predictor)
    width, height = 260, 60
    assert reading.number == label
    for digit in reading.digits:
        x0, y0, x1, y1 = digit.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and 0 <= digit.confidence <= 1
    assert reading.display.size[0] > 0


def test_every_digits_label_is_whole_even_for_digits_as_tall_as_the_picture(predictor, mnist):
    """Digits from the top edge to the bottom edge (a number drawn to fill the canvas) still get their labels
    whole, above their boxes, not cut off at the bottom (issue 21, defect 8)."""
    strip = np.zeros((112, 560), dtype=np.uint8)
    for slot in range(4):
        digit = mnist.x_test[slot]
        rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
        inked = Image.fromarray(digit[rows[0]: rows[-1] + 1, columns[0]: columns[-1] + 1])
        width = max(20, round(inked.width * 112 / inked.height))
        strip[:, 30 + slot * 130: 30 + slot * 130 + width] = np.asarray(inked.resize((width, 112)))
    reading = readings.read(images.encode(Image.fromarray(strip)), number=True, predictor=predictor)
    assert len(reading.digits) >= 4 and sum(digit.box[1] == 0 for digit in reading.digits) >= 2  # no room above
    picture = np.asarray(reading.annotated)
    scale = reading.display.width / reading.decoded.original_size[0]
    for digit in reading.digits:
        column = picture[:, round(digit.box[0] * scale) + 2]
        labelled = np.all(np.abs(column.astype(int) - (46, 160, 67)) < 8, axis=1) | np.all(
            np.abs(column.astype(int) - (240, 130, 0)) < 8, axis=1)
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], labelled.astype(int), [0]]))))[::2]
        assert runs.size and runs.max() >= 14, f"the label of the {digit.digit} is cut off"


@pytest.mark.parametrize("style, exact_floor, count_floor", [  # measured on 200 each: 95.0 / 96.0, 99.5 / 100 %
    ("mnist-digits-in-a-row", 0.90, 0.93),
    ("handwriting-font-numbers", 0.95, 0.98),
])
def test_number_reading_accuracy_on_our_number_set(predictor, mnist, style, exact_floor, count_floor):
    results = robustness.measure_numbers(mnist.x_test, mnist.y_test, per_style=100, predictor=predictor)
    if style not in results:
        pytest.skip("handwriting fonts are not installed (make browser installs them)")
    assert results[style]["digit_count_right"] >= count_floor, results[style]
    assert results[style]["exact"] >= exact_floor, results[style]


def test_cli_number_json_contract(tmp_path, mnist):
    label, payload = clear_number(mnist)
    good = tmp_path / "number.png"
    good.write_bytes(payload)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"no image here")
    result = subprocess.run([sys.executable, "-m", "mnist_app", "predict", "--number", "--json", str(good), str(bad)],
                            cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["path"] == str(good) and first["number"] == label and "error" not in first
    assert [d["digit"] for d in first["digits"]] == [int(c) for c in label]
    assert all(len(d["box"]) == 4 and 0 <= d["confidence"] <= 1 for d in first["digits"])
    assert second["number"] is None and second["digits"] == [] and "not an image" in second["error"]
