"""What changes the model's mind: a digit's 28x28 model input shifted, rotated, scaled, thickened or thinned, or
partly erased (the Look inside page's sliders and sweeps), and a picture squeezed to 28x28 *without* the MNIST
preprocessing, to show why cropping, scaling and centring matter."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from mnist_app import config
from mnist_app.images import preprocess

SIZE = config.IMAGE_SIZE
CENTRE = (SIZE - 1) / 2.0  # rotations and scaling turn about the middle of the 28x28 field
ERASE = {  # what the "erase part of it" choice covers: (rows, columns) of the 28x28 field
    "nothing": None,
    "the top third": (slice(0, 10), slice(None)),
    "the middle third": (slice(10, 18), slice(None)),
    "the bottom third": (slice(18, None), slice(None)),
    "the left half": (slice(None), slice(0, 14)),
    "the right half": (slice(None), slice(14, None)),
}


def altered(image: np.ndarray, *, shift: tuple[float, float] = (0.0, 0.0), angle: float = 0.0, scale: float = 1.0,
            thickness: int = 0, erase: str = "nothing") -> np.ndarray:
    """The 28x28 field (float32, ink 1 on 0) moved `shift` = (right, down) pixels, turned `angle` degrees
    anticlockwise and scaled about the centre, its strokes thickened (> 0) or thinned (< 0) by `thickness`
    pixel steps, and the `erase` part of ERASE wiped."""
    field = np.asarray(image, dtype=np.float32).reshape(SIZE, SIZE)
    if angle or scale != 1.0 or shift != (0.0, 0.0):
        matrix = cv2.getRotationMatrix2D((CENTRE, CENTRE), float(angle), float(scale))
        matrix[:, 2] += shift
        field = cv2.warpAffine(field, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderValue=0.0)
    if thickness:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(thickness) + 1,) * 2) if abs(thickness) > 1 \
            else np.ones((2, 2), np.uint8)
        field = (cv2.dilate if thickness > 0 else cv2.erode)(field, kernel)
    region = ERASE[erase]
    if region is not None:
        field = field.copy()
        field[region] = 0.0
    return np.clip(field, 0.0, 1.0)


def batch(fields: list[np.ndarray]) -> np.ndarray:
    """Fields as the network's (N, 28, 28, 1) float32 batch."""
    return np.stack(fields).astype(np.float32).reshape(-1, *config.INPUT_SHAPE)


def rotations(image: np.ndarray, angles) -> np.ndarray:
    """The field at every angle of `angles` (degrees), as one batch."""
    return batch([altered(image, angle=float(angle)) for angle in angles])


def shifts(image: np.ndarray, offsets) -> np.ndarray:
    """The field moved right by every offset of `offsets` (pixels), as one batch."""
    return batch([altered(image, shift=(float(offset), 0.0)) for offset in offsets])


def without_preprocessing(picture: Image.Image) -> np.ndarray:
    """The whole picture as ink (white on black, as the model wants it), padded to a square and squeezed to 28x28:
    no cropping to the digit, no 20x20 box, no centring -- what a model gets from a naive resize."""
    gray = np.asarray(picture.convert("L"))
    ink, _ = preprocess.ink_map(gray)
    height, width = ink.shape
    side = max(height, width)
    square = np.zeros((side, side), np.uint8)
    top, left = (side - height) // 2, (side - width) // 2
    square[top: top + height, left: left + width] = ink
    small = cv2.resize(square, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    peak = float(small.max())
    return small / peak if peak > 0 else small
