"""Images that are not digits, of our own making: what the app must answer "no digit" or "not sure" to.

Eight kinds, each imitating something people point a digit reader at: letters and symbols typeset in
handwriting fonts (leaving out those that look like digits: O, I, l, S, Z, B, G, q ...), shapes (no
circles: a circle is a 0), scribbles, textures, photo-like pictures made from gradients, blobs and
noise, camera frames (colour bars, a face, a green test pattern like Chromium's fake camera) and lines
of text. `build()` makes any number of each, reproducible from a seed and a choice of fonts: the test
set uses the handwriting fonts of `fonts.txt`; training uses other fonts and other seeds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from mnist_app.images import reading
from mnist_app.measure import handwriting

KINDS = ("letters", "symbols", "shapes", "scribbles", "textures", "photos", "camera-frames", "text-lines")
# Letters and symbols that a person would take for a digit are no test of a digit reader's honesty.
LETTERS = "ACEFHKMNPRUVWXacdefhkmnprtuvwx"
SYMBOLS = "+%&@#?*=~$<>{}[]^€£÷×"
WORD_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Negative:
    """One image that is not a digit: its kind and its encoded bytes."""

    kind: str
    payload: bytes


def _encode(image: Image.Image, rng, jpeg: bool = False) -> bytes:
    buffer = io.BytesIO()
    if jpeg:
        image.convert("RGB").save(buffer, format="JPEG", quality=int(rng.integers(70, 93)))
    else:
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def _ink_picture(ink: np.ndarray, rng) -> Image.Image:
    """Ink in [0, 1] as a picture: dark on light paper, or light strokes on a dark canvas."""
    pixels = (1.0 - ink) if rng.random() < 0.6 else ink
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))


def _has_glyph(font: ImageFont.FreeTypeFont, character: str) -> bool:
    """Whether the font draws this character itself (not its 'missing glyph' box)."""
    missing = font.getmask("\ue000")
    mask = font.getmask(character)
    return mask.getbbox() is not None and (mask.size != missing.size or bytes(mask) != bytes(missing))


def _typeset(text: str, font_path: str, size: int, rng) -> np.ndarray:
    font = ImageFont.truetype(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 2
    picture = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    ImageDraw.Draw(picture).text((margin - left, margin - top), text, fill=255, font=font)
    picture = picture.rotate(float(rng.uniform(-12, 12)), expand=True, resample=Image.Resampling.BILINEAR)
    return np.asarray(picture, dtype=np.float32) / 255.0


def _character(alphabet: str, fonts: list[str], rng) -> np.ndarray:
    for _ in range(20):
        font_path = fonts[int(rng.integers(len(fonts)))]
        character = alphabet[int(rng.integers(len(alphabet)))]
        size = int(rng.integers(60, 200))
        if _has_glyph(ImageFont.truetype(font_path, size), character):
            return _typeset(character, font_path, size, rng)
    return _typeset("A", fonts[0], 120, rng)


def letter(fonts, rng) -> bytes:
    return _encode(_ink_picture(_character(LETTERS, fonts, rng), rng), rng)


def symbol(fonts, rng) -> bytes:
    return _encode(_ink_picture(_character(SYMBOLS, fonts, rng), rng), rng)


def text_line(fonts, rng) -> bytes:
    word = "".join(WORD_LETTERS[int(i)] for i in rng.integers(0, len(WORD_LETTERS), int(rng.integers(3, 9))))
    font_path = fonts[int(rng.integers(len(fonts)))]
    return _encode(_ink_picture(_typeset(word, font_path, int(rng.integers(40, 90)), rng), rng), rng)


def _shape_strokes(rng) -> tuple[list, bool]:
    """A shape as strokes in a unit box, and whether it is filled."""
    kind = rng.choice(["square", "triangle", "star", "cross", "heart", "arrow", "spiral", "zigzag", "polygon"])
    if kind == "square":
        x0, y0, x1, y1 = rng.uniform(0, 0.2), rng.uniform(0, 0.2), rng.uniform(0.7, 1), rng.uniform(0.7, 1)
        outline = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    elif kind == "triangle":
        outline = [(rng.uniform(0.3, 0.7), 0.0), (1.0, rng.uniform(0.8, 1)), (0.0, rng.uniform(0.8, 1))]
        outline.append(outline[0])
    elif kind == "star":
        angles = np.linspace(-np.pi / 2, 1.5 * np.pi, 11)
        radii = np.where(np.arange(11) % 2 == 0, 0.5, rng.uniform(0.18, 0.28))
        outline = [(0.5 + r * np.cos(a), 0.5 + r * np.sin(a)) for r, a in zip(radii, angles)]
    elif kind == "cross":
        return ([[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]] if rng.random() < 0.5 else
                [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]]), False
    elif kind == "heart":
        t = np.linspace(0, 2 * np.pi, 40)
        x, y = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        outline = list(zip(0.5 + x / 36, 0.45 - y / 36))
    elif kind == "arrow":
        return [[(0.0, 0.5), (1.0, 0.5)], [(0.7, 0.2), (1.0, 0.5), (0.7, 0.8)]], False
    elif kind == "spiral":
        t = np.linspace(0, rng.uniform(3, 5) * np.pi, 80)
        return [list(zip(0.5 + 0.45 * t / t[-1] * np.cos(t), 0.5 + 0.45 * t / t[-1] * np.sin(t)))], False
    elif kind == "zigzag":
        count = int(rng.integers(4, 8))
        return [[(i / count, 0.2 if i % 2 else 0.8) for i in range(count + 1)]], False
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(5, 9))))
        outline = [(0.5 + rng.uniform(0.3, 0.5) * np.cos(a), 0.5 + rng.uniform(0.3, 0.5) * np.sin(a)) for a in angles]
        outline.append(outline[0])
    return [outline], bool(rng.random() < 0.35)


def shape(fonts, rng) -> bytes:
    strokes, filled = _shape_strokes(rng)
    size = int(rng.integers(80, 240))
    ink = handwriting.pen(strokes, size, size * rng.uniform(0.03, 0.09), rng, wobble=0.01, corners=0)
    if filled:
        picture = Image.new("L", (size, size), 0)
        margin = 0.12 * size
        points = [(margin + x * (size - 2 * margin), margin + y * (size - 2 * margin)) for x, y in strokes[0]]
        ImageDraw.Draw(picture).polygon(points, fill=255)
        ink = np.maximum(ink, np.asarray(picture, dtype=np.float32) / 255.0)
    return _encode(_ink_picture(np.pad(ink, int(rng.integers(10, 60))), rng), rng)


def scribble(fonts, rng, points: tuple[int, int] = (6, 14)) -> bytes:
    strokes = [list(map(tuple, rng.uniform(0, 1, (int(rng.integers(*points)), 2))))
               for _ in range(int(rng.integers(1, 4)))]
    size = int(rng.integers(100, 260))
    ink = handwriting.pen(strokes, size, size * rng.uniform(0.02, 0.08), rng, wobble=0.02, corners=2)
    return _encode(_ink_picture(np.pad(ink, int(rng.integers(10, 60))), rng), rng)


def texture(fonts, rng) -> bytes:
    size = int(rng.integers(120, 360))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    kind = rng.choice(["stripes", "checks", "dots", "hatch", "weave"])
    period = rng.uniform(6, 30)
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    if kind == "stripes":
        ink = (np.sin(2 * np.pi * u / period) > 0).astype(np.float32)
    elif kind == "checks":
        ink = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "dots":
        near = ((u % period) - period / 2) ** 2 + ((v % period) - period / 2) ** 2 < (period / 4) ** 2
        ink = near.astype(np.float32)
    elif kind == "hatch":
        lines = (np.abs(np.sin(np.pi * u / period)) < 0.2) | (np.abs(np.sin(np.pi * v / period)) < 0.2)
        ink = lines.astype(np.float32)
    else:
        ink = (0.5 + 0.5 * np.sin(2 * np.pi * u / period) * np.sin(2 * np.pi * v / (period * 1.7)))
    ink = ink * rng.uniform(0.4, 1.0) + rng.normal(0, 0.05, ink.shape)
    return _encode(_ink_picture(np.clip(ink, 0, 1), rng), rng, jpeg=bool(rng.random() < 0.5))


def _photo_background(height: int, width: int, rng) -> np.ndarray:
    """A natural-looking picture: a two-colour gradient, soft coloured blobs, a few soft rectangles, grain."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    top, bottom = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    mix = (yy / height)[..., None]
    picture = top * (1 - mix) + bottom * mix
    for _ in range(int(rng.integers(2, 7))):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.05, 0.35) * max(height, width)
        weight = np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius ** 2)))[..., None]
        picture = picture * (1 - weight * 0.8) + rng.uniform(0, 1, 3) * weight * 0.8
    for _ in range(int(rng.integers(0, 4))):
        x0, y0 = int(rng.uniform(0, width * 0.8)), int(rng.uniform(0, height * 0.8))
        x1, y1 = x0 + int(rng.uniform(0.1, 0.4) * width), y0 + int(rng.uniform(0.1, 0.4) * height)
        picture[y0:y1, x0:x1] = picture[y0:y1, x0:x1] * 0.4 + rng.uniform(0, 1, 3) * 0.6
    return np.clip(picture + rng.normal(0, 0.03, picture.shape), 0, 1)


