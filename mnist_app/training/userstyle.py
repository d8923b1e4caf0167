"""Training data for how people really write, and for what is not a digit at all.

MNIST's writers rarely wrote a 1 with a long flag and a base, a 7 with a crossbar, outlined or marker
digits; and MNIST has no "not a digit". This module makes, from the MNIST *training* split only:

- digits written the ways people write: the European 1 and the crossed 7 (strokes added to real MNIST 1s
  and 7s, so the test set's pen-drawn templates stay a different generator), marker-thick, fine-pen,
  outlined (hollow) and slanted digits;
- on request (`number_digits`, `--number-digits`), digits written as a number's digits are: at a written number's
  size, with one of its pens, normalised alone as the reading normalises a number's digit;
- non-digits (`mnist_app.measure.negatives`) in fonts and seeds the test set does not use, of six of its eight
  kinds (camera frames and lines of text are kept out, to measure how the rejection generalises);

every one drawn as a whole image and passed through the app's own reading path (`reading.prepare`), so
the network learns what such images look like *after* preprocessing. Negatives are labelled -1: training
asks the network to spread its probability evenly over the ten digits for them ("outlier exposure",
Hendrycks et al., 2019), which is what lets the app answer "no digit". Made once, cached in `data/`.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mnist_app import config
from mnist_app.errors import ImageError
from mnist_app.images import reading
from mnist_app.measure import handwriting, negatives, numbers, robustness

VERSION = 2  # bump when the recipe below changes: the cache is rebuilt
NEGATIVE = -1
DIGIT_STYLES = ("european-one", "crossed-seven", "thick-pen", "thin-pen", "hollow", "slanted")
EXTRA = {"european-one": 1.6}  # the flagged 1 is the hardest to tell from a 7: more of them (1s drawn again)
TRAINING_NEGATIVE_KINDS = ("letters", "symbols", "shapes", "scribbles", "textures", "photos")
CHUNK = 64
# Parts of `number_digits` per pen of the written numbers (`numbers.PENS`): the fine pen, whose numbers are read
# worst, most (its middle line is 3 px wide on a digit 56-110 px tall; the thin-pen style above draws 1-2 px on
# 160-320 px).
NUMBER_PENS = {"thin": 12, "mnist": 4, "thick": 3, "slanted": 3}
NUMBER_SEED = 4242


@dataclass
class StyleData:
    """Prepared 28x28 model inputs with their labels (-1: not a digit) and what made each."""

    images: np.ndarray  # uint8 (N, 28, 28)
    labels: np.ndarray  # int64 (N,), -1 for non-digits
    kinds: np.ndarray  # str (N,): the style or negative kind

    def __len__(self) -> int:
        return len(self.labels)


def _stroke_width(ink: np.ndarray) -> float:
    mask = (ink > 0.5).astype(np.uint8)
    area = cv2.countNonZero(mask)
    inner = cv2.countNonZero(cv2.erode(mask, np.ones((3, 3), np.uint8)))
    return max(2.0, 2.0 * area / max(area - inner, 1))


def _draw_line(ink: np.ndarray, start, end, width: float) -> None:
    """A pen line added to the ink in place (anti-aliased)."""
    layer = np.zeros_like(ink)
    cv2.line(layer, (int(start[0] * 4), int(start[1] * 4)), (int(end[0] * 4), int(end[1] * 4)), 1.0,
             max(1, int(round(width))), lineType=cv2.LINE_AA, shift=2)
    np.maximum(ink, layer, out=ink)


def european_one(digit: np.ndarray, rng) -> np.ndarray:
    """A real MNIST 1 given a long flag from its top and, mostly, a base at its foot."""
    ink = np.pad(robustness._scaled_digit(digit, int(rng.integers(100, 200))), 40)
    rows, cols = np.nonzero(ink > 0.5)
    width = _stroke_width(ink)
    height = rows.max() - rows.min()
    top = (cols[rows == rows.min()].mean(), rows.min())
    angle = np.radians(rng.uniform(15, 65))
    length = height * rng.uniform(0.25, 0.6)  # long flags too: without a base they are what 7s are taken for
    _draw_line(ink, top, (top[0] - length * np.cos(angle), top[1] + length * np.sin(angle)), width)
    if rng.random() < 0.6:
        foot = (cols[rows == rows.max()].mean(), rows.max())
        half = height * rng.uniform(0.18, 0.32)
        _draw_line(ink, (foot[0] - half, foot[1]), (foot[0] + half, foot[1]), width)
    return ink


def crossed_seven(digit: np.ndarray, rng) -> np.ndarray:
    """A real MNIST 7 given a crossbar through the middle of its stem."""
    ink = np.pad(robustness._scaled_digit(digit, int(rng.integers(100, 200))), 40)
    rows, cols = np.nonzero(ink > 0.5)
    height = rows.max() - rows.min()
    row = int(rows.min() + height * rng.uniform(0.45, 0.62))
    stem = np.flatnonzero(ink[row] > 0.5)
    centre = stem.mean() if len(stem) else cols.mean()
    half = height * rng.uniform(0.13, 0.25)
    _draw_line(ink, (centre - half, row), (centre + half, row + rng.uniform(-3, 3)), _stroke_width(ink))
    return ink


def _styled(style: str, digit: np.ndarray, rng) -> np.ndarray:
    size = int(rng.integers(100, 240))
    if style == "european-one":
        return european_one(digit, rng)
    if style == "crossed-seven":
        return crossed_seven(digit, rng)
    ink = robustness._scaled_digit(digit, size)
    if style == "thick-pen":
        return handwriting.thick(ink, rng.uniform(0.1, 0.22))
    if style == "thin-pen":
        return handwriting.thin(robustness._scaled_digit(digit, int(rng.integers(160, 320))), int(rng.integers(1, 3)))
    if style == "hollow":
        return handwriting.hollow(ink, rng.uniform(0.1, 0.2), int(rng.integers(2, 8)))
    return handwriting.slanted(ink, rng.uniform(12, 35) * rng.choice([-1, 1]))


def _field(payload) -> np.ndarray | None:
    try:
        prepared = reading.prepare(payload)
    except ImageError:
        return None
    return None if prepared.model_input is None else prepared.model_input


def _png(ink: np.ndarray, rng) -> bytes:
    pixels = (1.0 - ink) if rng.random() < 0.5 else ink
    return robustness._png(Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8)))


def _digit_job(job) -> tuple[list, list, list]:
    style, digits, labels, seed = job
    rng = np.random.default_rng(seed)
    images, kept, kinds = [], [], []
    for digit, label in zip(digits, labels):
        field = _field(_png(np.pad(_styled(style, digit, rng), int(rng.integers(8, 50))), rng))
        if field is not None:
            images.append(field)
            kept.append(int(label))
            kinds.append(style)
    return images, kept, kinds


def _negative_job(job) -> tuple[list, list, list]:
    kind, count, seed, fonts = job
    images, kinds = [], []
    if kind == "scribbles":  # busier ones than the test set's: a simple curve can be a real digit's shape
        rng = np.random.default_rng(seed)
        payloads = [negatives.scribble(fonts, rng, points=(9, 17)) for _ in range(count)]
    else:
        payloads = [item.payload for item in negatives.build(count, seed, fonts, kinds=(kind,))]
    for payload in payloads:
        field = _field(payload)
        if field is not None:  # what preprocessing already refuses needs no teaching
            images.append(field)
            kinds.append(kind)
    return images, [NEGATIVE] * len(images), kinds


def build(x_train: np.ndarray, y_train: np.ndarray, *, per_style: int = 5000, per_negative_kind: int = 3500,
          seed: int = 7, workers: int | None = None, log=print) -> StyleData:
    """Make the user-style digits and the non-digits (from training digits and training fonts only)."""
    rng = np.random.default_rng(seed)
    jobs = []
    for style in DIGIT_STYLES:
        wanted = {"european-one": 1, "crossed-seven": 7}.get(style)
        pool = np.flatnonzero(y_train == wanted) if wanted is not None else np.arange(len(y_train))
        count = int(per_style * EXTRA.get(style, 1.0))
        chosen = rng.choice(pool, size=count, replace=count > len(pool))
        for start in range(0, len(chosen), CHUNK):
            part = chosen[start: start + CHUNK]
            jobs.append((_digit_job, (style, x_train[part], y_train[part], int(rng.integers(1 << 31)))))
    fonts = negatives.training_fonts()
    for kind in TRAINING_NEGATIVE_KINDS:
        for start in range(0, per_negative_kind, CHUNK):
            count = min(CHUNK, per_negative_kind - start)
            jobs.append((_negative_job, (kind, count, int(rng.integers(1 << 31)), fonts)))
    log(f"Drawing {len(DIGIT_STYLES)} user styles x {per_style} digits and {len(TRAINING_NEGATIVE_KINDS)} kinds x "
        f"{per_negative_kind} non-digits, through the reading path...")
    images, labels, kinds = [], [], []
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(workers or None, mp_context=context) as pool:
        for part_images, part_labels, part_kinds in pool.map(_run, jobs):
            images += part_images
            labels += part_labels
            kinds += part_kinds
    fields = np.clip(np.rint(np.stack(images) * 255), 0, 255).astype(np.uint8)
    return StyleData(fields, np.asarray(labels, dtype=np.int64), np.asarray(kinds))


def number_digits(x_train: np.ndarray, y_train: np.ndarray, count: int, seed: int = NUMBER_SEED) -> StyleData:
    """`count` training digits written as the digits of a written number are (`mnist_app.measure.numbers`): each
    `numbers.HEIGHT` px tall with one of the numbers' pens (shared as NUMBER_PENS), then normalised alone as the
    reading normalises a number's digit (`numbers.alone_field`). The test numbers are made the same way from MNIST
    *test* digits; these come from the training split and their own seed. Kinds: "number-<pen>"."""
    rng = np.random.default_rng(seed)
    parts = sum(NUMBER_PENS.values())
    shares = {pen: count * part // parts for pen, part in NUMBER_PENS.items()}
    shares["thin"] += count - sum(shares.values())
    images, labels, kinds = [], [], []
    for pen, share in shares.items():
        for index in rng.choice(len(x_train), size=share, replace=share > len(x_train)):
            height = int(rng.integers(*numbers.HEIGHT))
            slant = float(rng.uniform(*numbers.SLANT) * rng.choice([-1, 1]))
            ink = numbers.in_pen(x_train[index].astype(np.float32) / 255.0, height, pen, slant)
            images.append(numbers.alone_field(ink))
            labels.append(int(y_train[index]))
            kinds.append(f"number-{pen}")
    fields = np.clip(np.rint(np.stack(images) * 255), 0, 255).astype(np.uint8) if images else \
        np.zeros((0, 28, 28), dtype=np.uint8)
    return StyleData(fields, np.asarray(labels, dtype=np.int64), np.asarray(kinds, dtype=str))


def _run(job):
    function, arguments = job
    return function(arguments)


def cache_path() -> Path:
    return config.DATA_DIR / f"userstyle-v{VERSION}.npz"


def load_or_build(x_train: np.ndarray, y_train: np.ndarray, log=print, **options) -> StyleData:
    """The user-style training data, from the cache in data/ when it was made from these very digits."""
    path = cache_path()
    fingerprint = np.array([len(x_train), int(x_train[::97].sum()), int(y_train.sum())], dtype=np.int64)
    try:
        with np.load(path, allow_pickle=False) as stored:
            if np.array_equal(stored["fingerprint"], fingerprint):
                return StyleData(stored["images"], stored["labels"], stored["kinds"])
    except (OSError, KeyError, ValueError):
        pass
    made = build(x_train, y_train, log=log, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=made.images, labels=made.labels, kinds=made.kinds, fingerprint=fingerprint)
    return made
