"""Broken and hostile images: each gets a specific message or a sensible answer, never a traceback."""

import io

import numpy as np
import pytest
from PIL import Image

from mnist_app.errors import ImageError, ImageTooLargeError
from mnist_app.images import preprocess, reading
from tests.support import images


def test_file_over_the_byte_cap_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as handle:
        handle.truncate(preprocess.MAX_INPUT_BYTES + 1)  # sparse: no memory or disk spent
    with pytest.raises(ImageTooLargeError, match="MiB"):
        reading.prepare(path)
    with pytest.raises(ImageTooLargeError, match="MiB"):
        reading.prepare(io.BytesIO(b"\0" * (preprocess.MAX_INPUT_BYTES + 1)))


@pytest.mark.parametrize("width, height", [(30000, 30000), (9000, 9000)])
def test_images_declaring_too_many_pixels_are_refused_from_the_header(width, height):
    with pytest.raises(ImageTooLargeError, match="MP limit"):
        reading.prepare(images.png_declaring(width, height))


def test_one_pixel_image_is_no_digit():
    result = reading.prepare(images.encode(Image.new("L", (1, 1), 0)))
    assert not result.has_digit


def test_extreme_aspect_5000x10_image_is_handled():
    strip = Image.new("L", (5000, 10), 255)
    strip.paste(0, (2400, 2, 2600, 8))
    result = reading.prepare(images.encode(strip))
    if result.has_digit:
        rows, cols = images.ink_box(result.model_input)
        assert cols >= 18 and rows <= 3  # a long thin stroke stays long and thin
    assert result.display.size[0] <= preprocess.DISPLAY_MAX_SIDE


def test_fully_transparent_png_says_so():
    result = reading.prepare(images.encode(Image.new("RGBA", (64, 64), (255, 0, 0, 0))))
    assert not result.has_digit and "fully transparent" in result.reason


def test_palette_png_with_transparency_keeps_its_digit():
    palette = images.seven(ink=1, paper=0).convert("P")
    result = reading.prepare(images.encode(palette, transparency=0))
    assert result.has_digit


@pytest.mark.parametrize("array, message", [
    (np.zeros((0, 10)), "no pixels"),
    (np.zeros(10), "HxW"),
    (np.zeros((5, 5, 2)), "HxW"),
    (np.full((8, 8), np.nan), "NaN"),
    (np.zeros((8, 8), dtype=np.complex64), "dtype"),
])
def test_bad_arrays_raise_image_error(array, message):
    with pytest.raises(ImageError, match=message):
        reading.prepare(array)


@pytest.mark.parametrize("source", [None, 42, object()])
def test_unsupported_source_types_raise_image_error(source):
    with pytest.raises(ImageError, match="cannot read an image"):
        reading.prepare(source)


def test_html_with_image_extension_and_gif_header_garbage():
    with pytest.raises(ImageError):
        reading.prepare(b"<!DOCTYPE html><html><img src=x></html>")
    with pytest.raises(ImageError):
        reading.prepare(b"GIF89a" + bytes(range(256)) * 4)
