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


# Numbers as people write them (mnist_app/measure/numbers.py), on a seed never used to tune the segmentation or fit
# its weights (23-27 were). Measured (50 per face and spacing, 2026-12-03): apart 96 / 100 / 96 / 94 % (canvas, paper,
# photo, ruled), 96.5 % in all; touching 88 / 92 / 84 / 96 %, 90.0 % in all. Before a grid's lines were judged each on
# their own (the margin): apart ruled 92 %, 96.0 % in all. Before the whole-digit network: apart
# 95.5 %, touching 89.5 %; before the cuts every CUT_GRID and the fitted weights (2026-12-02): apart 95.0 %, touching
# 82.0 %; before recognition-driven segmentation: apart 90.5 %, touching 36 %.
WRITTEN_FLOORS = {"apart": (0.95, 0.90), "touching": (0.87, 0.82)}  # (over every face, per face)


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


def test_the_orange_box_marks_most_numbers_read_wrong_and_not_most_read_right(written_figures):
    """On the written numbers, a reading that is wrong mostly shows a digit in doubt (an orange box); one that is
    right mostly does not, or the box would say nothing. Measured (2026-12-03, 50 per face and spacing): 81 % of the
    numbers read wrong show one (22 of 27), 50 % of those read right."""
    assert written_figures[("unsure", "wrong")] >= 0.75, written_figures
    assert written_figures[("unsure", "right")] <= 0.6, written_figures


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


def test_a_margin_across_the_ruled_lines_goes_too_but_not_a_markers_stroke_beside_them(mnist):
    """An exercise book's margin crosses every ruled line, so lines and margin are one grid of ink; darker than the
    grid's lines alone, it once kept them all (seen on written numbers: "937" read 437, "8029" read 029, the margin
    through a digit). Each line of a grid is judged on its own -- but only where it lies on paper: the straight top
    rows of a marker's stroke across the page, ink below them, are not a line of the paper."""
    from mnist_app.images import preprocess

    page = np.full((170, 420), 250, dtype=np.uint8)
    for y in range(10, 170, 36):
        page[y: y + 2] = 140  # the paper's lines, darker than in the test above ...
    page[:, 20:23] = 100  # ... and a margin, darker still, crossing them all
    for slot in range(3):
        digit = np.asarray(Image.fromarray(mnist.x_test[slot]).resize((84, 84)))
        region = page[30:114, 40 + slot * 120: 124 + slot * 120]
        np.minimum(region, 255 - digit, out=region)
    found = preprocess.find_ink(images.encode(Image.fromarray(page)), number=True)
    assert not found.strokes.mask[:, 20:23].any()  # the margin goes ...
    assert not found.strokes.mask[10:12].any() and not found.strokes.mask[118:120].any()  # ... and the lines
    assert len(found.strokes.pieces) == 3  # three digits, and no piece of the margin
    depth = np.round(14 * (1 - np.linspace(-1, 1, 390) ** 2)).astype(int)
    for x, rows in zip(range(10, 400), depth):
        page[128: 128 + rows, x] = 0  # a marker's stroke across the page, straight along its top, curved below
    found = preprocess.find_ink(images.encode(Image.fromarray(page)), number=True)
    assert found.strokes.mask[128:131, 60:360].all()  # its straight top rows stay ...
    assert not found.strokes.mask[:120, 20:23].any() and not found.strokes.mask[10:12].any()  # ... the grid goes


def test_a_fine_pens_stroke_along_a_line_of_squared_paper_stays_and_the_line_goes():
    """On squared paper, a stroke may run along one of the paper's lines for a while (the side of a 0 written with a
    fine pen): it has no ink beside it to bridge the line from, but it is darker than the line. Seen on written
    numbers: "9432930" read 54329317, its last 0 cut in two by a line of the paper."""
    from mnist_app.images import preprocess

    page = np.full((240, 300), 250, dtype=np.uint8)
    for at in range(10, 240, 36):
        page[at: at + 2] = 170  # the squares' lines, pale ...
    for at in range(10, 300, 36):
        page[:, at: at + 2] = 170
    page[82:84, 190:240] = page[152:154, 190:240] = 20  # ... and a fine pen's 0, square-ish, its left side drawn
    page[82:154, 190:192] = page[82:154, 238:240] = 20  # along the line at x = 190 (a 2-px stroke on a 2-px line)
    found = preprocess.find_ink(images.encode(Image.fromarray(page)), number=True)
    assert "the lines of ruled or squared paper were removed" in found.decoded.notes
    assert found.strokes.mask[86:150, 190:192].all(axis=1).mean() > 0.9  # the 0's side along the line stays ...
    assert not found.strokes.mask[:76, 190:192].any() and not found.strokes.mask[160:, 190:192].any()  # ... the line
    assert len(found.strokes.pieces) == 1  # goes above and below it, and the 0 is one piece


