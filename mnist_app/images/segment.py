"""Whole numbers: which ink makes up which digit, decided with the classifier (recognition-driven segmentation).

The strokes' connected pieces, labelled once by `mnist_app.images.preprocess.find_strokes`, are grouped: pieces of
one broken digit (a 5's detached top bar, a 4 drawn in two strokes) are merged when they overlap horizontally,
are small and close, or sit one above the other. A piece wider than most digits may be several touching digits:
candidate cuts go down through it where its columns hold little ink, where evenly wide digits would meet and every
CUT_GRID of the digit height across it, crossing few strokes. The pieces and the parts between cuts are the *atoms*
of a `Lattice`: every run of atoms that could be one digit is a candidate. A small whole-digit network
(`mnist_app.images.wholeness`) first says how likely each candidate is to be one whole digit rather than half of
one, two touching ones or a digit with a sliver of its neighbour; the candidates it rules out (`PRUNE_BELOW`) are not
read further (`Lattice.worth_reading`). The classifier reads the rest in two batches, those the reading's bounds put
first and then only those that may still matter (`reading.read_prepared`), and the reading kept is the run of
candidates across the whole number with the highest total score (`Lattice.best_path`). A candidate's score weighs
what the networks say of it (the log-probability of its likeliest digit, by how much that digit beats the runner-up,
the whole-digit log-odds) against its shape in the number (its width, its height and how far it sits off the
number's middle line, against the number's own digit height) and what its cuts cost; the weights (WEIGHTS) are
fitted on written numbers by `scripts/fit_segmentation.py`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import cv2
import numpy as np

from mnist_app.images import preprocess, wholeness

MERGE_OVERLAP = 0.5  # horizontal overlap, as a share of the narrower piece, that makes two pieces one digit
SMALL_PIECE = 0.4  # a piece shorter than this share of the typical digit height ...
SMALL_GAP = 0.25  # ... and closer than this share of it to a digit belongs to that digit
STACKED_PIECE = 0.8  # two pieces both shorter than this share, one above the other, are one broken digit
SPLIT_WIDTH = 0.6  # a piece wider than this share of the number's digit height may be several touching digits ...
MAX_CUT_STROKES = 4.5  # ... cut along a path that crosses no more ink than this many strokes' width ...
MAX_CUT_RUNS = 4  # ... in at most this many separate strokes
WIDE_PIECE = 0.9  # a cut in a piece no wider than this share is a feature of its own: such a piece is most often
# one digit, a 1 joined to its neighbour less often
MIN_PART = 0.15  # no cut nearer than this share of the digit height to a piece's end or to another cut
MAX_CUTS = 10  # per piece, and no more than one per CUT_SPACING of the digit height across it
CUT_SPACING = 0.3
CUT_GRID = 0.15  # cuts are also tried every this share of the digit height across a piece (4 meeting 9 at a bar)
PATH_REACH = 0.015  # a cut's path strays at most this share of the digit height from where it starts
TYPICAL_WIDTH = 0.7  # of the digit height: where no column is thin, cuts are also tried where such digits meet
MAX_DIGIT_WIDTH = 1.3  # a candidate of several atoms wider than this share of the digit height is not one digit
MAX_JOIN_GAP = 0.25  # pieces further apart than this share of the digit height are never one digit
MAX_ATOMS = 6  # atoms in one candidate digit (a whole piece may have more)
SLIVER = 0.12  # in a cut-out part, ink smaller than this share of its largest piece is a neighbour's sliver
WIDEST_DIGIT = 0.95  # width / height: the widest single digits (a round 0) ...
NARROWEST_DIGIT = 0.1  # ... and the narrowest (a 1 is about 0.2)
MARGIN_CAP = 12.0  # log-odds between the two likeliest digits beyond which a candidate loses nothing
FRAGMENT = 0.45  # an atom smaller than this share of the digit height either way may be left out ...
SKIP_SCORE = -0.685  # ... at this score
PRUNE_BELOW = -8.0  # whole-digit log-odds under which a candidate is not worth the classifier's time
# Score: another number read without this cut or join within this makes it unsure. Chosen on the held-out seed
# (2026-12-03): orange boxes on 77.5 % of the numbers read wrong and 49 % of those read right (0.3: 68 % and 22 %).
UNSURE_CUT = 0.5
MAX_DIGITS = 24
FEATURES = ("log-probability", "margin", "shape prior", "cut", "more strokes cut", "cut in a narrow piece", "digit",
            "atoms joined", "shorter", "taller", "off the line", "whole digit")
# Fitted by `python -m scripts.fit_segmentation` on the written numbers of `numbers.FIT_SEEDS` (2026-12-03), from the
# previous fit with 0 for the whole-digit feature; run again from these (also once PRUNE_BELOW was in place), it moves
# the held-out figures by under 0.3 pt (not taken).
WEIGHTS = np.array([1.000, -0.006, 0.141, -0.007, -0.004, -0.049, -0.506, -0.543, -0.206, 0.015, -0.299, 0.210])

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


@dataclass
class Lattice:
    """The candidate digits of a whole number, for recognition-driven segmentation.

    The number's ink is cut into *atoms*, left to right: its pieces (grouped as above) and, inside a piece too
    wide for one digit, the parts between candidate cuts. Node k lies between atom k-1 and atom k (node 0 before
    the first, node `nodes - 1` after the last). A candidate digit is a run of atoms, from node i to node j: a
    piece, part of a touching piece, or pieces put back together. The classifier scores every candidate;
    `best_path` keeps the run of candidates across the whole number that it is most sure of.
    """

    nodes: int
    spans: list[tuple[int, int]]  # per candidate (in the order of its field): from node i to node j
    cuts: list[bool]  # per node: True where it is a cut through ink, False between separate pieces
    priors: list[float]  # per candidate: the log-prior of its shape (`shape_prior`)
    runs: list[int]  # per node: how many strokes a cut there crosses (0 between pieces)
    narrow: list[bool]  # per node: whether it is a cut in a piece no wider than one wide digit (WIDE_PIECE)
    heights: list[float]  # per candidate: its height, as a share of the number's digit height
    offsets: list[float]  # per candidate: how far its middle lies off the number's middle line, in digit heights
    skips: list[float]  # per atom: the score of leaving it out (a fragment: a speck, a sliver of a cut), or -inf

    def features(self, probabilities: np.ndarray, whole: np.ndarray) -> np.ndarray:
        """What each candidate's score is made of: one row per candidate, one column per name in FEATURES.
        `probabilities`: the classifier's, per candidate; `whole`: the whole-digit network's log-odds that the
        candidate is one whole digit (`wholeness.log_odds`)."""
        top2 = np.maximum(np.sort(probabilities, axis=1)[:, -2:], 1e-9)
        # How far the likeliest digit stands out from the runner-up (log-odds, counted up to MARGIN_CAP): the
        # network's probability saturates near 1 for real digits and for fragments alike; this does not.
        margin = np.minimum(np.log(top2[:, 1] / top2[:, 0]), MARGIN_CAP) / MARGIN_CAP
        ends = [j for _, j in self.spans]  # a cut is paid by the digit before it
        runs = np.asarray([self.runs[j] for j in ends], dtype=np.float64)
        cut = (runs > 0).astype(np.float64)
        narrow = np.asarray([self.narrow[j] for j in ends], dtype=np.float64) * cut
        joined = np.asarray([j - i - 1 for i, j in self.spans], dtype=np.float64)
        tall = np.log(self.heights)
        return np.column_stack([np.log(top2[:, 1]), margin - 1.0, self.priors, cut, np.maximum(runs - 1, 0), narrow,
                                np.ones(len(ends)), joined, np.square(np.minimum(tall, 0.0)),
                                np.square(np.maximum(tall, 0.0)), np.square(self.offsets),
                                np.asarray(whole, dtype=np.float64) / wholeness.LOGIT_CAP])

    def worth_reading(self, whole: np.ndarray) -> tuple[Lattice, list[int]]:
        """The lattice of the candidates that the whole-digit network does not rule out (log-odds `whole` at least
        PRUNE_BELOW), and their indices: the classifier reads only those. All of them, when without the ruled-out
        ones no reading would reach across the number."""
        kept = [index for index, odds in enumerate(whole) if odds >= PRUNE_BELOW]
        lattice = self.subset(kept)
        if lattice.best(np.zeros(len(kept)))[0] == -np.inf:
            return self, list(range(len(self.spans)))
        return lattice, kept

    def subset(self, kept: list[int]) -> Lattice:
        """The lattice of the candidates `kept` (indices) only, in that order."""
        return replace(self, spans=[self.spans[k] for k in kept], priors=[self.priors[k] for k in kept],
                       heights=[self.heights[k] for k in kept], offsets=[self.offsets[k] for k in kept])

    def bounds(self, whole: np.ndarray) -> np.ndarray:
        """The highest score each candidate can get, whatever the classifier says of it: its score were its
        likeliest digit certain (log-probability 0) and the margin feature at its best. A reading scores at most the
        sum of its candidates' bounds."""
        rows = self.features(np.ones((len(self.spans), 2)), whole)  # the classifier's two columns are set here:
        rows[:, 0] = 0.0 if WEIGHTS[0] >= 0 else -np.inf  # a log-probability lies in (-inf, 0] (its weight is 1)
        rows[:, 1] = -1.0 if WEIGHTS[1] < 0 else 0.0  # margin - 1 lies in [-1, 0]
        return rows @ WEIGHTS

    def still_needed(self, scores: np.ndarray, read: np.ndarray) -> list[int]:
        """The candidates not read yet (`read` False) that may still be part of the best reading, or of one within
        UNSURE_CUT of it; `scores` holds the score of each candidate read and the bound (`bounds`) of the others.
        Any reading through one of the rest scores less than the best reading already known, less UNSURE_CUT,
        whatever the classifier would say: leaving them unread changes neither the reading nor its orange boxes."""
        floor = self.best(np.where(read, scores, -np.inf))[0] - UNSURE_CUT
        ahead, behind = self._forward(scores)[0], self._backward(scores)
        return [index for index, (i, j) in enumerate(self.spans)
                if not read[index] and ahead[i] + scores[index] + behind[j] >= floor]

    def scores(self, probabilities: np.ndarray, whole: np.ndarray) -> np.ndarray:
        """Each candidate's score: its FEATURES weighted by WEIGHTS. The log-probability's weight
        is 1, so a score is a log-probability less what the rest costs: a candidate the network is less sure
        of than of its runner-up, a shape unlike one digit's in this number, a cut (the classifier reads the
        halves of a 0 cut open about as confidently as two real digits; the whole-digit network less so)."""
        return self.features(probabilities, whole) @ WEIGHTS

    def best_path(self, scores: np.ndarray, digits: np.ndarray) -> tuple[list[int], list[bool]]:
        """The candidates (indices) of the most probable reading of the whole number -- the largest sum of the
        scores of its digits -- and for each cut or joined one, whether a reading without it that reads another
        number comes within UNSURE_CUT (the model is unsure of that cut or join). `digits`: each candidate's
        likeliest digit. A reading that only moves a cut a little and reads the same number casts no doubt."""
        best, chosen = self.best(scores)
        number = [int(digits[index]) for index in chosen]
        unsure = []
        for index in chosen:
            i, j = self.spans[index]
            decided = j - i > 1 or self.cuts[i] or self.cuts[j]
            unsure.append(decided and best - self._best_other(scores, digits, number, index) < UNSURE_CUT)
        return chosen, unsure

    def _best_other(self, scores: np.ndarray, digits: np.ndarray, number: list[int], banned: int) -> float:
        """The score of the best reading without candidate `banned` that does not read `number`: a path through
        the lattice in which each node's state is how many of the number's digits the reading still matches, or
        that it went its own way. (Plain Python: a few nodes by a few digits, numpy's per-call cost would
        dominate.)"""
        low, count = -np.inf, len(number)
        matched = [[low] * (count + 1) for _ in range(self.nodes)]  # [node][digits of `number` read so far]
        matched[0][0] = 0.0
        diverged = [low] * self.nodes  # [node]: the reading there is no longer a start of `number`
        ending = [[] for _ in range(self.nodes)]
        for index, (i, j) in enumerate(self.spans):
            if index != banned:
                ending[j].append((i, float(scores[index]), int(digits[index])))
        for j in range(1, self.nodes):
            skip = self.skips[j - 1]
            here = [value + skip for value in matched[j - 1]]
            went = diverged[j - 1] + skip
            for i, score, digit in ending[j]:
                went = max(went, diverged[i] + score)
                for k, value in enumerate(matched[i]):
                    if k < count and number[k] == digit:
                        here[k + 1] = max(here[k + 1], value + score)
                    else:
                        went = max(went, value + score)
            matched[j], diverged[j] = here, went
        return float(max(diverged[-1], *matched[-1][:-1]))

    def best(self, scores: np.ndarray) -> tuple[float, list[int]]:
        """The highest total score of a reading of the whole number, and its candidates (indices), left to right."""
        total, came = self._forward(scores)
        chosen, node = [], self.nodes - 1
        while node > 0 and came[node] != -1:
            if came[node] == -2:
                node -= 1
                continue
            chosen.append(came[node])
            node = self.spans[came[node]][0]
        return float(total[-1]), chosen[::-1]

    def _forward(self, scores: np.ndarray) -> tuple[list[float], list[int]]:
        """Per node, the highest score of a reading from the number's start to it, and the candidate it came by
        (-1: none yet, -2: the atom before it left out)."""
        total, came = [-np.inf] * self.nodes, [-1] * self.nodes
        total[0] = 0.0
        ending = [[] for _ in range(self.nodes)]
        for index, (_, j) in enumerate(self.spans):
            ending[j].append(index)
        for j in range(1, self.nodes):
            if total[j - 1] + self.skips[j - 1] > total[j]:  # atom j - 1 left out
                total[j], came[j] = total[j - 1] + self.skips[j - 1], -2
            for index in ending[j]:
                i = self.spans[index][0]
                if total[i] + scores[index] > total[j]:
                    total[j], came[j] = total[i] + scores[index], index
        return total, came

    def _backward(self, scores: np.ndarray) -> list[float]:
        """Per node, the highest score of a reading from it to the number's end."""
        total = [-np.inf] * self.nodes
        total[-1] = 0.0
        starting = [[] for _ in range(self.nodes)]
        for index, (i, _) in enumerate(self.spans):
            starting[i].append(index)
        for i in range(self.nodes - 2, -1, -1):
            total[i] = total[i + 1] + self.skips[i]
            for index in starting[i]:
                total[i] = max(total[i], total[self.spans[index][1]] + scores[index])
        return total


