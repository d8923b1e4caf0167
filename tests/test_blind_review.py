"""The blind review of single digits per pen (scripts/blind_review.py): its sheets hide what the network read, its
scoring counts right, and the review kept in scripts/reviews/ is of digits this code writes and this network reads."""

import json

import numpy as np
import pytest
from PIL import Image

from mnist_app.images import reading as readings
from mnist_app.measure import numbers
from scripts import blind_review

REVIEWS = blind_review.config.PROJECT_ROOT / "scripts" / "reviews"


class Misreads:
    """A stand-in reader for the choosing logic alone, with a fixed, known rule: a field with more ink than `limit`
    reads as 9, any other as 1 (so most 1s and 9s are read right and every other digit is misread)."""

    def __init__(self, limit: float):
        self.limit = limit

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        answers = np.zeros((len(batch), 10), dtype=np.float32)
        answers[np.arange(len(batch)), np.where(batch.reshape(len(batch), -1).sum(axis=1) > self.limit, 9, 1)] = 1
        return answers


def test_every_misread_is_shown_with_at_least_as_many_digits_read_right_and_the_tiles_are_shuffled(mnist):
    x_test, y_test = mnist.x_test, mnist.y_test
    items = blind_review.choose(x_test, y_test, Misreads(limit=60.0), per_pen=60, seed=3)
    assert [item["tile"] for item in items] == list(range(len(items)))
    for pen in numbers.PENS:
        mine = [item for item in items if item["pen"] == pen]
        wrong = [item for item in mine if item["read"] != item["label"]]
        right = [item for item in mine if item["read"] == item["label"]]
        assert right and len(right) >= min(max(blind_review.MIN_RIGHT, len(wrong)), 60 - len(wrong))
        assert all(item["label"] == y_test[item["index"]] for item in mine)
        assert all(item["written"] == 60 for item in mine)
    # every misread of the 60 digits per pen is on a tile: redo the reading and count them
    first = blind_review._drawn(np.random.default_rng(3), y_test, "mnist", 60)
    reads = Misreads(limit=60.0).predict_batch(
        np.stack([numbers.alone_field(blind_review._written(x_test, item)) for item in first])[..., None])
    misread = {item["index"] for item, read in zip(first, reads.argmax(axis=1)) if read != y_test[item["index"]]}
    shown = {item["index"] for item in items if item["pen"] == "mnist" and item["read"] != item["label"]}
    assert shown == misread
    pens_in_order = [item["pen"] for item in items]
    assert pens_in_order != sorted(pens_in_order, key=numbers.PENS.index)  # shuffled, not pen after pen