def _lattice(nodes, spans, cuts, runs, skips, heights=None):
    return segment.Lattice(nodes=nodes, spans=spans, cuts=cuts, priors=[0.0] * len(spans), runs=runs,
                           narrow=[False] * nodes, heights=heights or [1.0] * len(spans), offsets=[0.0] * len(spans),
                           skips=skips)


def test_a_cuts_way_down_is_the_cheapest_of_all_ways_that_move_one_column_a_row():
    """The cut's path through a few columns, found row by row, costs what the cheapest of every possible path costs
    (all enumerated), moves at most one column a row; with no room to move it goes straight down."""
    import itertools

    rng = np.random.default_rng(5)
    for _ in range(200):
        rows, across = int(rng.integers(1, 6)), int(rng.integers(2, 4))
        costs = (rng.integers(0, 2, (rows, across)) + 0.02).tolist()  # ink or paper: many ties
        path = segment._cheapest_way_down(costs)
        cheapest = min(sum(costs[row][x] for row, x in enumerate(way))
                       for way in itertools.product(range(across), repeat=rows)
                       if all(abs(a - b) <= 1 for a, b in zip(way, way[1:])))
        assert sum(costs[row][x] for row, x in enumerate(path)) == pytest.approx(cheapest)
        assert np.all(np.abs(np.diff(path)) <= 1) and 0 <= path.min() and path.max() < across
    mask = np.zeros((6, 5), bool)
    mask[2:4, :] = True  # a bar across
    path, runs, crossed = segment._path(mask, (0, 0, 5, 6), 2, 0)
    assert list(path) == [2] * 6 and (runs, crossed) == (1, 2)


def test_the_lattice_keeps_the_most_probable_reading_and_says_which_cuts_are_close_calls():
    """Atoms 0-1-2 of one piece cut twice (one stroke each), candidates: each atom, atoms 0-1 and the whole. The
    path with the highest total wins; a cut whose alternative reading of another number comes within UNSURE_CUT is
    unsure."""
    lattice = _lattice(4, [(0, 1), (1, 2), (2, 3), (0, 2), (0, 3)], [False, True, True, False], [0, 1, 1, 0],
                       [-np.inf] * 3)
    digits = np.array([1, 7, 3, 4, 8])  # what the network reads in each candidate
    sure = np.log([[0.99], [0.99], [0.99], [0.02], [0.01]])  # three clear digits; the joins read badly
    chosen, unsure = lattice.best_path(sure[:, 0] - np.array([0.45 * lattice.runs[j] for _, j in lattice.spans]),
                                       digits)
    assert chosen == [0, 1, 2] and unsure == [False, False, False]
    close = np.log([0.9, 0.9, 0.99, 0.85, 0.05])  # atoms 0 and 1 read about as well joined (a 4) as apart (1, 7)
    chosen, unsure = lattice.best_path(close, digits)
    assert chosen in ([0, 1, 2], [3, 2]) and unsure[0] is True
    skippable = _lattice(3, [(0, 1), (1, 2), (0, 2)], [False, False, False], [0, 0, 0], [-np.inf, -0.1])
    assert skippable.best_path(np.log([0.99, 0.05, 0.3]), np.array([1, 7, 4]))[0] == [0]  # a speck is left out


def test_a_cut_moved_a_little_that_reads_the_same_number_casts_no_doubt():
    """A "17" cut at either of two nearby places (after atom 0 or after atom 1) reads 1 and 7 both ways, about as
    surely: neither digit is unsure. Were the second way to read "47", both would be."""
    lattice = _lattice(4, [(0, 1), (1, 3), (0, 2), (2, 3)], [False, True, True, False], [0, 1, 1, 0],
                       [-np.inf] * 3)
    scores = np.log([0.95, 0.9, 0.9, 0.95])
    chosen, unsure = lattice.best_path(scores, np.array([1, 7, 1, 7]))
    assert len(chosen) == 2 and unsure == [False, False]
    chosen, unsure = lattice.best_path(scores, np.array([1, 7, 4, 7]))
    assert unsure == [True, True]