def _path(mask: np.ndarray, box: Box, column: int, reach: int) -> tuple[np.ndarray, int, int]:
    """The cheapest way down through a piece near `column`: for each row of the box, the column where the cut
    passes, moving at most one column per row and staying within `reach` of `column`; how many separate strokes it
    crosses, and how many ink pixels. Between touching digits it finds the one stroke that joins them; down the
    middle of a 0 it must cross two (its top and its bottom)."""
    x0, y0, x1, y1 = box
    low, high = max(x0, column - reach), min(x1, column + reach + 1)
    ink = mask[y0:y1, low:high]
    rows = ink.shape[0]
    if high - low == 1:  # no room to move (digits under 1 / PATH_REACH pixels tall): straight down
        path = np.zeros(rows, dtype=np.int32)
    else:
        path = _cheapest_way_down((ink.astype(np.float32) + 0.02).tolist())  # every pixel costs a little: no detours
    crossed = ink[np.arange(rows), path]
    runs = int(np.count_nonzero(crossed[1:] & ~crossed[:-1]) + crossed[0])  # separate strokes crossed
    return path + low, runs, int(np.count_nonzero(crossed))


def _cheapest_way_down(costs: list[list[float]]) -> np.ndarray:
    """Per row, the column of the path from top to bottom with the least total cost that moves at most one column
    from row to row (ties: the leftmost move). A few columns wide and a digit tall: plain Python lists beat numpy's
    per-call overhead here by far."""
    total, moves, beyond = costs[0], [], np.inf
    for row in costs[1:]:
        ahead, step = [], []
        for left, here, right, cost in zip([beyond, *total[:-1]], total, [*total[1:], beyond], row):
            if here < left and here <= right:
                ahead.append(here + cost)
                step.append(0)
            elif right < left and right < here:
                ahead.append(right + cost)
                step.append(1)
            else:
                ahead.append(left + cost)
                step.append(-1)
        total = ahead
        moves.append(step)
    x = total.index(min(total))
    path = np.empty(len(costs), dtype=np.int32)
    for row in range(len(costs) - 1, 0, -1):
        path[row] = x
        x += moves[row - 1][x]
    path[0] = x
    return path


