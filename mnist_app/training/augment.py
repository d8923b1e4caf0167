"""On-the-fly training augmentation, batched in TensorFlow so it runs inside the tf.data pipeline.

Users draw slanted, off-centre, fat- or thin-stroked digits; these transforms teach the network
that such variation does not change the digit: a random affine warp (rotation, zoom, aspect,
shear, shift) in a single resampling pass, and a random stroke-width change (dilation / erosion).
"""

from __future__ import annotations

import math

import tensorflow as tf

from mnist_app import config

MAX_ROTATION_DEGREES = 12.0
ZOOM_RANGE = (0.9, 1.1)
ASPECT_RANGE = (0.9, 1.1)
MAX_SHEAR = 0.15
MAX_SHIFT_PIXELS = 2.5
THICKEN_PROBABILITY = 0.25
THIN_PROBABILITY = 0.15


def _random_affine_transforms(batch_size: tf.Tensor, seed_generator: tf.random.Generator) -> tf.Tensor:
    """Per-image 8-vectors for ImageProjectiveTransformV3 (output pixel -> input pixel)."""
    def uniform(low, high):
        return seed_generator.uniform([batch_size], low, high)

    angle = uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES) * (math.pi / 180.0)
    zoom = uniform(*ZOOM_RANGE)
    aspect = uniform(*ASPECT_RANGE)
    shear = uniform(-MAX_SHEAR, MAX_SHEAR)
    shift_x = uniform(-MAX_SHIFT_PIXELS, MAX_SHIFT_PIXELS)
    shift_y = uniform(-MAX_SHIFT_PIXELS, MAX_SHIFT_PIXELS)
    scale_x, scale_y = zoom * aspect, zoom / aspect
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map A = rotation @ shear @ diag(scale_x, scale_y), applied about the image centre.
    a00 = cos * scale_x
    a01 = (cos * shear - sin) * scale_y
    a10 = sin * scale_x
    a11 = (sin * shear + cos) * scale_y
    determinant = a00 * a11 - a01 * a10
    # The op wants the inverse map: input = centre + A^-1 (output - centre - shift).
    m00, m01 = a11 / determinant, -a01 / determinant
    m10, m11 = -a10 / determinant, a00 / determinant
    centre = (config.IMAGE_SIZE - 1) / 2.0
    offset_x = centre - m00 * (centre + shift_x) - m01 * (centre + shift_y)
    offset_y = centre - m10 * (centre + shift_x) - m11 * (centre + shift_y)
    zeros = tf.zeros_like(angle)
    return tf.stack([m00, m01, offset_x, m10, m11, offset_y, zeros, zeros], axis=1)


def augment_batch(images: tf.Tensor, seed_generator: tf.random.Generator) -> tf.Tensor:
    """Randomly warp and re-stroke a batch of (N, 28, 28, 1) float images in [0, 1]."""
    batch_size = tf.shape(images)[0]
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=_random_affine_transforms(batch_size, seed_generator),
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    thick = tf.nn.max_pool2d(warped, ksize=3, strides=1, padding="SAME")
    thin = -tf.nn.max_pool2d(-warped, ksize=2, strides=1, padding="SAME")
    choice = seed_generator.uniform([batch_size, 1, 1, 1])
    strength = seed_generator.uniform([batch_size, 1, 1, 1], 0.3, 1.0)
    thicken = tf.cast(choice < THICKEN_PROBABILITY, images.dtype) * strength
    thin_out = tf.cast(choice > 1.0 - THIN_PROBABILITY, images.dtype) * strength
    restroked = warped + thicken * (thick - warped) + thin_out * (thin - warped)
    return tf.clip_by_value(restroked, 0.0, 1.0)
