"""Whole numbers: which pieces of ink make up which digit.

The strokes' connected pieces, labelled once by `mnist_app.images.preprocess.find_strokes`, are grouped into
digits: pieces of one broken digit (a 5's detached top bar, a 4 drawn in two strokes) are merged when
they overlap horizontally, are small and close, or sit one above the other; one piece much wider than
tall is several touching digits, cut at the columns with the least ink near where the boundaries should be.
"""

from __future__ import annotations

import numpy as np

from mnist_app.images import preprocess

MERGE_OVERLAP = 0.5  # horizontal overlap, as a share of the narrower piece, that makes two pieces one digit
SMALL_PIECE = 0.4  # a piece shorter than this share of the typical digit height ...
SMALL_GAP = 0.25  # ... and closer than this share of it to a digit belongs to that digit
STACKED_PIECE = 0.8  # two pieces both shorter than this share, one above the other, are one broken digit
TOUCHING_ASPECT = 1.3  # one stroke wider than this times its height may be several touching digits ...
THIN_JOIN = 0.45  # ... if it can be cut where the ink is thinner than this share of its typical column
DIGIT_ASPECT = 0.72  # typical width / height of one handwritten digit, to estimate how many touch
MAX_DIGITS = 24

Box = tuple[int, int, int, int]


def _overlap(a, b) -> int:
    return min(a[2], b[2]) - max(a[0], b[0])


def _vertical_overlap(a, b) -> int:
    return min(a[3], b[3]) - max(a[1], b[1])


def _one_digit(a, b, typical_height: float) -> bool:
    """Whether two pieces' boxes look like parts of one digit rather than two digits."""
    height_a, height_b = a[3] - a[1], b[3] - b[1]
    narrower = max(1, min(a[2] - a[0], b[2] - b[0]))
    if _overlap(a, b) > MERGE_OVERLAP * narrower:  # one above the other: a 5's top bar, a broken 7
        return True
    gap = -_overlap(a, b)
    if min(height_a, height_b) < SMALL_PIECE * typical_height and gap < SMALL_GAP * typical_height:
        return True  # a small fragment right next to a digit
    stacked = _vertical_overlap(a, b) < 0.3 * min(height_a, height_b)
    combined_height = max(a[3], b[3]) - min(a[1], b[1])
    return (max(height_a, height_b) < STACKED_PIECE * typical_height and stacked
            and gap < 0.15 * typical_height and combined_height <= 1.3 * typical_height)


def _merged(boxes: dict[int, Box]) -> list[tuple[set[int], Box]]:
    """Groups of pieces that form one digit each, with the box around each group."""
    groups = [({piece}, box) for piece, box in boxes.items()]
    heights = [box[3] - box[1] for box in boxes.values()]
    typical_height = max(float(np.median(heights)), max(heights) * 0.5)
    merged = True
    while merged and len(groups) > 1:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                (pieces_a, a), (pieces_b, b) = groups[i], groups[j]
                if _one_digit(a, b, typical_height):
                    groups[i] = (pieces_a | pieces_b, (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                                       max(a[3], b[3])))
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(groups, key=lambda group: group[1][0])


def _split_touching(mask: np.ndarray, box: Box) -> list[tuple[np.ndarray, Box]]:
    """Cut one piece that is too wide for one digit at its emptiest columns."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    if width <= TOUCHING_ASPECT * height:
        return [(mask, box)]
    pieces = max(2, int(round(width / (DIGIT_ASPECT * height))))
    columns = mask[y0:y1, x0:x1].sum(axis=0)
    typical_column = float(np.median(columns[columns > 0])) if columns.any() else 0.0
    cuts = [x0]
    for k in range(1, pieces):
        expected = int(k * width / pieces)
        window = max(1, int(0.25 * width / pieces))
        low, high = max(1, expected - window), min(width - 1, expected + window)
        best = low + int(np.argmin(columns[low:high]))
        if columns[best] <= THIN_JOIN * typical_column:  # a thin join: two digits touching
            cuts.append(x0 + best)
    cuts.append(x1)
    parts = []
    for left, right in zip(cuts[:-1], cuts[1:]):
        part = np.zeros_like(mask)
        part[:, left:right] = mask[:, left:right]
        if part.any():
            parts.append((part, preprocess.tight_box(part, (left, y0, right, y1))))
    return parts


def digits(strokes: preprocess.Strokes) -> list[tuple[np.ndarray, Box]]:
    """Each digit of a number as (mask, box) at the working size, left to right."""
    found = []
    for pieces, box in _merged({piece: strokes.boxes[piece] for piece in strokes.pieces}):
        mask = np.isin(strokes.labels, list(pieces))
        box = preprocess.tight_box(mask, box)
        # Pieces merged on purpose are never cut apart again; a single wide piece may be several digits.
        found.extend(_split_touching(mask, box) if len(pieces) == 1 else [(mask, box)])
    return found[:MAX_DIGITS]


def digit_masks(mask: np.ndarray) -> list[np.ndarray]:
    """The digits in a plain 0/1 picture of strokes, left to right (for pictures made without find_ink)."""
    strokes, _ = preprocess.find_strokes(np.asarray(mask, dtype=np.uint8) * 255)
    return [] if strokes is None else [digit_mask for digit_mask, _ in digits(strokes)]