def _cuts(mask: np.ndarray, box: Box, height: float, width: float) -> list[tuple[np.ndarray, int]]:
    """Where one piece may be several touching digits: paths down through it (`_path`) that cross no more ink than
    about one stroke, started at its thinnest columns, at least MIN_PART of the digit height from either end and
    from each other. `width` is the strokes' width."""
    x0, y0, x1, y1 = box
    if x1 - x0 <= SPLIT_WIDTH * height:
        return []
    columns = mask[y0:y1, x0:x1].sum(axis=0).astype(np.float32)
    smooth = np.convolve(columns, np.ones(3, np.float32) / 3, mode="same")
    margin = max(2, int(MIN_PART * height))
    reach = max(2, int(0.12 * height))
    nearby = cv2.erode(smooth[None, :], np.ones((1, 2 * reach + 1), np.uint8))[0]  # the least within `reach`
    thinnest = smooth <= nearby + 1e-6
    starts = sorted((float(smooth[x]), x) for x in range(margin, len(columns) - margin) if thinnest[x])
    count = max(2, int(round((x1 - x0) / (TYPICAL_WIDTH * height))))  # where evenly wide digits would meet
    starts += [(float(smooth[x]), x) for x in (int(k * (x1 - x0) / count) for k in range(1, count))]
    starts += [(float(smooth[x]), x) for x in range(margin, len(columns) - margin, max(1, int(CUT_GRID * height)))]
    chosen: list[int] = []
    paths = []
    most = min(MAX_CUTS, max(1, int(round((x1 - x0) / (CUT_SPACING * height)))) + 1)
    for _, x in starts:
        if len(paths) == most or any(abs(x - other) < margin for other in chosen):
            continue
        path, runs, crossed = _path(mask, box, x0 + x, int(PATH_REACH * height))
        # Only through ink: a way down that crosses none separates pieces the rules above put together on purpose
        # (a 6 whose loop does not close, a 5's bar), which the classifier reads all too confidently apart.
        if 1 <= runs <= MAX_CUT_RUNS and crossed <= MAX_CUT_STROKES * width:
            chosen.append(x)
            paths.append((path, runs))
    return [found for _, found in sorted(zip(chosen, paths), key=lambda pair: pair[0])]


