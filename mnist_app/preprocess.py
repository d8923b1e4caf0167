"""One preprocessing path: every image that reaches the model goes through this module.

`prepare_image()` turns any user image -- a path, bytes, an uploaded file, a PIL image, a numpy
array or the canvas' RGBA array -- into what MNIST looks like, following LeCun's recipe:

1. decode safely (size caps before decoding, EXIF orientation, first frame of animations, every
   mode, transparency composited onto the background that contrasts with the strokes);
2. decide the polarity (dark ink on light paper, or light strokes on a dark canvas) and express the
   image as "ink" in [0, 1] on a 0 background, evening out uneven lighting and suppressing speckle;
3. find the digit (connected components, specks dropped), crop to it, thicken hair-thin strokes;
4. scale the longest side to 20 px keeping the aspect ratio and put it in a 28x28 field so that its
   centre of mass sits at the centre (MNIST's digits have their centre of mass at (14, 14)).

MNIST arrays used for training are already in that form, so `normalize_mnist()` only rescales them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from mnist_app import config
from mnist_app.errors import ImageError, ImageTooLargeError

MAX_INPUT_BYTES = 20 * 1024 * 1024  # also the dashboard's upload cap (see .streamlit/config.toml)
MAX_PIXELS = 40_000_000  # checked from the header, before any pixel is decoded
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
WORKING_MAX_SIDE = 320  # big photos are reduced to this first: bounded time, enough detail for 20 px
DISPLAY_MAX_SIDE = 480

DIGIT_BOX = 20  # MNIST: the digit's longest side fills a 20x20 box ...
FIELD_CENTRE = 14.0  # ... whose centre of mass is at pixel (14, 14) of the 28x28 field
MIN_CONTRAST = 0.08  # ink must differ from the background by at least this (0-1 luminance)
MASK_LEVEL = 0.35  # ink above this counts as stroke when looking for the digit
MIN_STROKE_WIDTH = 1.8  # at the 20 px scale; MNIST's median is ~2.8
NOISE_COVERAGE = 0.40  # more "ink" than this share of the image is texture or noise, not a digit
NOISE_COMPONENTS = 40  # this many separate specks of ink is noise, not a digit

# Pillow's own guard is set to our cap, so its DecompressionBombError backs up our header check.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass
class Decoded:
    """An input image as luminance in [0, 1], with what was done to read it."""

    gray: np.ndarray  # float32 (H, W), 0 = black, 1 = white, transparency already composited
    display: Image.Image  # an RGB picture of the input for showing to the user
    original_size: tuple[int, int]  # (width, height) of the input, upright, before any reduction
    notes: list[str] = field(default_factory=list)
    scale: float = 1.0  # decoded pixels per input pixel (JPEGs are decoded at reduced scale)


@dataclass
class Prepared:
    """The model's input for one image, or the reason there is none."""

    model_input: np.ndarray | None  # float32 (28, 28), ink = 1 on 0, or None when no digit was found
    display: Image.Image | None
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # why there is no digit (blank, noise, fully transparent, ...)
    box: tuple[int, int, int, int] | None = None  # the digit's (x0, y0, x1, y1) in the input's pixels

    @property
    def has_digit(self) -> bool:
        return self.model_input is not None


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
            raise ImageTooLargeError(_too_many_bytes(path.stat().st_size))
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
        raise ImageTooLargeError(_too_many_bytes(len(raw)))
    return raw


def _too_many_bytes(size: int) -> str:
    return f"the file is {size / 2**20:.1f} MiB; the limit is {MAX_INPUT_BYTES / 2**20:.0f} MiB"


def _check_pixels(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
            f"the limit is {MAX_PIXELS / 1e6:.0f} MP")


def _open_pil(raw: bytes) -> tuple[Image.Image, list[str], float]:
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
            # happens at WORKING_MAX_SIDE anyway, and this skips most of the decoding cost.
            image.draft(image.mode, (WORKING_MAX_SIDE, WORKING_MAX_SIDE))
        try:
            image.load()
        except Exception as error:
            raise ImageError(f"the image data is truncated or corrupt ({error})") from None
    scale = image.size[0] / header_width
    try:
        rotated = ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not cost the user the picture
        rotated = None
    if rotated is not None and rotated is not image:
        if rotated.size != image.size or image.getexif().get(0x0112, 1) != 1:
            notes.append("rotated upright from its EXIF orientation")
        image = rotated
    return image, notes, scale


