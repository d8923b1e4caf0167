"""One way in: every image -- upload, camera, URL, canvas, command line -- is read the same way.

`read(source, number=False)` decodes the image and finds its ink once, labels its strokes once
(`mnist_app.images.preprocess`), groups them into digits (one group for a single digit; `mnist_app.images.segment`
for a whole number), normalises each digit the MNIST way, predicts all of them in one batch and
calibrates them in one place. A single digit is a one-digit number.

The work is split where batches need it: `prepare()` is the per-image part (worker processes run it
for the command line's batches, see `mnist_app.serving.batch`), `read_prepared()` predicts many prepared
images in one batch.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_app import config
from mnist_app.images import explain, preprocess, segment, wholeness
from mnist_app.network import inference

UNSURE_BELOW = 0.80  # a digit read with less confidence than this is flagged "not sure"
MAX_DIGIT_ASPECT = 2.5  # ink over 2.5 times wider than tall is several characters (1 MNIST digit in 12,000 is)
Box = tuple[int, int, int, int]


def a_digit(digit: int) -> str:
    """"a 7", "an 8": a digit named in a sentence."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


@dataclass
class Prepared:
    """An image made ready for the model: one 28x28 field per digit, or the reason there is none."""

    fields: list[np.ndarray]  # float32 (28, 28) each, ink = 1 on 0: what the model will see
    boxes: list[Box]  # each digit's (x0, y0, x1, y1) in the input's pixels
    decoded: preprocess.Decoded | None  # the input as read (None once sent between processes)
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # why there is no digit (blank, noise, fully transparent, ...)
    number: bool = False  # read as a whole number
    lattice: segment.Lattice | None = None  # a number's candidate digits: `fields` holds one per candidate

    @property
    def has_digit(self) -> bool:
        return bool(self.fields)

    @property
    def model_input(self) -> np.ndarray | None:
        """The first (for a single digit: the only) digit's 28x28 field."""
        return self.fields[0] if self.fields else None

    @property
    def display(self) -> Image.Image | None:
        return None if self.decoded is None else self.decoded.display

    def slim(self) -> Prepared:
        """The same without the decoded picture (cheap to send between processes)."""
        return Prepared(self.fields, self.boxes, None, self.notes, self.reason, self.number, self.lattice)


def prepare(source, *, number: bool = False) -> Prepared:
    """Decode, find the ink, group it into digits and normalise each one (ImageError if unreadable)."""
    found = preprocess.find_ink(source, number=number)
    decoded = found.decoded
    if found.reason:
        reason = found.reason.replace("no digit", "no number") if number else found.reason
        return Prepared([], [], decoded, decoded.notes, reason, number)
    if number:  # each candidate's mask covers its box only
        parts, lattice = segment.candidates(found.strokes)
        normalised = {}  # candidates of the same ink in the same box (a cut with no ink between two others) share one
        keys = [(*box, mask.tobytes()) for mask, box in parts]
        for key, (mask, (x0, y0, x1, y1)) in zip(keys, parts):
            if key not in normalised:
                normalised[key] = preprocess.to_mnist_field(found.ink[y0:y1, x0:x1], mask, (0, 0, x1 - x0, y1 - y0))
        fields = [normalised[key] for key in keys]
        return Prepared(fields, [found.to_original(box) for _, box in parts], decoded, decoded.notes, None, number,
                        lattice)
    # every kept stroke belongs to the one digit; a small one is read again at full resolution
    box = preprocess.tight_box(found.mask, found.strokes.box())
    if box[2] - box[0] > MAX_DIGIT_ASPECT * (box[3] - box[1]):
        return Prepared([], [], decoded, decoded.notes, "no digit found: this looks like several characters side "
                        "by side (to read a number, use whole-number mode)", number)
    fine = found.refined(box)
    part, box = (found, box) if fine is None else (fine, preprocess.tight_box(fine.mask, fine.strokes.box()))
    return Prepared([preprocess.to_mnist_field(part.ink, part.mask, box)], [part.to_original(box)], decoded,
                    decoded.notes, None, number)


@dataclass(eq=False)  # a digit is itself: compared by identity, not by its arrays
class Digit:
    """One digit as the model read it."""

    probabilities: np.ndarray  # the 10 calibrated class probabilities
    raw_probabilities: np.ndarray  # the network's own output, before calibration
    model_input: np.ndarray  # the 28x28 image the model saw
    box: Box  # (x0, y0, x1, y1) in the input's pixels

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])

    cut_unsure: bool = False  # a number's digit whose cut or join the model was unsure of (another reading was close)

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW or self.cut_unsure

    def top(self, k: int = 10) -> list[tuple[int, float]]:
        """The k most likely digits with their probabilities, most likely first."""
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def why(self, predictor: inference.Predictor) -> np.ndarray:
        """The why-this-digit occlusion map (28x28, 0..1), computed once per digit."""
        if self._why is None:
            self._why = explain.occlusion_map(predictor, self.model_input, self.digit)
        return self._why

    _why: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)


