"""Whole numbers: split a drawn or photographed number such as "2026" into digits and read each.

1. The same decoding and ink detection as single digits (`preprocess.find_ink`).
2. Connected components of the strokes; pieces of one broken digit (a 5's detached top bar, a
   4 drawn in two strokes) are merged when they overlap horizontally or are small and close.
3. A group much wider than tall is several touching digits: it is cut at the columns with the
   least ink near where the digit boundaries should be.
4. Each digit is normalised the MNIST way (`preprocess.to_mnist_field`) and all are predicted in
   one batch; the number is read left to right, with a box and a confidence per digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from mnist_app import preprocess
from mnist_app.inference import UNSURE_BELOW

MERGE_OVERLAP = 0.5  # horizontal overlap, as a share of the narrower piece, that makes two pieces one digit
SMALL_PIECE = 0.4  # a piece shorter than this share of the typical digit height ...
SMALL_GAP = 0.25  # ... and closer than this share of it to a digit belongs to that digit
STACKED_PIECE = 0.8  # two pieces both shorter than this share, one above the other, are one broken digit
TOUCHING_ASPECT = 1.3  # one stroke wider than this times its height may be several touching digits ...
THIN_JOIN = 0.45  # ... if it can be cut where the ink is thinner than this share of its typical column
DIGIT_ASPECT = 0.72  # typical width / height of one handwritten digit, to estimate how many touch
MAX_DIGITS = 24


@dataclass
class DigitReading:
    """One digit of a number."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the input's pixels
    model_input: np.ndarray
    probabilities: np.ndarray


@dataclass
class NumberReading:
    """A number read from an image, or the reason there is none."""

    number: str | None
    digits: list[DigitReading]
    display: Image.Image | None  # the input with a labelled box around every digit
    notes: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict:
        """JSON-ready form (the CLI's `predict --number --json` contract)."""
        return {"number": self.number,
                "digits": [{"digit": d.digit, "confidence": round(d.confidence, 6), "box": list(d.box)}
                           for d in self.digits]}


def _boxes(labels: np.ndarray, count: int) -> list[list[int]]:
    return [[s[1].start, s[0].start, s[1].stop, s[0].stop] for s in ndimage.find_objects(labels, count)]


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


def group_components(mask: np.ndarray) -> list[np.ndarray]:
    """Masks of the digits in a number's strokes, merged and split as described above, left to right."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return []
    boxes = _boxes(labels, count)
    groups = [{"labels": {index + 1}, "box": box} for index, box in enumerate(boxes)]
    typical_height = float(np.median([b[3] - b[1] for b in boxes]))
    typical_height = max(typical_height, max(b[3] - b[1] for b in boxes) * 0.5)
    merged = True
    while merged and len(groups) > 1:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i]["box"], groups[j]["box"]
                if _one_digit(a, b, typical_height):
                    groups[i] = {"labels": groups[i]["labels"] | groups[j]["labels"],
                                 "box": [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]}
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    digit_masks = []
    for group in sorted(groups, key=lambda g: g["box"][0]):
        group_mask = np.isin(labels, list(group["labels"]))
        if len(group["labels"]) == 1:  # pieces merged on purpose are never cut apart again
            digit_masks.extend(_split_touching(group_mask, group["box"]))
        else:
            digit_masks.append(group_mask)
    return digit_masks[:MAX_DIGITS]


def _split_touching(group_mask: np.ndarray, box) -> list[np.ndarray]:
    """Cut a group that is too wide for one digit at its emptiest columns."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    if width <= TOUCHING_ASPECT * height:
        return [group_mask]
    pieces = max(2, int(round(width / (DIGIT_ASPECT * height))))
    columns = group_mask[y0:y1, x0:x1].sum(axis=0)
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
        part = np.zeros_like(group_mask)
        part[:, left:right] = group_mask[:, left:right]
        if part.any():
            parts.append(part)
    return parts


def read_number(predictor, source) -> NumberReading:
    """Read every digit of a number in any user image (ImageError if the input cannot be read)."""
    found = preprocess.find_ink(source)
    decoded = found.decoded
    if found.reason:
        return NumberReading(None, [], decoded.display, decoded.notes, found.reason.replace("no digit", "no number"))
    masks = group_components(found.mask)
    fields = [preprocess.to_mnist_field(found.ink, mask) for mask in masks]
    raw = predictor.predict_batch(preprocess.to_batch(fields))
    probabilities = predictor.calibrated(raw)
    digits = [DigitReading(int(p.argmax()), float(p.max()), found.box_in_original(mask), field_, p)
              for p, mask, field_ in zip(probabilities, masks, fields)]
    number = "".join(str(d.digit) for d in digits)
    return NumberReading(number, digits, annotate(decoded.display, decoded.original_size, digits), decoded.notes)


def annotate(display: Image.Image, original_size: tuple[int, int], digits: list[DigitReading]) -> Image.Image:
    """The input picture with a box and the predicted digit drawn over every digit."""
    picture = display.convert("RGB").copy()
    scale = picture.width / max(1, original_size[0])
    draw = ImageDraw.Draw(picture)
    font = ImageFont.load_default(size=max(14, picture.height // 9))
    for reading in digits:
        x0, y0, x1, y1 = (round(v * scale) for v in reading.box)
        colour = (46, 160, 67) if reading.confidence >= UNSURE_BELOW else (240, 130, 0)
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=max(2, picture.width // 200))
        label_box = draw.textbbox((x0, y0), str(reading.digit), font=font)
        height = label_box[3] - label_box[1] + 4
        top = y0 - height if y0 >= height else y1  # above the box, or below it at the top edge
        draw.rectangle([x0, top, x0 + label_box[2] - label_box[0] + 6, top + height], fill=colour)
        draw.text((x0 + 3, top + 1 - (label_box[1] - y0)), str(reading.digit), fill=(255, 255, 255), font=font)
    return picture