def _probabilities(*rows):
    """Network outputs: each row (digit, probability) with the rest spread evenly over the other digits."""
    out = np.empty((len(rows), 10))
    for row, (digit, probability) in zip(out, rows):
        row[:] = (1 - probability) / 9
        row[digit] = probability
    return out


def test_a_candidates_features_are_what_its_score_weighs():
    """Each candidate's row of features: the log-probability, the margin (0 when sure), its cut, how much
    shorter than the number's digits it is, the whole-digit network's log-odds (over its cap); the score is the
    features weighted by WEIGHTS."""
    lattice = _lattice(3, [(0, 1), (1, 2), (0, 2)], [False, True, False], [0, 2, 0], [-np.inf] * 2,
                       heights=[1.0, 0.5, 1.0])
    probabilities = _probabilities((1, 0.9), (4, 0.6), (4, 1 - 1e-7))
    whole = np.array([5.0, -10.0, 0.0])
    features = dict(zip(segment.FEATURES, lattice.features(probabilities, whole).T))
    assert np.allclose(features["log-probability"], np.log([0.9, 0.6, 1 - 1e-7]))
    assert features["margin"][2] == 0.0 and features["margin"][1] < features["margin"][0] < 0
    assert list(features["cut"]) == [1.0, 0.0, 0.0] and list(features["more strokes cut"]) == [1.0, 0.0, 0.0]
    assert features["shorter"][1] == pytest.approx(np.log(0.5) ** 2) and features["shorter"][0] == 0.0
    assert list(features["atoms joined"]) == [0.0, 0.0, 1.0]
    assert list(features["whole digit"]) == [0.5, -1.0, 0.0]
    assert np.allclose(lattice.scores(probabilities, whole), lattice.features(probabilities, whole) @ segment.WEIGHTS)


def test_fitting_the_weights_learns_to_read_the_numbers_it_gets_wrong():
    """A number whose candidates can spell it, read wrong with weights that count only the log-probability: the
    averaged perceptron moves the weights until it is read right (the log-probability's weight stays 1)."""
    from mnist_app.measure import numbers

    # "17": a 1 and a 7 as two atoms, or joined into one candidate that the network calls a 4 a little more surely.
    lattice = _lattice(3, [(0, 1), (1, 2), (0, 2)], [False, True, False], [0, 1, 0], [-np.inf] * 2,
                       heights=[1.0, 1.0, 1.0])
    features = lattice.features(_probabilities((1, 0.8), (7, 0.8), (4, 0.9)), np.zeros(3))
    case = numbers.Case("canvas", "touching", "17", b"")
    items = [numbers.Candidates(case, lattice, features, np.array([1, 7, 4]))] * 2
    start = np.zeros(len(segment.FEATURES))
    start[0] = 1.0
    assert numbers.exact_share(items, start, -1.0)["touching"] == 0.0
    fitted, skip = numbers.fit_weights(items, start, -1.0, epochs=3, rate=0.5)
    assert fitted[0] == 1.0 and numbers.exact_share(items, fitted, skip)["touching"] == 1.0


def test_the_whole_digit_network_tells_whole_digits_from_the_other_candidates(mnist):
    """On the candidates of written numbers made of MNIST test digits (the whole-digit network learnt from training
    digits): whole digits mostly get positive log-odds, the other candidates (halves, pairs, a digit with a piece of
    its neighbour) negative, and hardly a whole digit is ruled out before the classifier sees it. Measured
    (2026-12-03, these 40 numbers, 2,854 candidates): AUC 0.988; 78 % of whole digits above 0, 98.6 % of the rest
    below."""
    from mnist_app.images import wholeness
    from mnist_app.measure import numbers

    odds, whole = [], []
    for case in numbers.build(mnist.x_test, mnist.y_test, per_kind=5, seed=2026):
        prepared = readings.prepare(case.payload, number=True)
        odds.append(wholeness.log_odds(prepared.fields))
        whole.append(numbers.whole_digits(case, prepared.boxes))
    odds, whole = np.concatenate(odds), np.concatenate(whole)
    assert 0.05 < whole.mean() < 0.15
    assert (odds[whole][:, None] > odds[~whole][None, :]).mean() >= 0.97  # the AUC
    assert (odds[whole] > 0).mean() >= 0.7 and (odds[~whole] < 0).mean() >= 0.95
    assert (odds[whole] < segment.PRUNE_BELOW).mean() <= 0.01


