"""The one preprocessing path, on small synthetic images (milliseconds each)."""

import io

import numpy as np
import pytest
from PIL import Image

from mnist_app.errors import ImageError, ImageTooLargeError
from mnist_app.images import preprocess, reading
from tests.support import images


def prepared(source):
    result = reading.prepare(source)
    assert result.has_digit, result.reason
    return result.model_input


def test_output_is_mnist_shaped_float_in_unit_range():
    field = prepared(images.encode(images.seven()))
    assert field.shape == (28, 28) and field.dtype == np.float32
    assert field.min() >= 0.0 and field.max() == pytest.approx(1.0)


@pytest.mark.parametrize("offset", [(5, 5), (100, 20), (30, 110)])
def test_off_centre_digit_is_scaled_into_20px_and_centred_by_mass(offset):
    field = prepared(images.encode(images.seven(offset=offset, scale=0.4)))
    height, width = images.ink_box(field)
    assert max(height, width) in (20, 21)  # longest side fills the 20 px box (bilinear edge may add one)
    row, col = images.centre_of_mass(field)
    assert abs(row - 14.0) <= 0.75 and abs(col - 14.0) <= 0.75


def test_aspect_ratio_is_kept():
    tall = prepared(images.encode(images.ring(radius=(15, 60))))
    height, width = images.ink_box(tall)
    assert height >= 19 and width <= 9  # a plain resize to 28x28 would have made it round


def test_dark_ink_on_paper_equals_light_strokes_on_canvas():
    light_on_dark = prepared(images.encode(images.seven(ink=255, paper=0)))
    dark_on_light = prepared(images.encode(images.seven(ink=0, paper=255)))
    assert np.abs(light_on_dark - dark_on_light).max() < 0.05


def test_tinted_unevenly_lit_paper_gives_the_clean_result():
    clean = prepared(images.encode(images.seven(ink=0, paper=255)))
    drawing = np.asarray(images.seven(ink=0, paper=255), dtype=np.float32) / 255
    light = np.linspace(1.0, 0.55, drawing.shape[1])[None, :]  # strong left-to-right shading
    tint = np.array([1.0, 0.93, 0.8])
    photo = drawing[..., None] * tint * light[..., None] * 0.95 + 0.02
    noise = np.random.default_rng(0).normal(0, 0.02, photo.shape)
    rgb = Image.fromarray((np.clip(photo + noise, 0, 1) * 255).astype(np.uint8))
    field = prepared(images.encode(rgb, "JPEG", quality=80))
    assert np.corrcoef(field.ravel(), clean.ravel())[0, 1] > 0.9


@pytest.mark.parametrize("stroke", ["black", "white"])
def test_transparent_png_is_composited_onto_a_contrasting_background(stroke):
    reference = prepared(images.encode(images.seven()))
    alpha = images.seven()
    colour = 0 if stroke == "black" else 255
    rgba = Image.merge("RGBA", [Image.new("L", alpha.size, colour)] * 3 + [alpha])
    field = prepared(images.encode(rgba))
    assert np.abs(field - reference).max() < 0.05


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"])
def test_every_image_mode_gives_the_same_digit(mode):
    reference = prepared(images.encode(images.seven()))
    base = images.seven()
    if mode == "I;16":
        converted = Image.fromarray(np.asarray(base, dtype=np.uint16) * 257)
        assert converted.mode.startswith("I;16")
    elif mode == "P":
        converted = base.convert("P")
        converted.info["transparency"] = 0  # palette index 0 (the black background) is transparent
    else:
        converted = base.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    field = prepared(images.encode(converted, fmt, **({"transparency": 0} if mode == "P" else {})))
    tolerance = 0.25 if mode == "CMYK" else 0.06  # JPEG is lossy
    assert np.abs(field - reference).mean() < tolerance / 4 and np.abs(field - reference).max() < tolerance + 0.2