def test_the_sheets_show_the_digits_and_their_tile_numbers_only(mnist, tmp_path):
    items = blind_review.choose(mnist.x_test, mnist.y_test, Misreads(limit=60.0), per_pen=30, seed=4)
    paths = blind_review.draw_sheets(mnist.x_test, items, tmp_path)
    assert len(paths) == -(-len(items) // blind_review.TILES_PER_SHEET)
    first = np.asarray(Image.open(paths[0]))
    assert first.shape == (4 * blind_review.TILE, 10 * blind_review.TILE)
    assert (first < 128).mean() > 0.01  # ink on the tiles
    assert not (tmp_path / "key.json").exists()  # the key is written by the command, beside, not on the sheets


def test_answers_are_read_line_by_line_and_a_wrong_line_is_named():
    answers = blind_review.parse_answers("# a comment\n0 7\n1 3?\n\n2 ?   # could not read it\n3 40?7\n")
    assert answers == {0: "7", 1: "3", 2: "?", 3: "40?7"}
    for bad in ("0", "0 1a", "x 3", "0 seven", "0 3 4"):
        with pytest.raises(ValueError, match="line 1"):
            blind_review.parse_answers(bad)


def test_the_score_counts_misreads_read_by_the_person_and_right_reads_they_could_not():
    key = [{"pen": "thin", "label": 8, "read": 3, "written": 100, "tile": 0},   # misread, person reads 8
           {"pen": "thin", "label": 8, "read": 3, "written": 100, "tile": 1},   # misread, person reads 3
           {"pen": "thin", "label": 0, "read": 6, "written": 100, "tile": 2},   # misread, person cannot read it
           {"pen": "thin", "label": 4, "read": 4, "written": 100, "tile": 3},   # right, person reads 4
           {"pen": "thin", "label": 5, "read": 5, "written": 100, "tile": 4},   # right, person reads 6
           {"pen": "mnist", "label": 1, "read": 7, "written": 50, "tile": 5},   # misread, person reads 1
           {"pen": "mnist", "label": 2, "read": 2, "written": 50, "tile": 6}]   # right, person reads 2
    figures = blind_review.score(key, {0: "8", 1: "3", 2: "?", 3: "4", 4: "6", 5: "1", 6: "2"})
    thin = figures["thin"]
    assert {name: thin[name] for name in ("written", "misread", "misread_legible", "misread_illegible",
                                          "right_shown", "right_illegible")} == {
        "written": 100, "misread": 3, "misread_legible": 1, "misread_illegible": 2, "right_shown": 2,
        "right_illegible": 1}
    assert thin["error_on_legible"] == 0.01 and thin["error_on_illegible"] == 0.02
    # of the 97 the network read right the person reads half (1 of the 2 shown), and 1 of its misreads: 49.5 of 100
    assert thin["person"] == pytest.approx(0.495) and thin["network_on_readable"] == pytest.approx(48.5 / 49.5)
    assert figures["mnist"]["misread_legible"] == 1 and figures["mnist"]["error_on_legible"] == 0.02
    assert figures["all"]["written"] == 150 and figures["all"]["misread_legible"] == 2
    assert figures["mnist"]["person"] == 1.0
    assert figures["all"]["person"] == pytest.approx((49.5 + 50) / 150)
    assert set(figures) == {"thin", "mnist", "all"}
    with pytest.raises(ValueError, match="no answer for tiles \\[4, 5, 6\\]"):
        blind_review.score(key, {0: "8", 1: "3", 2: "?", 3: "4"})


def test_written_numbers_read_wrong_are_all_on_the_sheets_and_the_key_names_each_number(mnist, predictor, tmp_path):
    items = blind_review.choose_numbers(mnist.x_test, mnist.y_test, predictor, seeds=(28,), per_kind=3)
    cases = numbers.build(mnist.x_test, mnist.y_test, per_kind=3, seed=28)
    apart = [position for position, case in enumerate(cases) if case.spacing == "apart"]
    read = {position: readings.read(cases[position].payload, number=True, predictor=predictor).number or ""
            for position in apart}
    wrong = {position for position in apart if read[position] != cases[position].number}
    assert {item["position"] for item in items if item["read"] != item["label"]} == wrong
    assert all(item["label"] == cases[item["position"]].number and item["pen"] == cases[item["position"]].pen
               for item in items)
    assert sorted(item["tile"] for item in items) == list(range(len(items)))
    for pen in {cases[position].pen for position in apart}:
        right = [p for p in apart if cases[p].pen == pen and p not in wrong]
        shown = [item for item in items if item["pen"] == pen and item["read"] == item["label"]]
        assert len(shown) == len(right)  # fewer than MIN_RIGHT were read right: every one of them is shown
    paths = blind_review.draw_number_sheets(mnist.x_test, mnist.y_test, items, tmp_path, per_kind=3)
    assert len(paths) == -(-len(items) // blind_review.NUMBERS_PER_SHEET)


def test_the_review_kept_is_of_digits_this_code_writes_and_this_network_reads(mnist, predictor):
    """The key of 2026-12-05: each tile's digit is the MNIST test digit it names, written with its pen, and what the
    committed network reads on it is what the key says it read; every tile has an answer."""
    key = json.loads((REVIEWS / "2026-12-05" / "key.json").read_text())
    answers = blind_review.parse_answers((REVIEWS / "2026-12-05" / "answers.txt").read_text())
    assert sorted(item["tile"] for item in key) == sorted(answers) == list(range(len(key)))
    assert all(item["label"] == mnist.y_test[item["index"]] for item in key)
    fields = np.stack([numbers.alone_field(blind_review._written(mnist.x_test, item)) for item in key])[..., None]
    assert predictor.predict_batch(fields).argmax(axis=1).tolist() == [item["read"] for item in key]
    assert blind_review.key_text(key) == (REVIEWS / "2026-12-05" / "key.json").read_text()


def test_the_review_of_numbers_kept_is_of_numbers_this_code_writes_and_the_app_reads(mnist, predictor):
    """The key of the numbers' review: each tile is the written number it names (seed, place), with its pen, and
    the app reads on it what the key says; every tile has an answer."""
    key = json.loads((REVIEWS / "2026-12-05-numbers" / "key.json").read_text())
    answers = blind_review.parse_answers((REVIEWS / "2026-12-05-numbers" / "answers.txt").read_text())
    assert sorted(item["tile"] for item in key) == sorted(answers) == list(range(len(key)))
    cases = {seed: numbers.build(mnist.x_test, mnist.y_test, per_kind=100, seed=seed)
             for seed in sorted({item["seed"] for item in key})}
    for item in key:
        case = cases[item["seed"]][item["position"]]
        assert (case.number, case.pen, case.face, case.spacing) == (item["label"], item["pen"], item["face"], "apart")
        assert (readings.read(case.payload, number=True, predictor=predictor).number or "") == item["read"]