def test_candidates_the_whole_digit_network_rules_out_are_not_read_and_a_reading_always_remains(predictor, mnist):
    """A candidate under PRUNE_BELOW is not given to the classifier; but if ruling out every such candidate would
    leave no reading across the number, none is ruled out."""
    from mnist_app.measure import numbers

    lattice = _lattice(3, [(0, 1), (1, 2), (0, 2)], [False, True, False], [0, 1, 0], [-np.inf] * 2)
    kept_lattice, kept = lattice.worth_reading(np.array([2.0, -9.0, 3.0]))
    assert kept == [0, 2] and kept_lattice.spans == [(0, 1), (0, 2)]
    assert lattice.worth_reading(np.array([2.0, -9.0, -9.0]))[1] == [0, 1, 2]  # atom 1 would be left unread

    class Counting:
        """The predictor, counting what the classifier is given."""

        def __init__(self):
            self.read = 0

        def predict_batch(self, batch):
            self.read += len(batch)
            return predictor.predict_batch(batch)

        def __getattr__(self, name):
            return getattr(predictor, name)

    case = numbers.build(mnist.x_test, mnist.y_test, per_kind=1, seed=2026, digits=5)[1]  # canvas, touching
    counting = Counting()
    assert readings.read(case.payload, number=True, predictor=counting).number == case.number
    assert 0 < counting.read < 0.7 * len(readings.prepare(case.payload, number=True).fields)


def test_candidates_of_the_same_ink_share_one_field_that_each_network_reads_once(predictor, mnist):
    """A cut with no ink of its own between two others makes candidates of the same ink in the same box: they share
    one field, which the whole-digit network and the classifier each read once for all of them."""
    from mnist_app.images import wholeness
    from mnist_app.measure import numbers

    given = []

    class Recording:
        def predict_batch(self, batch):
            given.extend(field.tobytes() for field in batch)
            return predictor.predict_batch(batch)

        def __getattr__(self, name):
            return getattr(predictor, name)

    shared = 0
    for case in numbers.build(mnist.x_test, mnist.y_test, per_kind=2, seed=2026, digits=5):
        prepared = readings.prepare(case.payload, number=True)
        shared += len(prepared.fields) - len({id(field) for field in prepared.fields})
        each = wholeness.answer(wholeness._session(wholeness.MODEL_PATH), prepared.fields)  # every field weighed
        assert np.allclose(wholeness.log_odds(prepared.fields), each, atol=1e-4)
        given.clear()
        assert readings.read_prepared([prepared], Recording())[0].number
        assert given and len(given) == len(set(given))  # no field read twice
    assert shared > 0


def test_candidates_left_unread_by_their_bounds_change_neither_the_reading_nor_its_orange_boxes(predictor, mnist,
                                                                                                 monkeypatch):
    """A number's candidates are read in two batches: the reading their bounds put first, then those that could
    still be part of the best reading or of one within UNSURE_CUT of it. Reading every candidate instead gives the
    same digits, boxes, confidences and orange boxes -- with fewer candidates read (about a third fewer)."""
    from mnist_app.measure import numbers

    cases = numbers.build(mnist.x_test, mnist.y_test, per_kind=4, seed=2026)  # every face and spacing

    def read_all(monkeypatched: bool):
        class Counting:
            read = 0

            def predict_batch(self, batch):
                Counting.read += len(batch)
                return predictor.predict_batch(batch)

            def __getattr__(self, name):
                return getattr(predictor, name)

        if monkeypatched:  # every candidate worth reading is read
            monkeypatch.setattr(segment.Lattice, "still_needed",
                                lambda lattice, scores, read: list(np.flatnonzero(~read)))
        counting = Counting()
        answers = [readings.read(case.payload, number=True, predictor=counting) for case in cases]
        monkeypatch.undo()
        return [(r.number, r.reason, [(d.box, d.digit, round(d.confidence, 6), d.cut_unsure) for d in r.digits])
                for r in answers], Counting.read

    needed, read_needed = read_all(False)
    everything, read_everything = read_all(True)
    assert needed == everything
    assert any(unsure for _, _, digits in needed for *_, unsure in digits)  # orange boxes were compared too
    assert read_needed < 0.8 * read_everything

    for case in cases[:8]:  # a bound is never below the score the classifier's answer gives
        lattice, kept, whole = readings.worth_reading(readings.prepare(case.payload, number=True))
        fields = readings.prepare(case.payload, number=True).fields
        raw = predictor.predict_batch(np.stack([fields[k] for k in kept])[..., None])
        assert np.all(lattice.scores(raw, whole) <= lattice.bounds(whole) + 1e-9)


