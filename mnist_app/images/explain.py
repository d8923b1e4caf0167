"""Why this digit: occlusion sensitivity over the 28x28 model input.

A grey-free (zero) square is slid over the image; for every position the model is asked again, all
positions in one batch. Where covering the image lowers the probability of the predicted digit most,
those pixels drove the prediction. It needs only forward passes, so it works with the fast ONNX path
(gradient saliency and Grad-CAM would need the TensorFlow graph) and costs one batch of ~170 images.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_app import config

PATCH = 6
STRIDE = 2
HOW_TO_READ = ("Red marks the pixels that matter: covering them lowers the model's confidence in "
               "its answer the most. Faint or no colour means the model ignores that part.")


def occlusion_map(predictor, model_input: np.ndarray, digit: int, patch: int = PATCH, stride: int = STRIDE):
    """28x28 map, 0..1: how much hiding each pixel's neighbourhood lowers P(digit)."""
    size = config.IMAGE_SIZE
    starts = range(0, size - patch + 1, stride)
    positions = [(top, left) for top in starts for left in starts]
    batch = np.repeat(model_input[None, ..., None].astype(np.float32), len(positions) + 1, axis=0)
    for index, (top, left) in enumerate(positions, start=1):
        batch[index, top: top + patch, left: left + patch, 0] = 0.0
    probabilities = predictor.predict_batch(batch)
    drops = np.clip(probabilities[0, digit] - probabilities[1:, digit], 0.0, None)
    heat = np.zeros((size, size), dtype=np.float64)
    coverage = np.zeros((size, size), dtype=np.float64)
    for drop, (top, left) in zip(drops, positions):
        heat[top: top + patch, left: left + patch] += drop
        coverage[top: top + patch, left: left + patch] += 1
    heat = heat / np.maximum(coverage, 1)
    peak = heat.max()
    return (heat / peak if peak > 0 else heat).astype(np.float32)


def overlay(model_input: np.ndarray, heat: np.ndarray, size: int = 168) -> Image.Image:
    """The model input in grey with the heat map laid over it in red, enlarged."""
    grey = np.clip(model_input, 0, 1)[..., None] * np.array([0.55, 0.55, 0.55])
    red = np.array([1.0, 0.15, 0.1])
    alpha = np.clip(heat, 0, 1)[..., None] * 0.85
    rgb = grey * (1 - alpha) + red * alpha
    picture = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), mode="RGB")
    return picture.resize((size, size), Image.Resampling.NEAREST)