def _pil_to_arrays(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, Image.Image]:
    """Luminance (float32, 0-1), alpha or None, and an RGB(A) picture for display."""
    mode = image.mode
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float32)
        if mode.startswith("I;16"):
            gray = values / 65535.0
        else:
            low, high = float(values.min()), float(values.max())
            gray = (values - low) / (high - low) if high > low else np.zeros_like(values)
        gray = np.clip(gray, 0.0, 1.0).astype(np.float32)
        return gray, None, Image.fromarray((gray * 255).astype(np.uint8)).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    rgb_image = image.convert("RGBA") if has_alpha else image.convert("RGB")
    pixels = np.asarray(rgb_image, dtype=np.float32) / 255.0
    gray = pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
    alpha = pixels[..., 3] if has_alpha else None
    return gray.astype(np.float32), alpha, rgb_image


def _array_to_arrays(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an image array must be HxW, HxWx3 or HxWx4; got shape {array.shape}")
    _check_pixels(array.shape[1], array.shape[0])
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
        return values, None
    gray = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114
    alpha = values[..., 3] if values.shape[2] == 4 else None
    return gray.astype(np.float32), alpha


def _composite(gray: np.ndarray, alpha: np.ndarray | None, notes: list[str]) -> tuple[np.ndarray, float | None]:
    """Flatten transparency onto the background that contrasts with the opaque strokes."""
    if alpha is None or alpha.min() >= 0.99:
        return gray, None
    if alpha.max() < 0.05:
        return gray, -1.0  # fully transparent: nothing to see
    opaque = alpha > 0.5
    stroke_level = float(gray[opaque].mean()) if opaque.any() else 0.0
    background = 1.0 if stroke_level < 0.5 else 0.0
    notes.append(f"transparent areas shown on {'white' if background else 'black'}")
    return (gray * alpha + background * (1.0 - alpha)).astype(np.float32), background


def decode_image(source) -> tuple[Decoded, bool]:
    """Read any supported input into luminance; the flag says the image was fully transparent."""
    notes: list[str] = []
    scale = 1.0
    if isinstance(source, np.ndarray):
        gray, alpha = _array_to_arrays(source)
        display = None
    else:
        if isinstance(source, Image.Image):
            image = source
            _check_pixels(*image.size)
        else:
            image, notes, scale = _open_pil(_read_bytes(source))
        try:
            gray, alpha, display = _pil_to_arrays(image)
        except ImageError:
            raise
        except Exception as error:  # an odd mode or palette Pillow opened but cannot convert
            raise ImageError(f"the image could not be decoded ({type(error).__name__}: {error})") from None
    original_size = (round(gray.shape[1] / scale), round(gray.shape[0] / scale))
    gray, background = _composite(gray, alpha, notes)
    display = _display_picture(gray, display, background)
    display.thumbnail((DISPLAY_MAX_SIDE, DISPLAY_MAX_SIDE))
    return Decoded(gray, display, original_size, notes, scale), background == -1.0


def _display_picture(gray: np.ndarray, picture: Image.Image | None, background: float | None) -> Image.Image:
    """An RGB picture of the input: the colour original where there is one, else the luminance."""
    if picture is None:
        return Image.fromarray((gray * 255).astype(np.uint8)).convert("RGB")
    if picture.mode == "RGBA":
        fill = (0, 0, 0) if background == 0.0 else (255, 255, 255)
        canvas = Image.new("RGB", picture.size, fill)
        canvas.paste(picture, mask=picture.getchannel("A"))
        return canvas
    return picture


# ---------------------------------------------------------------------------------------------
# 2. From luminance to ink


def _reduce(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Shrink big images to the working size (area-averaged); return the image and the factor."""
    height, width = gray.shape
    factor = WORKING_MAX_SIDE / max(height, width)
    if factor >= 1.0:
        return gray, 1.0
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    reduced = Image.fromarray(gray, mode="F").resize(size, Image.Resampling.BOX)
    return np.asarray(reduced, dtype=np.float32), factor


def _border(gray: np.ndarray) -> np.ndarray:
    width = max(1, min(gray.shape) // 20)
    return np.concatenate([gray[:width].ravel(), gray[-width:].ravel(), gray[:, :width].ravel(),
                           gray[:, -width:].ravel()])


def _noise_sigma(gray: np.ndarray) -> float:
    """Robust estimate of pixel noise from neighbour differences (0 for clean synthetic images)."""
    if gray.shape[1] < 2:
        return 0.0
    differences = np.abs(np.diff(gray, axis=1))
    return _quantiles(differences, (0.5,))[0] * 1.4826 / np.sqrt(2.0)


def _quantiles(values: np.ndarray, fractions: tuple[float, ...]) -> list[float]:
    """Quantiles of values in [0, 1] from a 256-bin histogram.

    Exact to 1/255, and far faster than np.percentile on images full of identical pixels (a black
    canvas), where numpy's selection algorithm degrades badly.
    """
    levels = np.clip(values.ravel() * 255.0 + 0.5, 0, 255).astype(np.uint8)
    cumulative = np.cumsum(np.bincount(levels, minlength=256))
    ranks = np.asarray(fractions) * (cumulative[-1] - 1)
    return [float(v) / 255.0 for v in np.searchsorted(cumulative, ranks, side="right")]


def ink_map(gray: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Express luminance as ink in [0, 1] on a 0 background; return (ink, reason-if-blank)."""
    border = _border(gray)
    lo_border, background, hi_border = _quantiles(border, (0.1, 0.5, 0.9))
    low, high = _quantiles(gray, (0.005, 0.995))
    if max(background - low, high - background) < MIN_CONTRAST:  # ink on under 0.5 % of the pixels
        low, high = float(gray.min()), float(gray.max())
    dark_ink = (background - low) >= (high - background)
    sigma = _noise_sigma(gray)
    if sigma > 0.01 and min(gray.shape) >= 16:
        gray = ndimage.median_filter(gray, size=3)  # speckle and sensor noise
    if hi_border - lo_border > 0.06 and min(gray.shape) >= 32:
        # Uneven lighting: estimate the paper's brightness everywhere (strokes removed by a grey
        # closing wider than a stroke), then measure ink relative to it.
        step = max(1, min(gray.shape) // 80)
        small = gray[::step, ::step]
        size = max(3, min(small.shape) // 5)
        local = ndimage.grey_closing(small, size=size) if dark_ink else ndimage.grey_opening(small, size=size)
        local = ndimage.uniform_filter(local, size=max(3, size // 2))
        local = ndimage.zoom(local, (gray.shape[0] / local.shape[0], gray.shape[1] / local.shape[1]), order=1)
        local = local[: gray.shape[0], : gray.shape[1]]
        if local.shape != gray.shape:
            missing = [(0, gray.shape[0] - local.shape[0]), (0, gray.shape[1] - local.shape[1])]
            local = np.pad(local, missing, mode="edge")
        signal = (local - gray) / np.maximum(local, 0.2) if dark_ink else gray - local
    else:
        signal = (background - gray) if dark_ink else (gray - background)
    signal = np.clip(signal, 0.0, None)
    level = _quantiles(signal, (0.997,))[0] if signal.size > 400 else float(signal.max())
    level = max(level, float(signal.max()) * 0.5)
    if level < MIN_CONTRAST:
        return np.zeros_like(gray), "no digit found: the image is blank or has no contrast"
    ink = np.clip(signal / level, 0.0, 1.0)
    floor = min(0.5, max(0.15, 4.0 * sigma / level))  # paper texture and faint smudges below this vanish
    ink = np.where(ink < floor, 0.0, ink).astype(np.float32)
    return ink, None


# ---------------------------------------------------------------------------------------------
# 3. Finding the digit


def digit_mask(ink: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The strokes that belong to the digit (specks removed), or the reason there are none."""
    mask = ink > MASK_LEVEL
    coverage = float(mask.mean())
    if coverage == 0.0:
        return None, "no digit found: the image is blank"
    if coverage > NOISE_COVERAGE:
        return None, "no digit found: the image looks like texture or noise, not a digit on a background"
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    min_size = max(2, 0.05 * sizes.max(), mask.size * 2e-5)
    keep = np.flatnonzero(sizes >= min_size) + 1
    if count >= NOISE_COMPONENTS and sizes.max() < 0.02 * mask.size and len(keep) > 8:
        return None, "no digit found: the image looks like scattered noise"
    if sizes.max() < max(3, mask.size * 1e-4):
        return None, "no digit found: only specks of ink"
    keep_lookup = np.zeros(count + 1, dtype=bool)
    keep_lookup[keep] = True
    return keep_lookup[labels], None


def stroke_width(mask: np.ndarray) -> float:
    """Average stroke width in pixels: 2 x area / perimeter (exact for long thin strokes)."""
    area = int(mask.sum())
    perimeter = int((mask & ~ndimage.binary_erosion(mask)).sum())
    return 2.0 * area / max(perimeter, 1)


def box_of(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of the True pixels."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# ---------------------------------------------------------------------------------------------
# 4. MNIST normalisation


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre, in pixel-index coordinates."""
    total = float(image.sum())
    rows = float(image.sum(axis=1) @ np.arange(image.shape[0])) / total
    columns = float(image.sum(axis=0) @ np.arange(image.shape[1])) / total
    return rows, columns


def to_mnist_field(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Crop to the digit, fit it in 20x20 keeping its aspect, centre its mass in 28x28."""
    x0, y0, x1, y1 = box_of(mask)
    crop = np.where(mask[y0:y1, x0:x1], ink[y0:y1, x0:x1], 0.0).astype(np.float32)
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    width_at_scale = stroke_width(mask[y0:y1, x0:x1]) * scale
    if width_at_scale < MIN_STROKE_WIDTH:
        grow = int(round((MIN_STROKE_WIDTH + 0.4) / scale - width_at_scale / scale))
        if grow >= 1:  # hair-thin pen or font strokes would vanish when shrunk: thicken them first
            crop = np.pad(crop, grow)
            crop = ndimage.grey_dilation(crop, size=grow + 1)
            height, width = crop.shape
            scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    peak = float(small.max())
    if peak <= 0.0:
        small = np.zeros_like(small)
    else:
        small = np.clip(small / peak, 0.0, 1.0)
    centre_y, centre_x = _centre_of_mass(small) if peak > 0 else (size[1] / 2, size[0] / 2)
    top = int(np.clip(round(FIELD_CENTRE - centre_y), 0, config.IMAGE_SIZE - size[1]))
    left = int(np.clip(round(FIELD_CENTRE - centre_x), 0, config.IMAGE_SIZE - size[0]))
    field_ = np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.float32)
    field_[top: top + size[1], left: left + size[0]] = small
    return field_


@dataclass
class InkImage:
    """A decoded input reduced to the working size, as ink, with the strokes that matter."""

    decoded: Decoded
    ink: np.ndarray | None  # float32 (h, w) in [0, 1] at the working size
    mask: np.ndarray | None  # the strokes kept (specks removed)
    factor: float  # working size / original size
    reason: str | None = None  # why there is no ink to read

    def box_in_original(self, mask: np.ndarray) -> tuple[int, int, int, int]:
        """The box of some strokes, in the input's own pixel coordinates."""
        x0, y0, x1, y1 = box_of(mask)
        width, height = self.decoded.original_size
        return (int(x0 / self.factor), int(y0 / self.factor), min(width, int(np.ceil(x1 / self.factor))),
                min(height, int(np.ceil(y1 / self.factor))))


def find_ink(source) -> InkImage:
    """Decode any input and find its ink and strokes (steps 1-3 shared by digits and numbers)."""
    decoded, fully_transparent = decode_image(source)
    if fully_transparent:
        return InkImage(decoded, None, None, 1.0, "no digit found: the image is fully transparent")
    gray, factor = _reduce(decoded.gray)
    factor *= decoded.scale  # working pixels per input pixel
    ink, reason = ink_map(gray)
    if reason:
        return InkImage(decoded, None, None, factor, reason)
    mask, reason = digit_mask(ink)
    return InkImage(decoded, ink, mask, factor, reason)


def prepare_image(source) -> Prepared:
    """Turn any user image into the model's 28x28 input and the picture of what the model sees.

    Raises ImageError (or ImageTooLargeError) for inputs that cannot be read; a readable image
    without a digit gives a Prepared whose `reason` says why and whose `model_input` is None.
    """
    found = find_ink(source)
    decoded = found.decoded
    if found.reason:
        return Prepared(None, decoded.display, decoded.notes, found.reason)
    return Prepared(to_mnist_field(found.ink, found.mask), decoded.display, decoded.notes, None,
                    found.box_in_original(found.mask))


def normalize_mnist(images: np.ndarray) -> np.ndarray:
    """Turn MNIST uint8 arrays (N, 28, 28) into model input: float32 (N, 28, 28, 1) in [0, 1].

    MNIST is already what `prepare_image` produces (white ink on black, the digit in a 20x20 box
    centred by centre of mass in 28x28), so only the scaling to [0, 1] is applied.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.shape[1:] != (config.IMAGE_SIZE, config.IMAGE_SIZE):
        raise ValueError(f"expected MNIST-shaped images (N, 28, 28), got {images.shape}")
    return (images.astype(np.float32) / 255.0)[..., None]


def to_batch(prepared_images: list[np.ndarray]) -> np.ndarray:
    """Stack 28x28 model inputs into the (N, 28, 28, 1) float32 batch the network takes."""
    if not prepared_images:
        return np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE, 1), dtype=np.float32)
    return np.stack(prepared_images).astype(np.float32)[..., None]
