"""Handwriting the way people write it, not the way MNIST's writers did: pens and shapes for test and training data.

- `pen()` draws strokes (polylines in a unit box) as a person would: a random slant, size and aspect,
  wobbly points, smoothed corners, a pen of any width, anti-aliased.
- `written()` draws the digits MNIST has few of: the European 1 with a long flag and a base, the 7 with a
  crossbar, the open-top 4, each from a template with random proportions.
- `thick()`, `thin()`, `hollow()` and `slanted()` turn the ink of any digit into a marker's, a fine
  pen's, an outline's or a slanted one.

`mnist_app.measure.robustness` uses them to build test images from MNIST *test* digits and its own seeds;
training (`mnist_app.training.userstyle`) uses the training digits and other seeds.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

SUPERSAMPLE = 4  # strokes are drawn this much larger, then reduced: smooth, anti-aliased edges


def _smooth(points: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Chaikin's corner cutting: a polyline's corners rounded the way a moving pen rounds them."""
    for _ in range(rounds):
        if len(points) < 3:
            return points
        start, end = points[:-1], points[1:]
        cut = np.empty((2 * len(start), 2))
        cut[0::2] = 0.75 * start + 0.25 * end
        cut[1::2] = 0.25 * start + 0.75 * end
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def pen(strokes: list[list[tuple[float, float]]], size: int, width: float, rng: np.random.Generator, *,
        slant: float = 0.0, wobble: float = 0.02, corners: int = 1) -> np.ndarray:
    """Ink (float32 in [0, 1], size x size) of strokes given in a unit box, written with a pen `width` px wide.

    `slant` shears the strokes (a positive value leans them right), `wobble` moves every point by a share of
    the box, `corners` rounds of corner cutting soften angles (0 keeps them sharp).
    """
    scale = size * SUPERSAMPLE
    margin = 0.12
    picture = Image.new("L", (scale, scale), 0)
    draw = ImageDraw.Draw(picture)
    line_width = max(1, int(round(width * SUPERSAMPLE)))
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        points = points + rng.normal(0, wobble, points.shape)
        points[:, 0] += slant * (0.5 - points[:, 1])
        points = _smooth(points, corners) if corners else points
        xy = [(margin * scale + x * (1 - 2 * margin) * scale, margin * scale + y * (1 - 2 * margin) * scale)
              for x, y in points]
        draw.line(xy, fill=255, width=line_width, joint="curve")
        radius = line_width / 2
        for x, y in (xy[0], xy[-1]):  # round pen tips
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    small = picture.resize((size, size), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def _flag_one(rng) -> list:
    """A 1 with a long flag well down the stem and no base: many readers take it for a 7 (why Europeans cross
    their 7s)."""
    top = (rng.uniform(0.5, 0.65), 0.0)
    flag = (rng.uniform(0.05, 0.3), rng.uniform(0.25, 0.5))
    return [[flag, top, (top[0] + rng.uniform(-0.08, 0.05), 1.0)]]


def _european_one(rng) -> list:
    """The same long-flagged 1, standing on its base."""
    strokes = _flag_one(rng)
    foot = strokes[0][-1][0]
    half = rng.uniform(0.22, 0.35)
    return strokes + [[(foot - half, 1.0), (foot + half, 1.0)]]


def _crossed_seven(rng) -> list:
    left, right = rng.uniform(0.05, 0.2), rng.uniform(0.8, 0.95)
    top_y = rng.uniform(0.0, 0.06)
    foot = (rng.uniform(0.25, 0.5), 1.0)
    middle = ((right + foot[0]) / 2 + rng.uniform(-0.03, 0.03), 0.5 + rng.uniform(-0.08, 0.08))
    strokes = [[(left, top_y + rng.uniform(0, 0.08)), (right, top_y), middle, foot]]
    half = rng.uniform(0.15, 0.28)
    strokes.append([(middle[0] - half, middle[1]), (middle[0] + half, middle[1] + rng.uniform(-0.03, 0.03))])
    return strokes


def _open_four(rng) -> list:
    bar_y = rng.uniform(0.5, 0.65)
    left = rng.uniform(0.05, 0.25)
    stem_x = rng.uniform(0.62, 0.78)
    arm = [(left + rng.uniform(-0.05, 0.08), rng.uniform(0.0, 0.1)), (left, bar_y), (rng.uniform(0.85, 1.0), bar_y)]
    stem = [(stem_x, rng.uniform(0.0, 0.2)), (stem_x + rng.uniform(-0.05, 0.03), 1.0)]
    return [arm, stem]


TEMPLATES = {"european-one": (1, _european_one), "crossed-seven": (7, _crossed_seven),
             "open-four": (4, _open_four), "flag-one": (1, _flag_one)}


def written(style: str, size: int, rng: np.random.Generator, width_share: tuple[float, float] = (0.05, 0.12)):
    """(label, ink) of a digit in one of TEMPLATES, written at `size` px with a random pen and slant."""
    label, template = TEMPLATES[style]
    width = size * rng.uniform(*width_share)
    ink = pen(template(rng), size, width, rng, slant=rng.uniform(-0.15, 0.3), wobble=0.015,
              corners=int(rng.integers(0, 3)))
    return label, ink


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def thick(ink: np.ndarray, share: float) -> np.ndarray:
    """The ink written with a marker: strokes grown by `share` of the image's longest side."""
    radius = max(1, int(round(share * max(ink.shape) / 2)))
    padded = np.pad(ink, radius)
    return cv2.dilate(padded, _disk(radius))


def thin(ink: np.ndarray, width: int) -> np.ndarray:
    """The ink written with a fine pen: its strokes' middle line (Zhang-Suen thinning), `width` px wide."""
    skeleton = _skeleton(ink > 0.5)
    line = skeleton.astype(np.float32)
    if width > 1:
        line = cv2.dilate(line, _disk(width // 2)) if width > 2 else cv2.dilate(line, np.ones((2, 2), np.uint8))
    return cv2.GaussianBlur(line, (3, 3), 0.6)


def hollow(ink: np.ndarray, share: float, wall: int) -> np.ndarray:
    """The digit drawn as an outline: a thick version of it with its inside cleared, walls `wall` px wide."""
    solid = (thick(ink, share) > 0.5).astype(np.uint8)
    inside = cv2.erode(solid, _disk(max(1, wall)))
    return cv2.GaussianBlur((solid - inside).astype(np.float32), (3, 3), 0.6)


def slanted(ink: np.ndarray, degrees: float) -> np.ndarray:
    """The ink leaning by `degrees` (positive: to the right), as writers slant, on a canvas wide enough."""
    height, width = ink.shape
    shear = np.tan(np.radians(degrees))
    extra = int(np.ceil(abs(shear) * height))
    # x' = x + shear * (height - y): the top moves right for a positive slant, the bottom stays put.
    offset = shear * height if shear > 0 else 0.0
    matrix = np.array([[1.0, -shear, offset], [0.0, 1.0, 0.0]], dtype=np.float32)
    return cv2.warpAffine(ink, matrix, (width + extra, height), flags=cv2.INTER_LINEAR)


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning (1984), vectorised: a one-pixel-wide middle line of a binary shape."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p2, p3, p4 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:]
            p5, p6, p7 = image[2:, 2:], image[2:, 1:-1], image[2:, :-2]
            p8, p9 = image[1:-1, :-2], image[:-2, :-2]
            neighbours = [p2, p3, p4, p5, p6, p7, p8, p9]
            count = sum(n.astype(np.int32) for n in neighbours)
            ring = neighbours + [p2]
            transitions = sum(((a == 0) & (b == 1)).astype(np.int32) for a, b in zip(ring[:-1], ring[1:]))
            if step == 0:
                side = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            centre = image[1:-1, 1:-1]
            remove = (centre == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


# Seven-segment digits (a meter, a clock, a calculator): the segments that each digit lights.
SEGMENTS = {"a": [(0.1, 0.0), (0.9, 0.0)], "b": [(0.9, 0.0), (0.9, 0.5)], "c": [(0.9, 0.5), (0.9, 1.0)],
            "d": [(0.1, 1.0), (0.9, 1.0)], "e": [(0.1, 0.5), (0.1, 1.0)], "f": [(0.1, 0.0), (0.1, 0.5)],
            "g": [(0.1, 0.5), (0.9, 0.5)]}
LIT = {0: "abcdef", 1: "bc", 2: "abged", 3: "abgcd", 4: "fgbc", 5: "afgcd", 6: "afgedc", 7: "abc", 8: "abcdefg",
       9: "abcdfg"}


def seven_segment(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """A digit as a seven-segment display shows it: separate bars with small gaps, slanted like most displays."""
    gap = rng.uniform(0.03, 0.08)
    strokes = []
    for segment in LIT[label]:
        (x0, y0), (x1, y1) = SEGMENTS[segment]
        shrink_x, shrink_y = (gap, 0.0) if y0 == y1 else (0.0, gap)
        strokes.append([(x0 + shrink_x, y0 + shrink_y), (x1 - shrink_x, y1 - shrink_y)])
    width = size * rng.uniform(0.06, 0.11)
    return pen([[(0.2 + 0.6 * x, y) for x, y in stroke] for stroke in strokes], size, width, rng,
               slant=rng.uniform(0.0, 0.25), wobble=0.004, corners=0)