def shape_prior(width: int, height: float) -> float:
    """How likely a candidate this wide is one digit, as a log-prior, from the number's digit height: a wide 0
    is up to about WIDEST_DIGIT times as wide as the digits are tall, two touching digits wider; a sliver much
    narrower than a 1 is no digit."""
    aspect = width / max(height, 1.0)
    if aspect > WIDEST_DIGIT:
        return -(((aspect - WIDEST_DIGIT) / 0.5) ** 2)
    if aspect < NARROWEST_DIGIT:
        return -(((NARROWEST_DIGIT - aspect) / 0.05) ** 2)
    return 0.0


def _cleaned(crop: np.ndarray) -> np.ndarray:
    """A cut-out part (cropped to its box) without the slivers of its neighbours' strokes the cut left in it (the
    part itself when it has none)."""
    count, labels = cv2.connectedComponents(crop.view(np.uint8), connectivity=8, ltype=cv2.CV_16U)
    if count <= 2:
        return crop
    areas = np.bincount(labels.ravel(), minlength=count)[1:].tolist()  # (a handful: plain numbers are cheaper)
    floor = SLIVER * max(areas)
    if min(areas) >= floor:
        return crop
    return np.array([False, *(area >= floor for area in areas)])[labels]


def _cropped(mask: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    """A mask of the pixels inside `box` (at the picture's coordinates), cut down to its ink's exact box."""
    x0, y0, x1, y1 = preprocess.box_of(mask)
    return mask[y0:y1, x0:x1], (box[0] + x0, box[1] + y0, box[0] + x1, box[1] + y1)


def _offsets(boxes: list[Box], pieces: list[Box], height: float) -> list[float]:
    """How far each box's middle lies above or below the number's middle line (fitted through its pieces' middles,
    so that a climbing or falling number has a sloping line), in digit heights."""
    xs = [(box[0] + box[2]) / 2 for box in pieces]
    ys = [(box[1] + box[3]) / 2 for box in pieces]
    if len(pieces) > 2 and max(xs) > min(xs):  # the least-squares line, in closed form (np.polyfit: ~0.4 ms a number)
        x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = (sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys))
                 / sum((x - x_mean) ** 2 for x in xs))
        level = y_mean - slope * x_mean
    else:
        slope, level = 0.0, float(np.median(ys))
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (((boxes[:, 1] + boxes[:, 3]) / 2 - (slope * (boxes[:, 0] + boxes[:, 2]) / 2 + level)) / height).tolist()