@dataclass
class Reading:
    """What was read from one image: its digits, left to right (none, with a reason, when there is none)."""

    digits: list[Digit]
    decoded: preprocess.Decoded | None = None
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    whole_number: bool = False  # read as a whole number (else as one digit)
    rejected: list[Digit] = field(default_factory=list)  # pieces the decision found not to be digits

    @property
    def has_digit(self) -> bool:
        return bool(self.digits)

    @property
    def blank(self) -> bool:
        """Whether nothing was read because the image holds no ink at all (an empty canvas), rather than ink that
        is not a digit."""
        return self.reason is not None and self.reason.startswith(preprocess.BLANK)

    @property
    def number(self) -> str | None:
        """The digits read, as text ("2026"), or None."""
        return "".join(str(d.digit) for d in self.digits) or None

    @property
    def first(self) -> Digit | None:
        return self.digits[0] if self.digits else None

    # A single digit's figures, read off its only digit (None when there is none).
    digit = property(lambda self: self.first and self.first.digit)
    confidence = property(lambda self: self.first and self.first.confidence)
    probabilities = property(lambda self: self.first and self.first.probabilities)
    raw_probabilities = property(lambda self: self.first and self.first.raw_probabilities)
    model_input = property(lambda self: self.first and self.first.model_input)
    box = property(lambda self: self.first and self.first.box)

    @property
    def lowest_confidence(self) -> float | None:
        return min(d.confidence for d in self.digits) if self.digits else None

    @property
    def unsure(self) -> bool:
        return any(d.unsure for d in self.digits)

    def top(self, k: int = 10) -> list[tuple[int, float]]:
        return self.first.top(k) if self.first else []

    @property
    def display(self) -> Image.Image | None:
        """The input as an RGB picture (built on first use), or None."""
        return None if self.decoded is None else self.decoded.display

    @functools.cached_property
    def annotated(self) -> Image.Image | None:
        """The input picture with a box and the predicted digit drawn over every digit."""
        return None if self.decoded is None else annotate(self.display, self.decoded.original_size, self.digits)

    def as_dict(self) -> dict:
        """JSON-ready form: the command line's `predict --json` contract (digit or --number); an answer with
        no digit carries the reason."""
        if self.whole_number:
            answer = {"number": self.number,
                      "digits": [{"digit": d.digit, "confidence": round(d.confidence, 6), "box": list(d.box)}
                                 for d in self.digits]}
        else:
            answer = {"digit": self.digit,
                      "confidence": None if self.confidence is None else round(self.confidence, 6),
                      "probabilities": None if self.probabilities is None else [round(float(p), 6)
                                                                                for p in self.probabilities]}
        return answer if self.has_digit else {**answer, "reason": self.reason}


def worth_reading(number: Prepared) -> tuple[segment.Lattice, list[int], np.ndarray]:
    """A number's lattice of the candidates worth the classifier's time (those the whole-digit network does not rule
    out: `segment.Lattice.worth_reading`), their indices among its fields, and their whole-digit log-odds."""
    whole = wholeness.log_odds(number.fields)
    lattice, kept = number.lattice.worth_reading(whole)
    return lattice, kept, whole[kept]


