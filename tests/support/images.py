"""Synthetic test images: digit-like drawings in every mode and encoding the app must accept."""

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


def seven(size=200, offset=(20, 30), scale=0.5, width=12, ink=255, paper=0, mode="L") -> Image.Image:
    """A '7' (a bar and a slanted stem) drawn off-centre."""
    image = Image.new(mode, (size, size), paper)
    draw = ImageDraw.Draw(image)
    x, y = offset
    s = size * scale
    draw.line([(x, y), (x + s * 0.7, y)], fill=ink, width=width)
    draw.line([(x + s * 0.7, y), (x + s * 0.25, y + s)], fill=ink, width=width)
    return image


def ring(size=200, centre=(60, 70), radius=(30, 45), width=10, ink=255, paper=0) -> Image.Image:
    """A '0'-like ellipse."""
    image = Image.new("L", (size, size), paper)
    cx, cy = centre
    ImageDraw.Draw(image).ellipse([cx - radius[0], cy - radius[1], cx + radius[0], cy + radius[1]],
                                  outline=ink, width=width)
    return image


def encode(image: Image.Image, fmt="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header declares a huge size (a decompression bomb's header)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def centre_of_mass(array: np.ndarray) -> tuple[float, float]:
    total = array.sum()
    rows, cols = np.indices(array.shape)
    return float((rows * array).sum() / total), float((cols * array).sum() / total)


def ink_box(array: np.ndarray, level=0.05) -> tuple[int, int]:
    rows = np.flatnonzero(array.max(axis=1) > level)
    cols = np.flatnonzero(array.max(axis=0) > level)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
