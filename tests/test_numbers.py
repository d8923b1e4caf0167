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


def digits_of(picture: Image.Image, predictor) -> list:
    """The digits read from a picture of white strokes on black, in number mode."""
    return readings.read(images.encode(picture), number=True, predictor=predictor).digits


def test_separate_strokes_are_separate_digits_left_to_right(predictor):
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.line([(60, 30), (60, 130)], fill=255, width=10)  # a 1
    draw.ellipse([150, 30, 210, 130], outline=255, width=10)  # a 0
    draw.line([(280, 30), (280, 130)], fill=255, width=10)  # another 1
    digits = digits_of(picture, predictor)
    assert "".join(str(d.digit) for d in digits) == "101"
    lefts = [digit.box[0] for digit in digits]
    assert lefts == sorted(lefts)


def test_broken_strokes_of_one_digit_are_merged(predictor):
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.line([(150, 30), (215, 30)], fill=255, width=10)  # a 5's top bar, drawn separately
    draw.line([(150, 38), (150, 75)], fill=255, width=10)
    draw.arc([140, 60, 215, 135], start=270, end=150, fill=255, width=10)
    draw.line([(300, 30), (300, 70)], fill=255, width=10)  # a 1 broken in two, one piece above the other
    draw.line([(296, 80), (292, 130)], fill=255, width=10)
    assert "".join(str(d.digit) for d in digits_of(picture, predictor)) == "51"


def test_touching_digits_joined_by_a_thin_stroke_are_split(predictor):
    picture = blank()
    draw = ImageDraw.Draw(picture)
    draw.ellipse([60, 30, 130, 130], outline=255, width=12)
    draw.ellipse([150, 30, 220, 130], outline=255, width=12)
    draw.line([(128, 80), (152, 80)], fill=255, width=2)  # a thin join between two 0s
    assert "".join(str(d.digit) for d in digits_of(picture, predictor)) == "00"


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


# Numbers as people write them (mnist_app/measure/numbers.py), on a seed never used to tune the segmentation (23 was).
# Measured (50 per face and spacing, 2026-12-02): apart 94 / 98 / 96 / 92 % (canvas, paper, photo, ruled), 95.0 % in
# all; touching 82 / 84 / 74 / 88 %, 82.0 % in all. Before recognition-driven segmentation: apart 90.5 % (ruled 78 %),
# touching 36 %.
WRITTEN_FLOORS = {"apart": (0.93, 0.88), "touching": (0.76, 0.68)}  # (over every face, per face)


@pytest.fixture(scope="module")
def written_figures(predictor, mnist):
    from mnist_app.measure import numbers

    return numbers.measure(numbers.build(mnist.x_test, mnist.y_test, per_kind=50, seed=2026), predictor)


@pytest.mark.parametrize("spacing", list(WRITTEN_FLOORS))
def test_numbers_as_people_write_them_are_read(written_figures, spacing):
    """3-7 MNIST test digits and writer-style digits, sizes +-20 %, sloping baselines, on a canvas, paper, a photo
    and ruled paper: apart, and with touching or overlapping pairs (0-15 % of a digit's width)."""
    overall, per_face = WRITTEN_FLOORS[spacing]
    assert written_figures[("all", spacing)] >= overall, written_figures
    from mnist_app.measure import numbers

    for face in numbers.FACES:
        assert written_figures[(face, spacing)] >= per_face, (face, written_figures)


def test_ruled_lines_are_removed_but_not_strokes_as_thick_as_the_digits(mnist):
    """Thin blue lines across an exercise-book page go; a bar drawn with the pen, as thick as the strokes, stays."""
    from mnist_app.images import preprocess

    page = np.full((160, 420), 250, dtype=np.uint8)
    for y in range(10, 160, 36):
        page[y: y + 2] = 170  # the paper's lines: 2 px, pale
    for slot in range(3):
        digit = np.asarray(Image.fromarray(mnist.x_test[slot]).resize((84, 84)))
        region = page[40:124, 40 + slot * 120: 124 + slot * 120]
        np.minimum(region, 255 - digit, out=region)
    found = preprocess.find_ink(images.encode(Image.fromarray(page)), number=True)
    assert "the lines of ruled or squared paper were removed" in found.decoded.notes
    assert not found.strokes.mask[10:12].any() and not found.strokes.mask[154:156].any()
    barred = page.copy()
    barred[136:144] = 0  # a thick dark bar across the page, drawn like the digits
    found = preprocess.find_ink(images.encode(Image.fromarray(barred)), number=True)
    assert found.strokes.mask[138:142].all(axis=0).mean() > 0.9  # the bar stays whole ...
    assert not found.strokes.mask[10:12].any()  # ... while the paper's lines go


def test_the_lattice_keeps_the_most_probable_reading_and_says_which_cuts_are_close_calls():
    """Atoms 0-1-2 of one piece cut twice (one stroke each), candidates: each atom, atoms 0-1 and the whole. The
    path with the highest total wins; a cut whose alternative comes within a factor of 4 is unsure."""
    lattice = segment.Lattice(nodes=4, spans=[(0, 1), (1, 2), (2, 3), (0, 2), (0, 3)], cuts=[False, True, True, False],
                              priors=[0.0] * 5, runs=[0, 1, 1, 0], skips=[-np.inf] * 3)
    sure = np.log([[0.99], [0.99], [0.99], [0.02], [0.01]])  # three clear digits; the joins read badly
    chosen, unsure = lattice.best_path(sure[:, 0] - np.array([segment.CUT_COST * lattice.runs[j]
                                                              for _, j in lattice.spans]))
    assert chosen == [0, 1, 2] and unsure == [False, False, False]
    close = np.log([0.9, 0.9, 0.99, 0.85, 0.05])  # atoms 0 and 1 read about as well joined as apart
    chosen, unsure = lattice.best_path(close)
    assert chosen in ([0, 1, 2], [3, 2]) and unsure[0] is True
    skippable = segment.Lattice(nodes=3, spans=[(0, 1), (1, 2), (0, 2)], cuts=[False, False, False],
                                priors=[0.0] * 3, runs=[0, 0, 0], skips=[-np.inf, -0.1])
    assert skippable.best_path(np.log([0.99, 0.05, 0.3]))[0] == [0]  # a speck after a digit is left out
