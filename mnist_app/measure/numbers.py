"""Numbers as people write them: a test set of whole numbers that are not typeset.

Each number has 3-7 digits, each digit's height varying +-20 % around the number's, on a baseline that climbs or
falls by up to 8 degrees. The digits are MNIST *test* digits (never training data), half of the numbers written with
one of the writer styles' pens of `mnist_app.measure.handwriting` (a marker, a fine pen, a slant), and some 1s, 7s
and 4s written as the European 1, the crossed 7 and the open 4. They are placed

- **apart**: gaps of 8-35 % of the digit height between neighbours, or
- **touching**: at least one neighbouring pair overlapping by 0-15 % of the narrower digit's width (so the ink
  usually joins), the others apart or touching too,

in one of four faces: white strokes on a black **canvas**; dark ink on **paper** (light noise, PNG); a **photo**
(tinted paper, uneven light, blur, JPEG); a page of **ruled** exercise-book paper (blue lines through and under
the digits, sometimes squared paper or a red margin).

`measure()` reads them all with `reading.read(number=True)` and gives the share of numbers read exactly, per face
and spacing, and per pen; `with_a_misread_digit()` the share holding a digit the network misreads even as MNIST wrote
it (what no segmentation can mend); `cause()` why one read wrong was (a digit lost or added, cut wrong, misread
alone too, or misread only in the number); `scripts/bench_numbers.py` (in `make bench`) prints them with the time per
number.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageFilter

from mnist_app.images import preprocess, reading, segment
from mnist_app.measure import handwriting

FACES = ("canvas", "paper", "photo", "ruled")
SPACINGS = ("apart", "touching")
WRITER_SHARE = 0.3  # of the 1s, 7s and 4s written from a template rather than as MNIST wrote them
OVERLAP = (0.0, 0.15)  # touching pairs: overlap as a share of the narrower digit's width
GAP = (0.08, 0.35)  # apart: gap as a share of the digit height
SIZE_SPREAD = 0.2  # each digit's height within +-20 % of the number's
SLOPE_DEGREES = 8.0
HEIGHT = (56, 110)  # px: a number's digit height (each digit's within SIZE_SPREAD of it)
SLANT = (10.0, 25.0)  # degrees either way: how far the slanted pen leans
FIT_SEEDS = (23, 24, 26, 27)  # the segmentation's weights are fitted on these numbers ...
HELD_OUT_SEED = 25  # ... and checked on these; the tests and the benchmark use yet another seed (2026)
FRESH_SEEDS = (28, 29, 30, 31)  # first read on 2026-12-04 for the figures only: nothing was tuned, fitted or chosen
# on them (`python -m scripts.bench_numbers --seed 28 29 30 31` gives their pooled share and its interval)
WHOLE_TOLERANCE = 0.12  # of the digit height: a candidate whose two ends lie this close to a digit's is that digit


@dataclass(frozen=True)
class Case:
    face: str
    spacing: str
    number: str
    payload: bytes
    columns: tuple[tuple[int, int], ...] = ()  # each digit's first and last column in the picture (for diagnosis)
    sources: tuple[int | None, ...] = ()  # each digit's index among the MNIST images it came from (None: a template)
    pen: str = "mnist"  # the pen every digit of the number was written with (PENS)
    # each digit as written, 8-bit (for diagnosis: `causes` reads a misread digit again on its own)
    inks: tuple[np.ndarray, ...] = dataclasses.field(default=(), compare=False, repr=False)


def _crop(ink: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(ink.max(axis=1) > 0.05)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _to_height(ink: np.ndarray, height: int) -> np.ndarray:
    """The ink cropped and scaled to `height` pixels tall (aspect kept; a 1 stays narrow)."""
    crop = _crop(ink)
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    image = Image.fromarray((np.clip(crop, 0, 1) * 255).astype(np.uint8)).resize((width, height),
                                                                                Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32) / 255.0


PENS = ("mnist", "thick", "thin", "slanted")  # one pen per number, as one person writes it
TEMPLATE_FOR = {1: "european-one", 7: "crossed-seven", 4: "open-four"}


def _digit(x_test, y_test, rng, height: int, pen: str, slant: float) -> tuple[int, np.ndarray, int | None]:
    """One digit's label, ink (`height` px tall, written with the number's pen) and index in `x_test`: an MNIST
    test digit, or (for a 1, 7 or 4, WRITER_SHARE of the time) the European 1, the crossed 7 or the open 4 from a
    template (index None)."""
    index = int(rng.integers(len(x_test)))
    label, ink = int(y_test[index]), x_test[index].astype(np.float32) / 255.0
    if label in TEMPLATE_FOR and rng.random() < WRITER_SHARE:
        (label, ink), index = handwriting.written(TEMPLATE_FOR[label], 112, rng), None
    return label, in_pen(ink, height, pen, slant), index


def in_pen(ink: np.ndarray, height: int, pen: str, slant: float) -> np.ndarray:
    """A digit's ink (floats, 1 is ink) `height` px tall, aspect kept, written with one of PENS and cropped: with a
    marker, a fine pen (the strokes' middle line, 3 px wide) or leaning `slant` degrees; "mnist": as MNIST wrote it."""
    ink = _to_height(ink, height)
    if pen == "thick":
        ink = handwriting.thick(ink, 0.1)
    elif pen == "thin":
        ink = handwriting.thin(ink, 3)
    elif pen == "slanted":
        ink = handwriting.slanted(ink, slant)
    return _crop(ink)


def _layout(inks: list[np.ndarray], spacing: str, height: int, rng) -> tuple[np.ndarray, tuple]:
    """The digits side by side on a sloping baseline, as a float field (ink 1 on 0) with a margin."""
    touching = [False] * (len(inks) - 1)
    if spacing == "touching":
        touching = [bool(rng.random() < 0.5) for _ in touching]
        touching[int(rng.integers(len(touching)))] = True
    lefts, left = [], 0
    for index, ink in enumerate(inks):
        lefts.append(left)
        if index < len(touching):
            narrower = min(ink.shape[1], inks[index + 1].shape[1])
            step = (-rng.uniform(*OVERLAP) * narrower if touching[index]
                    else rng.uniform(*GAP) * height)
            left += ink.shape[1] + int(round(step))
    width = lefts[-1] + inks[-1].shape[1]
    slope = np.tan(np.radians(rng.uniform(-SLOPE_DEGREES, SLOPE_DEGREES)))
    margin = int(height * rng.uniform(0.3, 0.8))
    rise = int(abs(slope) * width) + 1
    field = np.zeros((int(height * 1.25) + rise + 2 * margin, width + 2 * margin), dtype=np.float32)
    for ink, x in zip(inks, lefts):
        baseline = margin + int(height * 1.2) + (rise if slope < 0 else 0) + int(round(slope * x))
        baseline += int(rng.normal(0, 0.03) * height)
        top = min(max(0, baseline - ink.shape[0]), field.shape[0] - ink.shape[0])
        region = field[top: top + ink.shape[0], margin + x: margin + x + ink.shape[1]]
        np.maximum(region, ink[:, : region.shape[1]], out=region)
    return field, tuple((margin + x, margin + x + ink.shape[1]) for x, ink in zip(lefts, inks))


def _encode(image: Image.Image, jpeg_quality: int | None = None) -> bytes:
    buffer = io.BytesIO()
    if jpeg_quality:
        image.save(buffer, format="JPEG", quality=jpeg_quality)
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _face(field: np.ndarray, face: str, height: int, rng) -> bytes:
    """The number's ink shown as `face` would show it."""
    if face == "canvas":
        return _encode(Image.fromarray((field * 255).astype(np.uint8)))
    if face == "paper":
        grey = 1.0 - 0.9 * field + rng.normal(0, 0.02, field.shape)
        return _encode(Image.fromarray((np.clip(grey, 0, 1) * 255).astype(np.uint8)))
    rows, cols = field.shape
    paper = np.array([rng.uniform(0.88, 1.0), rng.uniform(0.85, 0.98), rng.uniform(0.72, 0.92)], np.float32)
    ink = np.array([0.1, 0.12, rng.uniform(0.15, 0.55)], np.float32)
    colour = np.broadcast_to(paper, (rows, cols, 3)).copy()
    if face == "ruled":  # blue lines through and under the digits, thinner than the strokes
        spacing = int(height * rng.uniform(0.45, 0.65))
        thickness = int(rng.integers(1, 3))
        line = np.array([0.55, 0.68, 0.92], np.float32)
        offset = int(rng.integers(spacing))
        for y in range(offset, rows, spacing):
            colour[y: y + thickness] = line
        if rng.random() < 0.3:  # squared paper
            for x in range(int(rng.integers(spacing)), cols, spacing):
                colour[:, x: x + thickness] = line
        elif rng.random() < 0.3:  # a red margin line
            x = int(rng.integers(cols // 12, cols // 6 + 1))
            colour[:, x: x + thickness + 1] = np.array([0.9, 0.45, 0.45], np.float32)
    colour = colour * (1 - field[..., None]) + ink * field[..., None]
    if face == "photo":
        yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx / cols + np.sin(angle) * yy / rows
        colour = colour * (0.95 - 0.3 * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6))[..., None]
        colour = colour + rng.normal(0, 0.025, colour.shape).astype(np.float32)
    image = Image.fromarray((np.clip(colour, 0, 1) * 255).astype(np.uint8), mode="RGB")
    if face == "photo":
        return _encode(image.filter(ImageFilter.GaussianBlur(0.7)), int(rng.integers(70, 92)))
    return _encode(image)


def written_number(x_test, y_test, face: str, spacing: str, rng, digits: int | None = None) -> Case:
    """One number of 3-7 digits (or `digits`) written as people write, shown in `face`."""
    count = digits or int(rng.integers(3, 8))
    height = int(rng.integers(*HEIGHT))
    pen = PENS[0] if rng.random() < 0.5 else str(rng.choice(PENS[1:]))
    slant = rng.uniform(*SLANT) * rng.choice([-1, 1])
    digits = [_digit(x_test, y_test, rng, int(height * rng.uniform(1 - SIZE_SPREAD, 1 + SIZE_SPREAD)), pen, slant)
              for _ in range(count)]
    field, columns = _layout([ink for _, ink, _ in digits], spacing, height, rng)
    return Case(face, spacing, "".join(str(label) for label, _, _ in digits), _face(field, face, height, rng),
                columns, tuple(index for _, _, index in digits), pen,
                tuple((np.clip(ink, 0, 1) * 255).astype(np.uint8) for _, ink, _ in digits))


def whole_digits(case: Case, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """Per candidate box (in the picture's pixels, as `reading.prepare` gives them), whether it is one of the
    number's digits, whole: its left and right ends both within WHOLE_TOLERANCE of the digit height of where that
    digit's ink begins and ends (the digit height: the candidates' median)."""
    if not boxes:
        return np.zeros(0, dtype=bool)
    tolerance = _tolerance(boxes)
    return np.array([any(_ends_at(box, start, end, tolerance) for start, end in case.columns) for box in boxes])


def _tolerance(boxes: list[tuple[int, int, int, int]]) -> float:
    """WHOLE_TOLERANCE of the digit height (the boxes' median height), in pixels."""
    return WHOLE_TOLERANCE * float(np.median([box[3] - box[1] for box in boxes]))


def _ends_at(box: tuple[int, int, int, int], start: int, end: int, tolerance: float) -> bool:
    """Whether the box begins and ends within `tolerance` of where a digit's ink begins and ends."""
    return abs(box[0] - start) < tolerance and abs(box[2] - end) < tolerance


def read_all(cases: list[Case], predictor) -> list[reading.Reading]:
    """Every number read as the app reads it, without the decoded pictures (for `measure` and `causes` to share)."""
    return [replace(reading.read(case.payload, number=True, predictor=predictor), decoded=None) for case in cases]


def build(x_test, y_test, per_kind: int = 50, seed: int = 23, digits: int | None = None) -> list[Case]:
    """`per_kind` numbers for every face and spacing, reproducible from the seed. The segmentation was tuned on
    seed 23 and its weights are fitted on FIT_SEEDS; the tests and the benchmark use another (2026)."""
    rng = np.random.default_rng(seed)
    return [written_number(x_test, y_test, face, spacing, rng, digits)
            for face in FACES for spacing in SPACINGS for _ in range(per_kind)]


def pen_key(pen: str) -> str:
    """The key of a pen's figures in `measure`'s answer ("thin pen"), beside the faces'."""
    return f"{pen} pen"


def measure(cases: list[Case], predictor, readings: list[reading.Reading] | None = None) -> dict:
    """{(face, spacing): share of numbers read exactly}, plus ("all", spacing) over every face, (pen_key(pen),
    spacing) per pen over every face, and ("unsure", "wrong") and ("unsure", "right"): the share of the numbers read
    wrong, and of those read right, that show an orange box (a digit read with under 80 % confidence, or whose cut
    or join was a close call). `readings`: the cases' readings when already made (`read_all`)."""
    right: dict[tuple[str, str], list[bool]] = {}
    for case, read in zip(cases, readings or read_all(cases, predictor)):
        exact = (read.number or "") == case.number
        right.setdefault((case.face, case.spacing), []).append(exact)
        right.setdefault(("all", case.spacing), []).append(exact)
        right.setdefault((pen_key(case.pen), case.spacing), []).append(exact)
        right.setdefault(("unsure", "right" if exact else "wrong"), []).append(read.unsure)
    return {kind: sum(flags) / len(flags) for kind, flags in right.items()}


def with_a_misread_digit(cases: list[Case], x_test: np.ndarray, y_test: np.ndarray, predictor) -> dict[str, float]:
    """{spacing: share of the numbers holding an MNIST test digit that the network misreads in MNIST's own 28x28
    form}: numbers no segmentation, however good, lets this network read exactly (unless a pen's style happens to
    mend that digit). One minus it is about the ceiling to judge the exact share against."""
    used = np.array(sorted({index for case in cases for index in case.sources if index is not None}), dtype=int)
    read_as = np.concatenate([np.zeros(0, dtype=int)] + [  # a batch at a time: ONNX Runtime's memory grows with it
        predictor.predict_batch(preprocess.normalize_mnist(x_test[used[start: start + 128]])).argmax(axis=1)
        for start in range(0, len(used), 128)])
    misread = dict(zip(used.tolist(), read_as != y_test[used]))
    lost: dict[str, list[bool]] = {}
    for case in cases:
        lost.setdefault(case.spacing, []).append(any(misread[index] for index in case.sources if index is not None))
    return {spacing: sum(flags) / len(flags) for spacing, flags in lost.items()}


def alone_field(ink: np.ndarray) -> np.ndarray:
    """A written digit (ink as floats, 1 is ink) normalised alone, as a number's digit is: the 28x28 field the network
    would read were the digit written by itself."""
    ink = np.pad(ink, 4)
    return preprocess.to_mnist_field((np.clip(ink, 0, 1) * 255).astype(np.uint8), ink > preprocess.MASK_LEVEL)


CAUSES = ("a digit lost or added", "a digit cut wrong", "a digit misread, alone too",
          "a digit misread in the number only")


def cause(case: Case, read: reading.Reading, predictor) -> str | None:
    """Why a number was read wrong (None: it was read right), the first of CAUSES that holds: it has too few or too
    many digits; a digit's box does not begin and end where its ink does (within WHOLE_TOLERANCE of the number's
    digit height); a digit is misread that the network also misreads written alone with the same pen; or only in the
    number (every misread digit is read right alone: the picture, the ink found or the neighbours made the
    difference)."""
    if (read.number or "") == case.number:
        return None
    if len(read.digits) != len(case.number):
        return CAUSES[0]
    boxes = [digit.box for digit in read.digits]
    tolerance = _tolerance(boxes)
    if not all(_ends_at(box, start, end, tolerance) for box, (start, end) in zip(boxes, case.columns)):
        return CAUSES[1]
    misread = [k for k, digit in enumerate(read.digits) if digit.digit != int(case.number[k])]
    alone = predictor.predict_batch(preprocess.to_batch(
        [alone_field(case.inks[k].astype(np.float32) / 255.0) for k in misread])).argmax(axis=1)
    return CAUSES[2] if all(int(a) != int(case.number[k]) for a, k in zip(alone, misread)) else CAUSES[3]


def causes(cases: list[Case], predictor, readings: list[reading.Reading] | None = None
           ) -> dict[tuple[str, str, str], int]:
    """Where the numbers read wrong come from: {(spacing, pen_key(pen) or "all", cause): numbers read wrong for that
    cause (CAUSES)}, with "written" for how many numbers there were (`scripts/bench_numbers.py --causes`).
    `readings`: the cases' readings when already made (`read_all`)."""
    counted: dict[tuple[str, str, str], int] = {}
    for case, read in zip(cases, readings or read_all(cases, predictor)):
        why = cause(case, read, predictor)
        for group in (pen_key(case.pen), "all"):
            for kind in ("written", why) if why else ("written",):
                counted[(case.spacing, group, kind)] = counted.get((case.spacing, group, kind), 0) + 1
    return counted


def format_causes(counted: dict[tuple[str, str, str], int]) -> str:
    """`causes` as a table: per spacing and pen, the numbers written, read wrong, and read wrong for each cause."""
    heads = ("lost/added", "cut wrong", "misread alone too", "misread in number")
    lines = [f"{'spacing':<9} {'pen':<12} {'numbers':>8} {'wrong':>6} " + " ".join(f"{head:>17}" for head in heads)]
    for spacing in SPACINGS:
        for group in (*map(pen_key, PENS), "all"):
            written = counted.get((spacing, group, "written"), 0)
            if written:
                wrong = [counted.get((spacing, group, why), 0) for why in CAUSES]
                lines.append(f"{spacing:<9} {group:<12} {written:>8,} {sum(wrong):>6} "
                             + " ".join(f"{count:>17}" for count in wrong))
    return "\n".join(lines)


def interval(share: float, count: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval (95 % for z = 1.96) for a share measured on `count` numbers: where the share of all
    such numbers lies, given how many were read. Unlike share +- z x its standard error it stays inside [0, 1] and
    is not zero wide at a share of 0 or 1."""
    if count <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * count)) / (1 + z * z / count)
    half = z / (1 + z * z / count) * np.sqrt(share * (1 - share) / count + z * z / (4 * count * count))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def format_table(figures: dict, counts: dict | None = None) -> str:
    """The shares read exactly, per face and over every face, then per pen (with how many numbers each pen wrote
    when `counts` gives {(pen_key(pen), spacing): numbers}: half the numbers are written as MNIST wrote them, a
    sixth with each other pen)."""
    lines = [f"{'face':<12} " + " ".join(f"{spacing:>9}" for spacing in SPACINGS)]
    for face in (*FACES, "all"):
        lines.append(f"{face:<12} " + " ".join(f"{figures.get((face, s), float('nan')):>9.1%}" for s in SPACINGS))
    lines.append(f"{'pen':<12} " + " ".join(f"{spacing:>9}" for spacing in SPACINGS))
    for pen in map(pen_key, PENS):
        lines.append(f"{pen:<12} " + " ".join(f"{figures.get((pen, s), float('nan')):>9.1%}" for s in SPACINGS)
                     + ("  (" + ", ".join(f"{counts.get((pen, s), 0):,}" for s in SPACINGS) + " numbers)"
                        if counts else ""))
    return "\n".join(lines)


@dataclass
class Candidates:
    """A written number's candidate digits as the segmentation found them, read by the network."""

    case: Case
    lattice: segment.Lattice | None  # None: no ink found
    features: np.ndarray | None  # per candidate, `segment.Lattice.features`
    labels: np.ndarray | None  # per candidate, the likeliest digit

    def _lattice(self, skip: float) -> segment.Lattice:
        """The lattice with `skip` as the score of leaving out an atom that may be left out."""
        return replace(self.lattice, skips=[skip if allowed > -np.inf else -np.inf for allowed in self.lattice.skips])

    def left_out(self, chosen: list[int]) -> int:
        """How many atoms a reading of these candidates leaves out."""
        return self.lattice.nodes - 1 - sum(j - i for i, j in (self.lattice.spans[index] for index in chosen))

    def reading(self, weights: np.ndarray, skip: float) -> tuple[str, list[int]]:
        if self.lattice is None:
            return "", []
        _, chosen = self._lattice(skip).best(self.features @ weights)
        return "".join(str(self.labels[index]) for index in chosen), chosen

    def spelled(self, weights: np.ndarray, skip: float) -> list[int] | None:
        """The best-scoring run of candidates whose digits spell the true number (None if the candidates have
        none: the right cut was never tried, or a digit is misread wherever it is cut)."""
        lattice, number = self._lattice(skip), self.case.number
        best = np.full((lattice.nodes, len(number) + 1), -np.inf)
        best[0, 0] = 0.0
        came: dict[tuple[int, int], int] = {}
        scores = self.features @ weights
        ending: dict[int, list[int]] = {}
        for index, (_, j) in enumerate(lattice.spans):
            ending.setdefault(j, []).append(index)
        for j in range(1, lattice.nodes):
            skipped = best[j - 1] + lattice.skips[j - 1]
            for k in np.flatnonzero(skipped > best[j]):
                best[j, k], came[(j, int(k))] = skipped[k], -1
            for index in ending.get(j, []):
                i = lattice.spans[index][0]
                for k, digit in enumerate(number):
                    if self.labels[index] == int(digit) and best[i, k] + scores[index] > best[j, k + 1]:
                        best[j, k + 1], came[(j, k + 1)] = best[i, k] + scores[index], index
        if best[-1, -1] == -np.inf:
            return None
        chosen, node, k = [], lattice.nodes - 1, len(number)
        while node > 0:
            index = came[(node, k)]
            if index == -1:
                node -= 1
                continue
            chosen.append(index)
            node, k = lattice.spans[index][0], k - 1
        return chosen[::-1]


def read_candidates(cases: list[Case], predictor) -> list[Candidates]:
    """Each number's candidates and the network's reading of every one (for fitting the segmentation's weights)."""
    found = []
    for case in cases:
        prepared = reading.prepare(case.payload, number=True)
        if prepared.lattice is None or not prepared.fields:
            found.append(Candidates(case, None, None, None))
            continue
        lattice, kept, whole = reading.worth_reading(prepared)
        raw = predictor.predict_batch(preprocess.to_batch([prepared.fields[k] for k in kept]))
        found.append(Candidates(case, lattice, lattice.features(raw, whole), raw.argmax(axis=1)))
    return found


def exact_share(items: list[Candidates], weights: np.ndarray, skip: float) -> dict[str, float]:
    """{spacing: share of numbers whose best reading under `weights` and `skip` is the true number} (before the
    network's refusal of pieces that are no digit, which `measure` includes)."""
    right: dict[str, list[bool]] = {}
    for item in items:
        right.setdefault(item.case.spacing, []).append(item.reading(weights, skip)[0] == item.case.number)
    return {spacing: float(np.mean(flags)) for spacing, flags in right.items()}


def fit_weights(items: list[Candidates], start: np.ndarray, start_skip: float, epochs: int = 12, rate: float = 0.03,
                seed: int = 0) -> tuple[np.ndarray, float]:
    """The weights of the segmentation's features, and the score of leaving out a fragment, that read the most
    numbers right: an averaged structured perceptron (Collins, 2002). For each number read wrong whose candidates
    can spell it, the weights move towards the features of the best reading that spells it and away from those of
    the reading chosen (leaving an atom out counts as a feature of the reading). The weight of the log-probability
    stays 1 (the scores keep the scale of log-probabilities, on which UNSURE_CUT is chosen)."""
    weights = np.append(start.astype(np.float64), start_skip)
    total, steps = np.zeros(len(weights)), 0
    order = np.arange(len(items))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            item = items[index]
            if item.lattice is not None:
                read, chosen = item.reading(weights[:-1], weights[-1])
                spelled = None if read == item.case.number else item.spelled(weights[:-1], weights[-1])
                if spelled is not None:
                    weights[:-1] += rate * (item.features[spelled].sum(axis=0) - item.features[chosen].sum(axis=0))
                    weights[-1] += rate * (item.left_out(spelled) - item.left_out(chosen))
                    weights[0] = start[0]
            total += weights
            steps += 1
    average = total / steps
    return average[:-1], float(average[-1])