def photo(fonts, rng) -> bytes:
    height, width = int(rng.integers(240, 600)), int(rng.integers(320, 800))
    picture = Image.fromarray((_photo_background(height, width, rng) * 255).astype(np.uint8), mode="RGB")
    return _encode(picture.filter(ImageFilter.GaussianBlur(rng.uniform(1, 4))), rng, jpeg=True)


def camera_frame(fonts, rng) -> bytes:
    height, width = 480, 640
    kind = rng.choice(["bars", "face", "test-pattern"])
    if kind == "bars":
        colours = np.array([[0.75, 0.75, 0.75], [0.75, 0.75, 0], [0, 0.75, 0.75], [0, 0.75, 0], [0.75, 0, 0.75],
                            [0.75, 0, 0], [0, 0, 0.75]])
        picture = np.repeat(colours[np.minimum(np.arange(width) * 7 // width, 6)][None], height, axis=0)
        picture[int(height * 0.75):] = rng.uniform(0, 0.3)
        picture = picture + rng.normal(0, 0.02, picture.shape)
    elif kind == "face":
        picture = _photo_background(height, width, rng)
        image = Image.fromarray((picture * 255).astype(np.uint8), mode="RGB")
        draw = ImageDraw.Draw(image)
        cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.4, 0.6)
        rx, ry = width * rng.uniform(0.12, 0.2), height * rng.uniform(0.25, 0.35)
        skin = tuple(int(v) for v in rng.uniform([170, 120, 90], [240, 200, 170]))
        draw.ellipse([cx - rx * 1.1, cy - ry * 1.15, cx + rx * 1.1, cy - ry * 0.2], fill=tuple(int(v) for v in
                     rng.uniform(20, 90, 3)))  # hair
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=skin)
        for side in (-1, 1):
            ex, ey = cx + side * rx * 0.4, cy - ry * 0.2
            draw.ellipse([ex - rx * 0.15, ey - ry * 0.07, ex + rx * 0.15, ey + ry * 0.07], fill=(250, 250, 250))
            draw.ellipse([ex - rx * 0.06, ey - ry * 0.06, ex + rx * 0.06, ey + ry * 0.06], fill=(40, 30, 20))
        draw.arc([cx - rx * 0.4, cy + ry * 0.2, cx + rx * 0.4, cy + ry * 0.6], 20, 160, fill=(150, 60, 60),
                 width=int(rx * 0.08) + 1)
        return _encode(image.filter(ImageFilter.GaussianBlur(1.2)), rng, jpeg=True)
    else:  # a green test pattern with a moving disc, as a browser's fake camera shows
        picture = np.zeros((height, width, 3), np.float32) + np.array([0.1, rng.uniform(0.5, 0.8), 0.1])
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        cx, cy, radius = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height, rng.uniform(30, 90)
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 < radius ** 2
        mouth = np.abs(np.arctan2(yy - cy, xx - cx) - rng.uniform(-np.pi, np.pi)) < rng.uniform(0.3, 0.8)
        picture[inside & ~mouth] = rng.uniform(0.8, 1.0)
        picture = picture + rng.normal(0, 0.02, picture.shape)
    image = Image.fromarray((np.clip(picture, 0, 1) * 255).astype(np.uint8), mode="RGB")
    return _encode(image, rng, jpeg=True)


MAKERS = {"letters": letter, "symbols": symbol, "shapes": shape, "scribbles": scribble, "textures": texture,
          "photos": photo, "camera-frames": camera_frame, "text-lines": text_line}


def build(per_kind: int, seed: int, fonts: list[str], kinds: tuple[str, ...] = KINDS) -> list[Negative]:
    """`per_kind` images of every kind, reproducible from the seed (letters in the given fonts)."""
    rng = np.random.default_rng(seed)
    return [Negative(kind, MAKERS[kind](fonts, rng)) for kind in kinds for _ in range(per_kind)]


def training_fonts() -> list[str]:
    """Fonts for the training negatives, kept apart from the test set's handwriting fonts (fonts.txt)."""
    folders = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation")]
    found = sorted(str(path) for folder in folders if folder.is_dir() for path in folder.glob("*.ttf")
                   if "Math" not in path.name)
    return found


def measure(items: list[Negative], predictor) -> dict:
    """Per kind: how many images got "no digit", "not sure", or a confident digit (what must not happen)."""
    answers = reading.read_prepared([reading.prepare(item.payload) for item in items], predictor)
    figures: dict = {}
    for item, answer in zip(items, answers):
        row = figures.setdefault(item.kind, {"images": 0, "no_digit": 0, "not_sure": 0, "confident_digit": 0})
        row["images"] += 1
        row["no_digit" if not answer.has_digit else "not_sure" if answer.unsure else "confident_digit"] += 1
    for row in figures.values():
        row["handled"] = (row["no_digit"] + row["not_sure"]) / row["images"]
    return figures
