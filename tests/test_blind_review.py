"""The blind review of single digits per pen (scripts/blind_review.py): its sheets hide what the network read, its
scoring counts right, and the review kept in scripts/reviews/ is of digits this code writes and this network reads."""

import json

import numpy as np
import pytest
from PIL import Image

from mnist_app.measure import numbers
from scripts import blind_review

REVIEW = blind_review.config.PROJECT_ROOT / "scripts" / "reviews" / "2026-12-05"


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
    rng = np.random.default_rng(3)
    indices = rng.choice(len(x_test), 60, replace=False)
    heights = rng.integers(56, 110, 60)
    slants = rng.uniform(10, 25, 60) * rng.choice([-1, 1], 60)
    first = [{"pen": "mnist", "index": int(i), "height": int(h), "slant": round(float(s), 3)}
             for i, h, s in zip(indices, heights, slants)]
    reads = Misreads(limit=60.0).predict_batch(
        np.stack([blind_review._field(blind_review._written(x_test, item)) for item in first])[..., None])
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
    answers = blind_review.parse_answers("# a comment\n0 7\n1 3?\n\n2 ?   # could not read it\n")
    assert answers == {0: 7, 1: 3, 2: None}
    for bad in ("0", "0 12", "x 3", "0 seven", "0 3 4"):
        with pytest.raises(ValueError, match="line 1"):
            blind_review.parse_answers(bad)


def test_the_score_counts_misreads_read_by_the_person_and_right_reads_they_could_not():
    key = [{"pen": "thin", "label": 8, "read": 3, "written": 100, "tile": 0},   # misread, person reads 8
           {"pen": "thin", "label": 8, "read": 3, "written": 100, "tile": 1},   # misread, person reads 3
           {"pen": "thin", "label": 0, "read": 6, "written": 100, "tile": 2},   # misread, person cannot read it
           {"pen": "thin", "label": 4, "read": 4, "written": 100, "tile": 3},   # right, person reads 4
           {"pen": "thin", "label": 5, "read": 5, "written": 100, "tile": 4},   # right, person reads 6
           {"pen": "mnist", "label": 1, "read": 7, "written": 50, "tile": 5}]   # misread, person reads 1
    figures = blind_review.score(key, {0: 8, 1: 3, 2: None, 3: 4, 4: 6, 5: 1})
    assert figures["thin"] == {"written": 100, "misread": 3, "misread_legible": 1, "misread_illegible": 2,
                               "right_shown": 2, "right_illegible": 1, "error_on_legible": 0.01,
                               "error_on_illegible": 0.02}
    assert figures["mnist"]["misread_legible"] == 1 and figures["mnist"]["error_on_legible"] == 0.02
    assert set(figures) == {"thin", "mnist"}
    with pytest.raises(ValueError, match="no answer for tiles \\[4, 5\\]"):
        blind_review.score(key, {0: 8, 1: 3, 2: None, 3: 4})


def test_the_review_kept_is_of_digits_this_code_writes_and_this_network_reads(mnist, predictor):
    """The key of 2026-12-05: each tile's digit is the MNIST test digit it names, written with its pen, and what the
    committed network reads on it is what the key says it read; every tile has an answer."""
    key = json.loads((REVIEW / "key.json").read_text())
    answers = blind_review.parse_answers((REVIEW / "answers.txt").read_text())
    assert sorted(item["tile"] for item in key) == sorted(answers) == list(range(len(key)))
    assert all(item["label"] == mnist.y_test[item["index"]] for item in key)
    fields = np.stack([blind_review._field(blind_review._written(mnist.x_test, item)) for item in key])[..., None]
    assert predictor.predict_batch(fields).argmax(axis=1).tolist() == [item["read"] for item in key]
    assert blind_review.key_text(key) == (REVIEW / "key.json").read_text()