def test_exif_orientation_is_applied():
    upright = images.ring(radius=(15, 60))  # tall
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a sideways camera sensor stores
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    payload = images.encode(stored.convert("RGB"), "JPEG", exif=exif.tobytes())
    result = reading.prepare(payload)
    height, width = images.ink_box(result.model_input)
    assert height > width * 1.8
    assert any("EXIF" in note for note in result.notes)


def test_animated_gif_uses_first_frame_and_says_so():
    first, second = images.seven().convert("P"), Image.new("P", (200, 200), 0)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=100, loop=0)
    result = reading.prepare(buffer.getvalue())
    assert result.has_digit
    assert any("first of its 2 frames" in note for note in result.notes)


def test_hair_thin_strokes_are_thickened():
    thin = images.seven(size=600, scale=0.8, width=1, offset=(50, 50))
    field = prepared(images.encode(thin))
    mask = field > 0.5
    assert preprocess.stroke_width(mask) >= 1.5
    assert field.max() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Image.new("L", (120, 120), 255),
        lambda: Image.new("L", (120, 120), 0),
        lambda: Image.new("L", (120, 120), 128),
        lambda: Image.new("RGBA", (120, 120), (0, 0, 0, 0)),
        lambda: Image.fromarray((np.random.default_rng(1).random((200, 200)) * 255).astype(np.uint8)),
        lambda: Image.fromarray((np.random.default_rng(2).random((200, 200, 3)) * 255).astype(np.uint8)),
        lambda: Image.fromarray((250 + np.random.default_rng(3).random((150, 150)) * 5).astype(np.uint8)),
    ],
    ids=["white", "black", "grey", "transparent", "noise", "colour-noise", "faint-texture"],
)
def test_images_without_a_digit_are_no_digit_not_a_guess(make):
    result = reading.prepare(images.encode(make()))
    assert not result.has_digit
    assert result.reason.startswith("no digit found")


def test_canvas_rgba_array_with_black_background():
    drawing = np.asarray(images.seven(size=280), dtype=np.uint8)
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 0] = canvas[..., 1] = canvas[..., 2] = drawing
    canvas[..., 3] = 255
    field = prepared(canvas)
    assert np.abs(field - prepared(images.encode(images.seven(size=280)))).max() < 0.05
    blank = np.zeros((280, 280, 4), dtype=np.uint8)
    blank[..., 3] = 255
    assert not reading.prepare(blank).has_digit


def test_mnist_test_digits_pass_through_nearly_unchanged(mnist):
    # MNIST is already normalised: re-preparing its digits from PNGs must give (nearly) the same pixels.
    differences = []
    for digit in mnist.x_test[:200]:
        field = prepared(images.encode(Image.fromarray(digit)))
        differences.append(np.abs(field - digit / 255.0).mean())
    assert np.median(differences) < 0.03


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"hello, this is text pretending to be a png", "not an image"),
        (b"<html><body>not an image</body></html>", "not an image"),
    ],
)
def test_unreadable_inputs_raise_image_error(payload, message):
    with pytest.raises(ImageError, match=message):
        reading.prepare(payload)


def test_truncated_png_and_jpeg_raise_image_error():
    for fmt in ("PNG", "JPEG"):
        payload = images.encode(images.seven().convert("RGB"), fmt)
        with pytest.raises(ImageError):
            reading.prepare(payload[: len(payload) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError, match="limit"):
        reading.prepare(images.png_declaring(30000, 30000))


def test_normalize_mnist_scales_and_adds_channel():
    batch = np.full((3, 28, 28), 255, dtype=np.uint8)
    normalised = preprocess.normalize_mnist(batch)
    assert normalised.shape == (3, 28, 28, 1) and normalised.dtype == np.float32 and normalised.max() == 1.0
    with pytest.raises(ValueError):
        preprocess.normalize_mnist(np.zeros((3, 32, 32), dtype=np.uint8))
