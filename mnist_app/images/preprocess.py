"""One preprocessing path: every image that reaches the model goes through this module.

`find_ink()` and `to_mnist_field()` turn any user image -- a path, bytes, an uploaded file, a PIL image,
a numpy array or the canvas' RGBA array -- into what MNIST looks like, following LeCun's recipe
(`mnist_app.images.reading.prepare` runs the steps for a digit or a whole number):

1. decode safely (size caps before decoding, EXIF orientation, first frame of animations, every
   mode, transparency composited onto the background that contrasts with the strokes);
2. decide the polarity (dark ink on light paper, or light strokes on a dark canvas) and express the
   image as "ink" on a 0 background, evening out uneven lighting and suppressing speckle;
3. find the digit (connected components, specks dropped), crop to it, thicken hair-thin strokes;
4. scale the longest side to 20 px keeping the aspect ratio and put it in a 28x28 field so that its
   centre of mass sits at the centre (MNIST's digits have their centre of mass at (14, 14)).

The image is worked on as 8-bit luminance with OpenCV, one vectorised pass per step: for a canvas
drawing that is a fraction of a millisecond, against ~3 ms for the float/SciPy version it replaced
(`make bench` prints both the preprocessing figures and the command-line throughput).

MNIST arrays used for training are already in that form, so `normalize_mnist()` only rescales them.
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_app import config
from mnist_app.errors import ImageError, ImageTooLargeError

BLANK = "no digit found: the image is blank"  # how every reason for an image without ink begins
MAX_INPUT_BYTES = 20 * 1024 * 1024  # also the dashboard's upload cap (see .streamlit/config.toml)
MAX_PIXELS = 40_000_000  # checked from the header, before any pixel is decoded
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
WORKING_MAX_SIDE = 240  # every image is first reduced by a whole factor to about this size: bounded time ...
PHOTO_WORKING_SIDE = 400  # ... (photos and scans over BIG_INPUT_SIDE keep more: their digit may be small) ...
BIG_INPUT_SIDE = 1000
NUMBER_WORKING_SIDE = 480  # ... and a whole number this (7 digits in a row keep ~50 px each)
REFINE_BELOW = 48  # ... and a digit smaller than this (working pixels) is read again at full resolution
REFINE_SIDE = 128  # (that second reading reduces the digit's surroundings to about this size)
JPEG_DRAFT_SIDE = 320  # JPEGs are decoded at a reduced scale straight from the file, down to this size
DISPLAY_MAX_SIDE = config.DISPLAY_MAX_SIDE

DIGIT_BOX = 20  # MNIST: the digit's longest side fills a 20x20 box ...
FIELD_CENTRE = 14.0  # ... whose centre of mass is at pixel (14, 14) of the 28x28 field
MIN_CONTRAST = 0.08  # ink must differ from the background by at least this (0-1 luminance)
AMBIGUOUS_POLARITY = 0.1  # global darkest and lightest this close around the paper: ask the local contrast
MASK_LEVEL = 0.35  # ink above this counts as stroke when looking for the digit
MIN_STROKE_WIDTH = 1.8  # at the 20 px scale; MNIST's median is ~2.8
NOISE_COVERAGE = 0.40  # more "ink" than this share of the image, reaching its edges, is texture or noise ...
NOISE_BORDER = 0.25  # ... when ink covers more than this share of the image's border (a fat marker digit does not)
SOLID_COVERAGE = 0.70  # more ink than this is never a digit on a background
NOISE_COMPONENTS = 40  # this many separate specks of ink is noise, not a digit

# Pillow's own guard is set to our cap, so its DecompressionBombError backs up our header check.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# The work is one small image at a time; OpenCV's own thread pool only adds overhead there (batches are
# spread over processes by the caller instead, see mnist_app.cli).
cv2.setNumThreads(1)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


@dataclass
class Decoded:
    """An input image as 8-bit luminance, with what was done to read it."""

    gray: np.ndarray  # uint8 (H, W), 0 = black, 255 = white, transparency already composited
    original_size: tuple[int, int]  # (width, height) of the input, upright, before any reduction
    notes: list[str] = field(default_factory=list)
    scale: float = 1.0  # decoded pixels per input pixel (JPEGs are decoded at reduced scale)
    picture: Image.Image | None = None  # the decoded colour picture, when the input had one
    background: float | None = None  # what transparency was composited onto (0 black, 1 white, -1 nothing)
    drafted: bytes | None = field(default=None, repr=False)  # a JPEG decoded at reduced scale: its bytes

    def full_resolution(self) -> tuple[np.ndarray, float]:
        """(luminance, decoded pixels per input pixel) at the best resolution there is: a JPEG decoded at
        reduced scale is decoded again whole (for a small digit in a big photo)."""
        if self.drafted is None:
            return self.gray, self.scale
        image = ImageOps.exif_transpose(Image.open(io.BytesIO(self.drafted), formats=("JPEG",)))
        return np.asarray(image.convert("L")), 1.0

    @functools.cached_property
    def display(self) -> Image.Image:
        """An RGB picture of the input for showing to the user (made only when someone looks)."""
        picture = self.picture
        if picture is None:
            picture = Image.fromarray(self.gray).convert("RGB")
        elif picture.mode == "RGBA":
            fill = (0, 0, 0) if self.background == 0.0 else (255, 255, 255)
            flat = Image.new("RGB", picture.size, fill)
            flat.paste(picture, mask=picture.getchannel("A"))
            picture = flat
        elif picture.mode != "RGB":
            picture = picture.convert("RGB")
        else:
            picture = picture.copy()  # thumbnail() works in place; the decoded picture stays as it was
        picture.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
        return picture


# ---------------------------------------------------------------------------------------------
# 1. Decoding


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise ImageTooLargeError(too_many_bytes(path.stat().st_size))
        raw = path.read_bytes()
    elif hasattr(source, "read"):  # an open file, or Streamlit's UploadedFile
        if hasattr(source, "seek"):
            source.seek(0)
        raw = source.read(MAX_INPUT_BYTES + 1)
    else:
        raise ImageError(f"cannot read an image from a {type(source).__name__}")
    if len(raw) == 0:
        raise ImageError("the file is empty (0 bytes)")
    if len(raw) > MAX_INPUT_BYTES:
        raise ImageTooLargeError(too_many_bytes(len(raw)))
    return raw


def too_many_bytes(size: int) -> str:
    """Why a file of `size` bytes is refused (over MAX_INPUT_BYTES)."""
    return f"the file is {size / 2**20:.1f} MiB; the limit is {MAX_INPUT_BYTES / 2**20:.0f} MiB"


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP")


def _open_pil(raw: bytes) -> tuple[Image.Image, list[str], float, bytes | None]:
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=ALLOWED_FORMATS)
        except UnidentifiedImageError:
            raise ImageError("this is not an image file we can read (PNG, JPEG, BMP, GIF, WebP or TIFF)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageTooLargeError(f"the image is larger than the {MAX_PIXELS / 1e6:.0f} MP limit") from None
        except Exception as error:  # Pillow raises assorted types on malformed headers
            raise ImageError(f"the image header is damaged ({error})") from None
        _check_pixels(*image.size)
        frames = getattr(image, "n_frames", 1)
        if getattr(image, "is_animated", False) and frames > 1:
            image.seek(0)
            notes.append(f"animated image: the first of its {frames} frames was used")
        header_width = image.size[0]
        if image.format == "JPEG":
            # Decode big photos at a reduced scale (1/2, 1/4 or 1/8) straight from the JPEG: the work
            # happens at a few hundred pixels anyway, and this skips most of the decoding cost.
            image.draft(image.mode, (JPEG_DRAFT_SIDE, JPEG_DRAFT_SIDE))
        try:
            image.load()
        except Exception as error:
            raise ImageError(f"the image data is truncated or corrupt ({error})") from None
    scale = image.size[0] / header_width
    drafted = raw if scale < 1.0 else None
    if image.format in ("JPEG", "TIFF", "WEBP", "PNG") and image.getexif().get(0x0112, 1) != 1:
        try:
            image = ImageOps.exif_transpose(image)
            notes.append("rotated upright from its EXIF orientation")
        except Exception:  # a broken EXIF block must not cost the user the picture
            pass
    return image, notes, scale, drafted


_HIGH_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _pil_to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, Image.Image | None]:
    """8-bit luminance, 8-bit alpha or None, and the colour picture (None when luminance says it all)."""
    mode = image.mode
    if mode in _HIGH_BIT_MODES:
        values = np.asarray(image, dtype=np.float32)
        if mode.startswith("I;16"):
            gray = values / 65535.0
        else:
            low, high = float(values.min()), float(values.max())
            gray = (values - low) / (high - low) if high > low else np.zeros_like(values)
        return _unit_to_u8(gray), None, None
    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    if mode == "L" and not has_alpha:
        return np.asarray(image), None, None
    if mode in ("1", "L") and not has_alpha:
        return np.asarray(image.convert("L")), None, None
    if has_alpha:
        rgba = image.convert("RGBA")
        pixels = np.asarray(rgba)
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2GRAY), np.ascontiguousarray(pixels[..., 3]), rgba
    rgb = image if mode == "RGB" else image.convert("RGB")
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2GRAY), None, rgb


def _unit_to_u8(values: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (clipped) as 8-bit levels."""
    return (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _array_to_arrays(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an image array must be HxW, HxWx3 or HxWx4; got shape {array.shape}")
    _check_pixels(array.shape[1], array.shape[0])
    if array.dtype == np.uint8:  # the canvas and every 8-bit picture: no arithmetic needed
        if array.ndim == 2:
            return np.ascontiguousarray(array), None
        code = cv2.COLOR_RGBA2GRAY if array.shape[2] == 4 else cv2.COLOR_RGB2GRAY
        gray = cv2.cvtColor(np.ascontiguousarray(array), code)
        return gray, (np.ascontiguousarray(array[..., 3]) if array.shape[2] == 4 else None)
    if array.dtype == bool:
        values = array.astype(np.float32)
    elif np.issubdtype(array.dtype, np.integer):
        top = 65535.0 if array.dtype.itemsize >= 2 and array.max(initial=0) > 255 else 255.0
        values = array.astype(np.float32) / top
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise ImageError("the image array contains NaN or infinite values")
        values = np.clip(array.astype(np.float64), -1.0, 65535.0).astype(np.float32)  # float64 may not fit float32
        if values.max(initial=0.0) > 1.0:
            values = values / 255.0
    else:
        raise ImageError(f"unsupported image array dtype {array.dtype}")
    values = np.clip(values, 0.0, 1.0)
    if values.ndim == 2:
        return _unit_to_u8(values), None
    gray = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    alpha = _unit_to_u8(values[..., 3]) if values.shape[2] == 4 else None
    return _unit_to_u8(gray), alpha


def _composite(gray: np.ndarray, alpha: np.ndarray | None, notes: list[str]) -> tuple[np.ndarray, float | None]:
    """Flatten transparency onto the background that contrasts with the opaque strokes."""
    if alpha is None:
        return gray, None
    low_alpha, high_alpha = cv2.minMaxLoc(alpha)[:2]
    if low_alpha >= 0.99 * 255:
        return gray, None
    if high_alpha < 0.05 * 255:
        return gray, -1.0  # fully transparent: nothing to see
    opaque = alpha > 127
    stroke_level = float(cv2.mean(gray, mask=opaque.view(np.uint8))[0]) / 255.0 if opaque.any() else 0.0
    background = 1.0 if stroke_level < 0.5 else 0.0
    notes.append(f"transparent areas shown on {'white' if background else 'black'}")
    weight = alpha.astype(np.float32) / 255.0
    flat = gray.astype(np.float32) * weight + (background * 255.0) * (1.0 - weight)
    return (flat + 0.5).astype(np.uint8), background


def decode_image(source) -> tuple[Decoded, bool]:
    """Read any supported input into 8-bit luminance; the flag says the image was fully transparent."""
    notes: list[str] = []
    scale = 1.0
    picture = drafted = None
    if isinstance(source, np.ndarray):
        gray, alpha = _array_to_arrays(source)
    else:
        if isinstance(source, Image.Image):
            image = source
            _check_pixels(*image.size)
        else:
            image, notes, scale, drafted = _open_pil(_read_bytes(source))
        try:
            gray, alpha, picture = _pil_to_arrays(image)
        except ImageError:
            raise
        except Exception as error:  # an odd mode or palette Pillow opened but cannot convert
            raise ImageError(f"the image could not be decoded ({type(error).__name__}: {error})") from None
    original_size = (round(gray.shape[1] / scale), round(gray.shape[0] / scale))
    gray, background = _composite(gray, alpha, notes)
    decoded = Decoded(gray, original_size, notes, scale, picture, background, drafted)
    return decoded, background == -1.0


# ---------------------------------------------------------------------------------------------
# 2. From luminance to ink


def _reduce(gray: np.ndarray, max_side: int = WORKING_MAX_SIDE) -> tuple[np.ndarray, float]:
    """Shrink an image by a whole factor to about `max_side` (area-averaged); return it and the factor.

    A whole factor makes every output pixel the plain average of a k x k block: exact, and several
    times faster than a fractional area resize (the last k - 1 rows and columns at most are dropped).
    """
    height, width = gray.shape
    k = -(-max(height, width) // max_side)
    if k <= 1:
        return gray, 1.0
    if min(height, width) < k:  # a sliver (5000 x 10): a fractional resize keeps at least one row
        size = (max(1, round(width / k)), max(1, round(height / k)))
        return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), size[0] / width
    trimmed = gray[: height - height % k, : width - width % k]
    return cv2.resize(trimmed, (width // k, height // k), interpolation=cv2.INTER_AREA), 1.0 / k


def _sample(image: np.ndarray) -> np.ndarray:
    """Every other row and column of a large image (a quarter of the pixels) for its statistics."""
    return image[::2, ::2] if image.size > 16_384 else image


def _border(gray: np.ndarray) -> np.ndarray:
    width = max(1, min(gray.shape) // 20)
    step = 2 if gray.size > 16_384 else 1
    return np.concatenate([gray[:width:step, ::step].ravel(), gray[-width::step, ::step].ravel(),
                           gray[::step, :width:step].ravel(), gray[::step, -width::step].ravel()])


def _histogram(levels: np.ndarray) -> np.ndarray:
    """Cumulative 256-bin histogram of 8-bit levels (an image, or a 1-D array of them)."""
    if levels.ndim == 1:
        levels = levels.reshape(1, -1)  # one long row: calcHist pays per row, not per pixel
    return np.cumsum(cv2.calcHist([levels], [0], None, [256], [0, 256]).ravel())


def _quantiles(levels: np.ndarray, fractions: tuple[float, ...], cumulative: np.ndarray | None = None) -> list[float]:
    """Quantiles, in [0, 1], of 8-bit levels, from their 256-bin histogram.

    Exact to 1/255, and far faster than np.percentile on images full of identical pixels (a black
    canvas), where numpy's selection algorithm degrades badly.
    """
    if cumulative is None:
        cumulative = _histogram(levels)
    ranks = np.asarray(fractions) * (cumulative[-1] - 1)
    return [float(v) / 255.0 for v in np.searchsorted(cumulative, ranks, side="right")]


def _noise_sigma(gray: np.ndarray) -> float:
    """Robust estimate of pixel noise from neighbour differences (0 for clean synthetic images)."""
    if gray.shape[1] < 2:
        return 0.0
    rows = gray[::2] if gray.size > 16_384 else gray
    differences = cv2.absdiff(rows[:, 1:], rows[:, :-1])
    return _quantiles(differences, (0.5,))[0] * 1.4826 / np.sqrt(2.0)


def _lighting_signal(gray: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Ink relative to the paper's local brightness, for unevenly lit photos (float32, >= 0).

    The paper's brightness everywhere is estimated with the strokes removed by a grey closing (or
    opening, for light ink) wider than a stroke, on a reduced copy, smoothed and scaled back up.
    """
    step = max(1, min(gray.shape) // 80)
    small = np.ascontiguousarray(gray[::step, ::step])
    size = max(3, min(small.shape) // 5)
    kernel = np.ones((size, size), np.uint8)
    operation = cv2.MORPH_CLOSE if dark_ink else cv2.MORPH_OPEN
    local = cv2.morphologyEx(small, operation, kernel, borderType=cv2.BORDER_REFLECT)
    smooth = max(3, size // 2)
    local = cv2.blur(local, (smooth, smooth), borderType=cv2.BORDER_REFLECT)
    local = cv2.resize(local, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    local = local.astype(np.float32) / 255.0
    values = gray.astype(np.float32) / 255.0
    signal = (local - values) / np.maximum(local, 0.2) if dark_ink else values - local
    return np.maximum(signal, 0.0)


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Express 8-bit luminance as 8-bit ink on a 0 background; return (ink, reason-if-blank).

    Statistics (quantiles, noise) are read from a quarter of the pixels of large images: the same
    figures to within a level, at a quarter of the cost.
    """
    lo_border, background, hi_border = _quantiles(_border(gray), (0.1, 0.5, 0.9))
    cumulative = _histogram(_sample(gray))
    low, high = _quantiles(gray, (0.005, 0.995), cumulative)
    if max(background - low, high - background) < MIN_CONTRAST:  # ink on under 0.5 % of the pixels
        occupied = np.flatnonzero(np.diff(cumulative, prepend=0.0))
        low, high = occupied[0] / 255.0, occupied[-1] / 255.0
    dark_ink = (background - low) >= (high - background)
    sigma = _noise_sigma(gray)
    if sigma > 0.01 and min(gray.shape) >= 16:
        gray = cv2.medianBlur(gray, 3)  # speckle and sensor noise
    if hi_border - lo_border > 0.06 and min(gray.shape) >= 32:
        if abs((background - low) - (high - background)) < AMBIGUOUS_POLARITY:
            # Under uneven light the global extremes can be the light's rather than the ink's (a small digit
            # hardly moves them): then the polarity is the one whose ink stands out most from the paper near it.
            strength = {dark: float(cv2.blur(_lighting_signal(gray, dark), (3, 3)).max()) for dark in (True, False)}
            dark_ink = strength[True] >= strength[False]
        signal = _lighting_signal(gray, dark_ink)
        peak = float(signal.max())
        levels = _unit_to_u8(signal / peak) if peak > 0 else np.zeros_like(gray)
        unit = peak / 255.0  # ink level of one 8-bit step
    else:
        paper = np.full_like(gray, round(background * 255))
        levels = cv2.subtract(paper, gray) if dark_ink else cv2.subtract(gray, paper)  # saturates at 0
        unit = 1.0 / 255.0
    top = float(cv2.minMaxLoc(levels)[1])
    level = _quantiles(_sample(levels), (0.997,))[0] * 255.0 if levels.size > 400 else top
    level = max(level, top * 0.5)
    if level * unit < MIN_CONTRAST:
        return np.zeros_like(gray), f"{BLANK} or has no contrast"
    ink = cv2.convertScaleAbs(levels, alpha=255.0 / level)  # the 99.7th percentile becomes full ink
    floor = min(0.5, max(0.15, 4.0 * sigma / (level * unit)))  # paper texture and faint smudges vanish
    # Levels at or above the floor stay; below it they are paper texture (THRESH_TOZERO keeps "> thresh").
    cv2.threshold(ink, np.ceil(floor * 255.0) - 1, 0, cv2.THRESH_TOZERO, dst=ink)
    return ink, None


# ---------------------------------------------------------------------------------------------
# 3. Finding the digit


@dataclass
class Strokes:
    """The connected pieces of ink that were kept, with their boxes and areas (in working pixels)."""

    mask: np.ndarray  # bool (h, w): every kept stroke pixel
    pieces: list[int]  # the kept pieces' labels
    boxes: dict[int, tuple[int, int, int, int]]  # label -> (x0, y0, x1, y1), end-exclusive
    areas: dict[int, int]  # label -> stroke pixels (estimated from the half-resolution labelling)
    _labels: np.ndarray = field(repr=False, default=None)  # int32 labels at 1 / `_step` resolution
    _step: int = 1

    def box(self) -> tuple[int, int, int, int]:
        """The box around every kept piece."""
        boxes = [self.boxes[piece] for piece in self.pieces]
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                max(b[3] for b in boxes))

    def labels_in(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """int32, the box's size: the piece each stroke pixel inside `box` belongs to (0 elsewhere)."""
        x0, y0, x1, y1 = box
        step = self._step
        labels = self._labels[y0 // step: -(-y1 // step), x0 // step: -(-x1 // step)]
        if step > 1:
            labels = np.repeat(np.repeat(labels, step, axis=0), step, axis=1)
            labels = labels[y0 % step: y0 % step + y1 - y0, x0 % step: x0 % step + x1 - x0]
        return np.where(self.mask[y0:y1, x0:x1], labels, 0).astype(np.int32)


def _labelled(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, int]:
    """Connected pieces (8-connected) of a 0/1 image: count, labels, stats and the resolution step.

    Large images are labelled at half resolution (each 2x2 block is ink if any of its pixels is): the
    same pieces, bar ones closer than a pixel or two, in a quarter of the time.
    """
    step = 2 if binary.size > 16_384 else 1
    if step == 2:
        height, width = binary.shape
        padded = binary if height % 2 == 0 and width % 2 == 0 else np.pad(binary, ((0, height % 2), (0, width % 2)))
        binary = padded[::2, ::2] | padded[1::2, ::2] | padded[::2, 1::2] | padded[1::2, 1::2]
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(binary, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count, labels, stats, step


def find_strokes(ink: np.ndarray) -> tuple[Strokes | None, str | None]:
    """The strokes that belong to the digit(s) (specks removed), or the reason there are none."""
    binary = (ink > MASK_LEVEL * 255.0).view(np.uint8)
    stroke_pixels = cv2.countNonZero(binary)
    if stroke_pixels == 0:
        return None, BLANK
    if stroke_pixels > SOLID_COVERAGE * binary.size or (
            stroke_pixels > NOISE_COVERAGE * binary.size and _border(binary).mean() > NOISE_BORDER):
        return None, "no digit found: the image looks like texture or noise, not a digit on a background"
    count, labels, stats, step = _labelled(binary)
    sizes = stats[1:, cv2.CC_STAT_AREA] * (step * step)
    largest = int(sizes.max())
    min_size = max(2, 0.05 * largest, binary.size * 2e-5)
    keep = np.flatnonzero(sizes >= min_size) + 1
    if count - 1 >= NOISE_COMPONENTS and largest < 0.02 * binary.size and len(keep) > 8:
        return None, "no digit found: the image looks like scattered noise"
    if largest < max(3, binary.size * 1e-4):
        return None, "no digit found: only specks of ink"
    mask = binary.view(bool)
    if len(keep) < count - 1:  # some specks to drop
        lookup = np.zeros(count, dtype=np.uint8)
        lookup[keep] = 1
        kept = lookup[labels]
        if step > 1:
            kept = np.repeat(np.repeat(kept, step, axis=0), step, axis=1)[: mask.shape[0], : mask.shape[1]]
        mask = mask & kept.view(bool)
    height, width = mask.shape
    boxes = {int(i): (int(stats[i, 0]) * step, int(stats[i, 1]) * step,
                      min(width, int(stats[i, 0] + stats[i, 2]) * step),
                      min(height, int(stats[i, 1] + stats[i, 3]) * step)) for i in keep}
    areas = {int(i): int(stats[i, cv2.CC_STAT_AREA]) * step * step for i in keep}
    return Strokes(mask, [int(i) for i in keep], boxes, areas, labels, step), None


def stroke_width(mask: np.ndarray) -> float:
    """Average stroke width in pixels: 2 x area / perimeter (exact for long thin strokes)."""
    binary = np.ascontiguousarray(mask).view(np.uint8) if mask.dtype == bool else (mask > 0).astype(np.uint8)
    area = cv2.countNonZero(binary)
    inner = cv2.countNonZero(cv2.erode(binary, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=0))
    return 2.0 * area / max(area - inner, 1)


def tight_box(mask: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The exact box of the mask's pixels inside a box known to contain them all (a cheaper box_of)."""
    x0, y0, x1, y1 = box
    inner = box_of(mask[y0:y1, x0:x1])
    return x0 + inner[0], y0 + inner[1], x0 + inner[2], y0 + inner[3]


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of the True pixels."""
    x, y, width, height = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    return x, y, x + width, y + height


# ---------------------------------------------------------------------------------------------
# 4. MNIST normalisation


def _centre_of_mass(levels: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of 8-bit levels, in pixel-index coordinates: image moments,
    exact (integer sums, one division each)."""
    moments = cv2.moments(levels)
    return moments["m01"] / moments["m00"], moments["m10"] / moments["m00"]


def to_mnist_field(ink: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Crop to the digit, fit it in 20x20 keeping its aspect, centre its mass in 28x28.

    `ink` is 8-bit (or float in [0, 1]); `mask` marks the digit's strokes; `box`, when the caller
    already knows it, spares a pass over the mask.
    """
    x0, y0, x1, y1 = box or box_of(mask)
    inside = np.ascontiguousarray(mask[y0:y1, x0:x1])
    crop = ink[y0:y1, x0:x1]
    if crop.dtype != np.uint8:
        crop = _unit_to_u8(crop)
    crop = crop * inside.view(np.uint8)  # the ink of the digit's strokes only (a fresh, contiguous array)
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    width_at_scale = stroke_width(inside) * scale
    if width_at_scale < MIN_STROKE_WIDTH:
        grow = int(round((MIN_STROKE_WIDTH + 0.4) / scale - width_at_scale / scale))
        if grow >= 1:  # hair-thin pen or font strokes would vanish when shrunk: thicken them first
            crop = cv2.dilate(cv2.copyMakeBorder(crop, grow, grow, grow, grow, cv2.BORDER_CONSTANT, value=0),
                              np.ones((grow + 1, grow + 1), np.uint8))
            height, width = crop.shape
            scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Pillow's bilinear resize widens its filter when shrinking (antialiased), as MNIST's own reduction did.
    # (reducing_gap: an exact integer box reduction first, then the bilinear step; the same pixels to
    # within half a level on average, in half the time. frombuffer and tobytes: the same pixels as fromarray
    # and asarray, without their array-interface round trips -- about 15 us of a candidate's 110.)
    reduced = Image.frombuffer("L", (width, height), crop, "raw", "L", 0, 1).resize(
        size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    levels = np.frombuffer(reduced.tobytes(), dtype=np.uint8).reshape(size[1], size[0])
    peak = int(levels.max())
    centre_y, centre_x = _centre_of_mass(levels) if peak > 0 else (size[1] / 2, size[0] / 2)
    # (min and max, not np.clip: on two numbers np.clip costs ~10 us, a number's 60 candidates ~1 ms)
    top = min(max(round(FIELD_CENTRE - centre_y), 0), config.IMAGE_SIZE - size[1])
    left = min(max(round(FIELD_CENTRE - centre_x), 0), config.IMAGE_SIZE - size[0])
    field_ = np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.float32)
    np.multiply(levels, np.float32(1.0 / max(peak, 1)), out=field_[top: top + size[1], left: left + size[0]],
                dtype=np.float32)  # the darkest ink becomes 1
    return field_


@dataclass
class InkImage:
    """A decoded input (or a part of it) reduced to the working size, as ink, with the strokes that matter."""

    decoded: Decoded
    ink: np.ndarray | None  # uint8 (h, w) at the working size, 0 = no ink
    strokes: Strokes | None
    factor: float  # working pixels per input pixel
    reason: str | None = None  # why there is no ink to read
    origin: tuple[float, float] = (0.0, 0.0)  # where this working image starts, in input pixels

    @property
    def mask(self) -> np.ndarray | None:
        return None if self.strokes is None else self.strokes.mask

    def to_original(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box at the working size, in the input's own pixel coordinates."""
        x0, y0, x1, y1 = box
        left, top = self.origin
        width, height = self.decoded.original_size
        return (int(left + x0 / self.factor), int(top + y0 / self.factor),
                min(width, int(np.ceil(left + x1 / self.factor))), min(height, int(np.ceil(top + y1 / self.factor))))

    def refined(self, box: tuple[int, int, int, int]) -> InkImage | None:
        """The strokes in `box` read again from the full-resolution picture, when the digit is small.

        A digit that came out under REFINE_BELOW pixels at the working size (a small digit on a big
        canvas or photo) has lost detail the decoded picture still holds: its surroundings are cut
        from that picture and read again. None when there is no more detail to be had.
        """
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0)
        if side >= REFINE_BELOW or self.origin != (0.0, 0.0) or self.factor > 0.75:
            return None
        gray, scale = self.decoded.full_resolution()
        per_decoded = self.factor / scale  # working pixels per decoded pixel
        margin = side // 3 + 2
        left, top = int(max(0, x0 - margin) / per_decoded), int(max(0, y0 - margin) / per_decoded)
        right = min(gray.shape[1], int(np.ceil((x1 + margin) / per_decoded)))
        bottom = min(gray.shape[0], int(np.ceil((y1 + margin) / per_decoded)))
        part, reduction = _reduce(gray[top:bottom, left:right], REFINE_SIDE)
        ink, reason = ink_map(part)
        strokes, reason = (None, reason) if reason else find_strokes(ink)
        if reason:
            return None
        return InkImage(self.decoded, ink, strokes, scale * reduction, None, (left / scale, top / scale))


RULE_LENGTH = 0.8  # a ruled line runs straight across at least this share of the picture's width (or height) ...
RULE_THINNER = 0.75  # ... and is thinner than this share of the strokes' width ...
RULE_FAINTER = 0.6  # ... or fainter than this share of their ink (a pale blue line under black ink)
RULE_LEVEL = 0.15  # faint lines count too: ink above this level, when looking for them
RULE_ON_PAPER = 0.5  # a grid's line judged on its own has paper beside it along at least this share of its length
RULE_BESIDE = 2  # ... looked for this many pixels beyond the line's edge


def _paper_line(ink: np.ndarray, line: np.ndarray, stats: np.ndarray, stroke: float, stroke_level: float) -> bool:
    """Whether a line found straight across (or down) the picture is the paper's: thinner or fainter than the
    strokes. `stats` is its row of `cv2.connectedComponentsWithStats`."""
    thickness = stats[cv2.CC_STAT_AREA] / max(stats[cv2.CC_STAT_WIDTH], stats[cv2.CC_STAT_HEIGHT])
    return thickness < RULE_THINNER * stroke or float(ink[line].mean()) < RULE_FAINTER * stroke_level


def _lies_on_paper(faint: np.ndarray, stats: np.ndarray, across: bool) -> bool:
    """Whether a line has no ink RULE_BESIDE pixels beyond both its edges along RULE_ON_PAPER of its length: a
    line of the paper does, save where strokes cross it; a straight run inside a marker's stroke does not."""
    left, top = stats[cv2.CC_STAT_LEFT], stats[cv2.CC_STAT_TOP]
    right, bottom = left + stats[cv2.CC_STAT_WIDTH] - 1, top + stats[cv2.CC_STAT_HEIGHT] - 1
    if across:
        beside = [faint[row, left: right + 1] if 0 <= row < faint.shape[0] else None
                  for row in (top - RULE_BESIDE, bottom + RULE_BESIDE)]
    else:
        beside = [faint[top: bottom + 1, column] if 0 <= column < faint.shape[1] else None
                  for column in (left - RULE_BESIDE, right + RULE_BESIDE)]
    paper = np.logical_and.reduce([side == 0 for side in beside if side is not None])
    return float(np.mean(paper)) >= RULE_ON_PAPER


def remove_ruled_lines(ink: np.ndarray) -> tuple[np.ndarray, bool]:
    """The ink without the lines of ruled or squared paper, and whether there were any.

    A line is found as ink that survives an opening with a straight element RULE_LENGTH of the picture long
    (a digit's strokes are far shorter); each line is removed only if it is thinner or fainter than the strokes.
    Lines that cross (a grid, or an exercise book's margin across its ruled lines) are one piece of ink: when the
    grid as a whole is not removed -- its "thickness" adds up every line's, and a darker margin raises its ink --
    each of its lines across and down is judged on its own, and removed if it lies on paper (a straight run inside
    a marker's stroke has ink beside it and stays). Where a stroke crosses a removed line, the stroke's ink is kept:
    a closing of what is left, across the line, bridges it, and on a line fainter than the strokes, ink darker than
    halfway between the line's and the strokes' is a stroke's (a fine pen's stroke running along a line of squared
    paper has nothing beside it to bridge from).
    """
    height, width = ink.shape
    if min(height, width) < 32:
        return ink, False
    faint = (ink > RULE_LEVEL * 255).astype(np.uint8)
    # An opening with a straight element of length L keeps only runs of L pixels in a row: none can survive where
    # no row (or column) holds L inked pixels at all, and most pictures have none (this check is ~10x cheaper).
    if faint.sum(axis=1).max() < int(RULE_LENGTH * width) and faint.sum(axis=0).max() < int(RULE_LENGTH * height):
        return ink, False
    across = cv2.morphologyEx(faint, cv2.MORPH_OPEN, np.ones((1, int(RULE_LENGTH * width)), np.uint8))
    down = cv2.morphologyEx(faint, cv2.MORPH_OPEN, np.ones((int(RULE_LENGTH * height), 1), np.uint8))
    lines = cv2.bitwise_or(across, down)
    if not lines.any():
        return ink, False
    rest = cv2.bitwise_and(faint, cv2.bitwise_not(lines) & 1)
    if cv2.countNonZero(rest) < 20:
        return ink, False
    stroke, stroke_level = stroke_width(rest.astype(bool)), float(ink[rest.astype(bool)].mean())
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    removed = np.zeros_like(lines)
    for index in range(1, count):
        line = labels == index
        if _paper_line(ink, line, stats[index], stroke, stroke_level):
            removed[line] = 1
        elif across[line].any() and down[line].any():  # a grid kept whole: its lines each on their own
            removed[_paper_lines_of_grid(ink, faint, line, across, down, stroke, stroke_level)] = 1
    if not removed.any():
        return ink, False  # as thick and as dark as the strokes: bars drawn with the pen, not the paper's lines
    reach = 2 * int(np.ceil(stroke)) + 3
    bridged = cv2.bitwise_or(cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((reach, 1), np.uint8)) & across,
                             cv2.morphologyEx(rest, cv2.MORPH_CLOSE, np.ones((1, reach), np.uint8)) & down)
    gone = (removed & cv2.bitwise_not(bridged) & 1).astype(bool)
    level = _line_levels(ink, removed, across, down)
    stroke_ink = (level < RULE_FAINTER * stroke_level) & (ink > (level + stroke_level) / 2)
    cleaned = ink.copy()
    cleaned[gone & ~stroke_ink] = 0
    return cleaned, True


def _paper_lines_of_grid(ink: np.ndarray, faint: np.ndarray, grid: np.ndarray, across: np.ndarray, down: np.ndarray,
                         stroke: float, stroke_level: float) -> np.ndarray:
    """Of a grid (lines across and down that cross: one piece of ink), the lines that are the paper's judged each on
    its own -- thinner or fainter than the strokes -- and that lie on paper, as a mask."""
    paper = np.zeros(grid.shape, bool)
    for found, is_across in ((across, True), (down, False)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(found & grid, connectivity=8)
        for index in range(1, count):
            line = labels == index
            if _paper_line(ink, line, stats[index], stroke, stroke_level) and _lies_on_paper(faint, stats[index],
                                                                                             is_across):
                paper |= line
    return paper


def _line_levels(ink: np.ndarray, removed: np.ndarray, across: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Per pixel of a removed line, that line's own ink (the median along it: the strokes crossing it are few),
    the darker where lines cross: a margin is darker than the ruled lines it crosses."""
    level = np.zeros(ink.shape, np.float32)
    for found in (across, down):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(removed & found, connectivity=8)
        for index in range(1, count):
            left, top, width, height = stats[index, :4]
            box = np.s_[top: top + height, left: left + width]
            line = labels[box] == index
            level[box][line] = np.maximum(level[box][line], float(np.median(ink[box][line])))
    return level


def find_ink(source, *, number: bool = False) -> InkImage:
    """Decode any input and find its ink and strokes (steps 1-3 shared by digits and numbers). A whole number
    keeps more pixels (NUMBER_WORKING_SIDE): its digits are a fraction of the picture's width."""
    decoded, fully_transparent = decode_image(source)
    if fully_transparent:
        return InkImage(decoded, None, None, 1.0, "no digit found: the image is fully transparent")
    big = max(decoded.original_size) >= BIG_INPUT_SIDE
    side = NUMBER_WORKING_SIDE if number else PHOTO_WORKING_SIDE if big else WORKING_MAX_SIDE
    gray, factor = _reduce(decoded.gray, side)
    factor *= decoded.scale  # working pixels per input pixel
    ink, reason = ink_map(gray)
    if reason:
        return InkImage(decoded, None, None, factor, reason)
    ink, ruled = remove_ruled_lines(ink)
    if ruled:
        decoded.notes.append("the lines of ruled or squared paper were removed")
    strokes, reason = find_strokes(ink)
    return InkImage(decoded, ink, strokes, factor, reason)


def normalize_mnist(images: np.ndarray) -> np.ndarray:
    """Turn MNIST uint8 arrays (N, 28, 28) into model input: float32 (N, 28, 28, 1) in [0, 1].

    MNIST is already what `mnist_app.images.reading.prepare` produces (white ink on black, the digit in a 20x20 box
    centred by centre of mass in 28x28), so only the scaling to [0, 1] is applied.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.shape[1:] != (config.IMAGE_SIZE, config.IMAGE_SIZE):
        raise ValueError(f"expected MNIST-shaped images (N, 28, 28), got {images.shape}")
    return (images.astype(np.float32) / 255.0)[..., None]


def distinct(fields: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct fields, by identity (a number's candidates of the same ink in the same box share one field), and
    each field's position among them: whatever a network answers for the distinct ones, `[positions]` spreads it
    back over all."""
    position: dict[int, int] = {}
    positions = np.array([position.setdefault(id(field_), len(position)) for field_ in fields], dtype=np.intp)
    return list({id(field_): field_ for field_ in fields}.values()), positions


def to_batch(prepared_images: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Stack 28x28 model inputs (a list, or an (N, 28, 28) array) into the (N, 28, 28, 1) float32 batch the network
    takes."""
    if not len(prepared_images):
        return np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE, 1), dtype=np.float32)
    return np.stack(prepared_images).astype(np.float32)[..., None]