def candidates(strokes: preprocess.Strokes) -> tuple[list[tuple[np.ndarray, Box]], Lattice]:
    """Every candidate digit of a whole number as (mask, box) at the working size, the mask cropped to the box
    (a candidate's ink and nothing around it), and the lattice that says which runs of them make up the number."""
    groups = _merged({piece: strokes.boxes[piece] for piece in strokes.pieces})[:MAX_DIGITS]
    masks = []  # per group: its ink cropped to its exact box, and that box
    for pieces, box in groups:
        labels = strokes.labels_in(box)
        ink = functools.reduce(np.logical_or, [labels == piece for piece in pieces])  # (np.isin: ~40 us more)
        masks.append(_cropped(ink, box))
    height = float(np.median([box[3] - box[1] for _, box in masks]))  # the number's digit height, not a piece's
    width = preprocess.stroke_width(strokes.mask)
    atoms, cuts, runs, narrow = [], [False], [0], [False]  # atom: (group, its ink cropped to its box, that box)
    for index, (mask, box) in enumerate(masks):
        rows, across = mask.shape
        paths = _cuts(mask, (0, 0, across, rows), height, width)
        if not paths:
            atoms.append((index, mask, box))
            cuts.append(False)
            runs.append(0)
            narrow.append(False)
            continue
        columns = np.arange(across)[None, :]
        left = np.zeros(rows, dtype=np.int32)
        for path, crossed in [*paths, (None, 0)]:  # each cut's path: the column where it passes, row by row
            right = np.full(rows, across, dtype=np.int32) if path is None else path
            part = mask & (columns >= left[:, None]) & (columns < right[:, None])
            atoms.append((index, *_cropped(part, box)) if part.any() else (index, None, None))
            cuts.append(path is not None)
            runs.append(crossed)
            narrow.append(path is not None and across <= WIDE_PIECE * height)
            left = right
    found, spans = [], []
    boxes = [box for _, _, box in atoms]
    whole = {}  # a piece's first atom -> its last: every piece is a candidate whole, however wide
    for k, (group, _, _) in enumerate(atoms):
        whole.setdefault(group, [k, k])[1] = k
    wholes = {first: last + 1 for first, last in whole.values()}
    # between atoms k and k + 1 of different pieces, a gap too wide for one digit
    apart = [atoms[k + 1][0] != atoms[k][0] and boxes[k] is not None and boxes[k + 1] is not None
             and boxes[k + 1][0] - boxes[k][2] > MAX_JOIN_GAP * height for k in range(len(atoms) - 1)]
    # atoms i..j-1 are drawn on one sheet as j grows (each once, not once for every candidate they are part of)
    sheet = np.zeros(strokes.mask.shape, dtype=bool)
    for i in range(len(atoms)):
        inked, left, top, right, bottom = False, np.inf, np.inf, -np.inf, -np.inf  # atoms i..j-1: any ink, its box
        for j in range(i + 1, len(atoms) + 1):
            if boxes[j - 1] is not None:
                inked = True
                x0, y0, x1, y1 = boxes[j - 1]
                sheet[y0:y1, x0:x1] |= atoms[j - 1][1]
                left, top, right, bottom = min(left, x0), min(top, y0), max(right, x1), max(bottom, y1)
            if not inked:
                continue
            if j - i > 1 and wholes.get(i) != j and (j - i > MAX_ATOMS or right - left > MAX_DIGIT_WIDTH * height):
                if j > wholes.get(i, 0):
                    break
                continue
            if j - i > 1 and any(apart[i: j - 1]):
                break  # pieces far apart are never one digit
            crop = sheet[top:bottom, left:right].copy()  # the candidate's ink, in its box only
            box = (left, top, right, bottom)
            if (cuts[i] or cuts[j] or any(cuts[i + 1:j])) and (cleaned := _cleaned(crop)) is not crop:
                crop = cleaned  # its box was its atoms' (exact): a sliver taken out may shrink it
                box = preprocess.tight_box(crop, (0, 0, right - left, bottom - top))
                crop = crop[box[1]: box[3], box[0]: box[2]]
                box = (left + box[0], top + box[1], left + box[2], top + box[3])
            found.append((crop, box))
            spans.append((i, j))
        if inked:
            sheet[top:bottom, left:right] = False
    skips = [SKIP_SCORE if box is not None and max(box[2] - box[0], box[3] - box[1]) < FRAGMENT * height
             else -np.inf for box in boxes]
    return found, Lattice(len(atoms) + 1, spans, cuts, [shape_prior(box[2] - box[0], height) for _, box in found],
                          runs, narrow, [max(box[3] - box[1], 1) / height for _, box in found],
                          _offsets([box for _, box in found], [box for _, box in masks], height), skips)