def test_a_candidate_is_a_whole_digit_where_that_digits_ink_begins_and_ends():
    from mnist_app.measure import numbers

    case = numbers.Case("canvas", "touching", "17", b"", columns=((10, 40), (50, 80)))
    boxes = [(11, 0, 39, 50), (10, 0, 80, 50), (52, 0, 60, 50), (49, 2, 84, 48)]  # tolerance: 0.12 x 50 = 6 px
    assert list(numbers.whole_digits(case, boxes)) == [True, False, False, True]


def test_a_shares_interval_is_wilsons_and_narrows_as_more_numbers_are_read():
    """Wilson's 95 % score interval, against values worked out by hand from its formula: 0 of 10, 5 of 10 and 97 of
    100; it keeps inside [0, 1] and, with many numbers, is four times narrower for 16 times as many."""
    from mnist_app.measure import numbers

    assert numbers.interval(0.0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert numbers.interval(0.5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert numbers.interval(0.97, 100) == pytest.approx((0.9154, 0.9897), abs=1e-4)
    low, high = numbers.interval(1.0, 25)
    assert high == 1.0 and 0.86 < low < 0.87
    narrow, wide = numbers.interval(0.97, 6400), numbers.interval(0.97, 400)
    assert (wide[1] - wide[0]) / (narrow[1] - narrow[0]) == pytest.approx(4, rel=0.1)


def test_a_written_number_knows_its_mnist_digits_and_which_the_network_cannot_read_even_as_mnist_wrote_them(
        predictor, mnist):
    """Each digit of a written number remembers the MNIST test digit it was made from (a template's has none); a
    number holding one that the network misreads in MNIST's own 28x28 is counted: no segmentation can mend it."""
    from mnist_app.images import preprocess
    from mnist_app.measure import numbers

    cases = numbers.build(mnist.x_test, mnist.y_test, per_kind=3, seed=2026)
    for case in cases:
        assert len(case.sources) == len(case.number)
        for index, digit in zip(case.sources, case.number):
            assert index is None or int(mnist.y_test[index]) == int(digit)
    assert any(index is None for case in cases for index in case.sources)  # a template-drawn 1, 7 or 4
    misread = predictor.predict_batch(preprocess.normalize_mnist(mnist.x_test[:3000])).argmax(axis=1) != \
        mnist.y_test[:3000]
    wrong, right = int(np.flatnonzero(misread)[0]), int(np.flatnonzero(~misread)[0])
    made = [numbers.Case("paper", "apart", "", b"", sources=(right, wrong)),
            numbers.Case("paper", "apart", "", b"", sources=(right, None)),
            numbers.Case("paper", "touching", "", b"", sources=(None, right, right))]
    assert numbers.with_a_misread_digit(made, mnist.x_test, mnist.y_test, predictor) == {"apart": 0.5, "touching": 0.0}


def test_a_written_number_knows_its_pen_and_the_figures_are_given_per_pen_too(predictor, mnist, monkeypatch):
    """Each written number records the pen all its digits were written with, and `measure` gives the share read
    exactly per pen as well as per face: both pool back to the share over every face."""
    from mnist_app.measure import numbers

    written_with, digit = [], numbers._digit

    def recording(x_test, y_test, rng, height, pen, slant):
        written_with.append(pen)
        return digit(x_test, y_test, rng, height, pen, slant)

    monkeypatch.setattr(numbers, "_digit", recording)
    cases = numbers.build(mnist.x_test, mnist.y_test, per_kind=4, seed=2026)
    start = 0
    for case in cases:
        assert set(written_with[start: start + len(case.number)]) == {case.pen}
        start += len(case.number)
    assert {case.pen for case in cases} == set(numbers.PENS)
    figures = numbers.measure(cases, predictor)
    for spacing in numbers.SPACINGS:
        made = [case for case in cases if case.spacing == spacing]
        for group in (lambda case: case.face, lambda case: numbers.pen_key(case.pen)):
            # each number weighs its group's share once: the groups' shares, weighted by their sizes
            pooled = sum(figures[(group(case), spacing)] for case in made) / len(made)
            assert pooled == pytest.approx(figures[("all", spacing)])
    assert "thin pen" in numbers.format_table(figures)


def test_a_number_read_wrong_is_put_down_to_a_lost_digit_a_wrong_cut_or_a_misread_one(predictor, mnist):
    """`numbers.cause` on one written number and on readings of it altered by hand: right (no cause), a digit too
    few, a box that begins half a digit off, and a digit misread -- "alone too" when the network also reads the
    written digit alone as something else than the number says, "in the number only" when alone it reads it right.
    The per-pen causes add up to the number's spacing's "all" row."""
    from dataclasses import replace

    from mnist_app.measure import numbers

    rng = np.random.default_rng(11)
    case = next(case for case in (numbers.written_number(mnist.x_test, mnist.y_test, "paper", "apart", rng, digits=3)
                                  for _ in range(40)) if case.pen == "mnist" and None not in case.sources)
    read = readings.read(case.payload, number=True, predictor=predictor)
    assert read.number == case.number and numbers.cause(case, read, predictor) is None
    assert numbers.cause(case, replace(read, digits=read.digits[:-1]), predictor) == numbers.CAUSES[0]
    first, written = read.digits[0], int(case.number[0])
    other = (written + 1) % 10
    misread = replace(first, probabilities=np.eye(10)[other], raw_probabilities=np.eye(10)[other])
    x0, y0, x1, y1 = first.box
    moved = replace(first, box=(x0 + (y1 - y0) // 2, y0, x1, y1))  # the right number in a box off its ink is right
    assert numbers.cause(case, replace(read, digits=[moved, *read.digits[1:]]), predictor) is None
    moved = replace(misread, box=moved.box)
    assert numbers.cause(case, replace(read, digits=[moved, *read.digits[1:]]), predictor) == numbers.CAUSES[1]

    alone = predictor.predict_batch(numbers.alone_field(case.inks[0] / 255.0)[None, ..., None]).argmax()
    assert alone == written  # the first digit, written alone, is read right ...
    wrong = replace(read, digits=[misread, *read.digits[1:]])
    assert numbers.cause(case, wrong, predictor) == numbers.CAUSES[3]  # ... so it was misread in the number only
    meant = str((written + 2) % 10)  # had the writer meant another digit, the network would misread it alone too
    assert numbers.cause(replace(case, number=meant + case.number[1:]), wrong, predictor) == numbers.CAUSES[2]

    cases = numbers.build(mnist.x_test, mnist.y_test, per_kind=2, seed=2026)
    made = numbers.read_all(cases, predictor)
    counted = numbers.causes(cases, predictor)
    assert numbers.causes(cases, predictor, made) == counted  # the same from readings made once
    assert numbers.measure(cases, predictor, made) == numbers.measure(cases, predictor)
    for spacing in numbers.SPACINGS:
        for kind in ("written", *numbers.CAUSES):
            assert counted.get((spacing, "all", kind), 0) == sum(
                counted.get((spacing, numbers.pen_key(pen), kind), 0) for pen in numbers.PENS)
        assert counted[(spacing, "all", "written")] == sum(case.spacing == spacing for case in cases)
        wrong_ones = sum(read.number != case.number for case, read in zip(cases, made) if case.spacing == spacing)
        assert sum(counted.get((spacing, "all", why), 0) for why in numbers.CAUSES) == wrong_ones
    assert "misread alone too" in numbers.format_causes(counted)


def test_an_unreadable_whole_digit_model_says_how_to_rebuild_it(tmp_path, monkeypatch):
    from mnist_app.errors import ModelFileError
    from mnist_app.images import wholeness

    broken = tmp_path / "whole_digit.onnx"
    broken.write_bytes(b"not a model")
    monkeypatch.setattr(wholeness, "MODEL_PATH", broken)
    with pytest.raises(ModelFileError, match="make whole-digit"):
        wholeness.log_odds([np.zeros((28, 28), np.float32)])