def read_prepared(prepared: list[Prepared], predictor: inference.Predictor) -> list[Reading]:
    """Predict every digit of many prepared images in one batch (numbers: two), calibrate them, and decide.

    A number's candidates are read in two batches: first those of the reading their bounds (`segment.Lattice.bounds`,
    the best score each could get) put first, then those that may still matter once that reading's real score is
    known (`segment.Lattice.still_needed`); the rest could change neither the reading nor its orange boxes. Each
    distinct field is read once (candidates of the same ink share one, see `prepare`).

    The decision is the same for every face: a piece whose most likely digit gets less of the network's
    probability than `predictor.reject_below` (fitted by mnist_app.measure.decision) is not a digit. A single digit
    then reads "no digit found" with the reason; a number leaves such pieces out and says so.
    """
    # per image: its lattice, which of its fields the classifier may read, and their whole-digit log-odds
    plans = [worth_reading(item) if item.lattice is not None and item.fields else
             (None, list(range(len(item.fields))), None) for item in prepared]
    raws = [np.zeros((len(kept), config.NUM_CLASSES), np.float32) for _, kept, _ in plans]
    done = [np.zeros(len(kept), bool) for _, kept, _ in plans]
    bounds = [None if lattice is None else lattice.bounds(whole) for lattice, _, whole in plans]
    wanted = [list(range(len(kept))) if lattice is None else lattice.best(bound)[1]
              for (lattice, kept, _), bound in zip(plans, bounds)]
    shared = [preprocess.distinct([item.fields[k] for k in kept])[1] for item, (_, kept, _) in zip(prepared, plans)]
    while any(wanted):
        wanted = [list({field_of[k]: k for k in chosen}.values()) for field_of, chosen in zip(shared, wanted)]
        fields = [item.fields[kept[k]] for item, (_, kept, _), chosen in zip(prepared, plans, wanted) for k in chosen]
        answers = iter(predictor.predict_batch(preprocess.to_batch(fields)))
        for raw, read, chosen, field_of in zip(raws, done, wanted, shared):
            for k in chosen:  # the answer for a field is the answer for every candidate that shares it
                same = field_of == field_of[k]
                raw[same], read[same] = next(answers), True
        wanted = [[] if lattice is None else
                  lattice.still_needed(np.where(read, lattice.scores(raw, whole), bound), read)
                  for (lattice, _, whole), raw, read, bound in zip(plans, raws, done, bounds)]
    readings = []
    for item, (lattice, kept, whole), raw, read in zip(prepared, plans, raws, done):
        order = np.flatnonzero(read)  # the candidates read, among those kept
        raw = raw[order]
        calibrated = predictor.calibrated(raw)
        digits = [Digit(calibrated[i], raw[i], item.fields[kept[k]], item.boxes[kept[k]]) for i, k in enumerate(order)]
        if lattice is not None and digits:  # a number: the run of candidates the model is most sure of
            lattice = lattice.subset(list(order))
            chosen, unsure = lattice.best_path(lattice.scores(raw, whole[order]), raw.argmax(axis=1))
            digits = [digits[index] for index in chosen]
            for digit, doubtful in zip(digits, unsure):
                digit.cut_unsure = doubtful
        readings.append(_decided(Reading(digits, item.decoded, item.notes, item.reason, item.number), predictor))
    return readings


def _decided(shown: Reading, predictor: inference.Predictor) -> Reading:
    """The reading with the pieces that are not digits taken out, and the reason."""
    kept = [digit for digit in shown.digits if float(digit.raw_probabilities.max()) >= predictor.reject_below]
    if len(kept) == len(shown.digits):
        return shown
    left_out = [digit for digit in shown.digits if digit not in kept]
    closest = max(left_out, key=lambda digit: float(digit.raw_probabilities.max()))
    guess = (f"the closest digit, {a_digit(int(np.argmax(closest.raw_probabilities)))}, scores only "
             f"{float(closest.raw_probabilities.max()):.0%}")
    if not shown.whole_number:
        return Reading([], shown.decoded, shown.notes, f"no digit found: this does not look like a digit ({guess})",
                       rejected=left_out)
    if not kept:
        return Reading([], shown.decoded, shown.notes, f"no number found: none of its pieces looks like a digit "
                       f"({guess})", True, rejected=left_out)
    note = ("a piece that does not look like a digit was left out" if len(left_out) == 1 else
            f"{len(left_out)} pieces that do not look like digits were left out")
    return Reading(kept, shown.decoded, [*shown.notes, note], None, True, rejected=left_out)


def read(source, *, predictor: inference.Predictor, number: bool = False) -> Reading:
    """Read one image with `predictor`: a digit, or with `number=True` a whole number (ImageError if it cannot
    be read). The dashboard passes the process-wide predictor of `mnist_app.serving.service`."""
    return read_prepared([prepare(source, number=number)], predictor)[0]


def annotate(display: Image.Image, original_size: tuple[int, int], digits: list[Digit]) -> Image.Image:
    """The picture with a box and the predicted digit drawn over every digit (green; orange when unsure). Each
    label sits above its box; when a box starts too near the top for that, a band is added above the picture
    (never a label over the ink, nor one cut off at an edge)."""
    picture = display.convert("RGB")
    scale = picture.width / max(1, original_size[0])
    font = ImageFont.load_default(size=max(14, picture.height // 9))
    boxes = [tuple(round(v * scale) for v in reading.box) for reading in digits]
    probe = ImageDraw.Draw(picture).textbbox((0, 0), "0", font=font)
    height = probe[3] - probe[1] + 4
    band = height if any(box[1] < height for box in boxes) else 0
    framed = Image.new("RGB", (picture.width, picture.height + band), picture.getpixel((0, 0)))
    framed.paste(picture, (0, band))
    draw = ImageDraw.Draw(framed)
    for reading, (x0, y0, x1, y1) in zip(digits, boxes):
        y0, y1 = y0 + band, y1 + band
        colour = (240, 130, 0) if reading.unsure else (46, 160, 67)
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=max(2, picture.width // 200))
        label_box = draw.textbbox((x0, y0), str(reading.digit), font=font)
        top = y0 - height
        draw.rectangle([x0, top, x0 + label_box[2] - label_box[0] + 6, top + height], fill=colour)
        draw.text((x0 + 3, top + 1 - (label_box[1] - y0)), str(reading.digit), fill=(255, 255, 255), font=font)
    return framed
