"""The data behind a result card (no Streamlit here, so it can be tested and benchmarked on its own)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from mnist_app.errors import ImageError
from mnist_app.inference import UNSURE_BELOW, Prediction

PICTURE_SIZE = 168  # 28 x 6: every model pixel becomes a crisp 6x6 block


def upscale(model_input: np.ndarray, size: int = PICTURE_SIZE) -> Image.Image:
    """The 28x28 model input as an enlarged picture with hard pixel edges."""
    picture = Image.fromarray((np.clip(model_input, 0, 1) * 255).astype(np.uint8))
    return picture.resize((size, size), Image.Resampling.NEAREST)


def ranking_frame(probabilities: np.ndarray) -> pd.DataFrame:
    """All ten digits with their probabilities (the top-10 chart's data)."""
    return pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": np.asarray(probabilities, float)})


def card_data(prediction: Prediction) -> dict:
    """Everything the result card shows for one prediction."""
    if not prediction.has_digit:
        return {"digit": None, "reason": prediction.reason, "notes": prediction.notes}
    runner_up, runner_probability = prediction.top(2)[1]
    return {
        "digit": prediction.digit,
        "confidence": prediction.confidence,
        "unsure": prediction.unsure,
        "runner_up": (runner_up, runner_probability),
        "ranking": ranking_frame(prediction.probabilities),
        "picture": upscale(prediction.model_input),
        "notes": prediction.notes,
    }


def batch_table(results: dict) -> pd.DataFrame:
    """One row per file (file, digit, confidence, status) for a batch of predictions or ImageErrors."""
    rows = []
    for name, result in results.items():
        if isinstance(result, ImageError):
            rows.append({"file": name, "digit": None, "confidence": None, "status": f"error: {result}"})
        elif not result.has_digit:
            rows.append({"file": name, "digit": None, "confidence": None, "status": result.reason})
        else:
            rows.append({"file": name, "digit": result.digit, "confidence": round(result.confidence, 4),
                         "status": "unsure" if result.unsure else "ok"})
    return pd.DataFrame(rows, columns=["file", "digit", "confidence", "status"]).astype({"digit": "Int64"})


def number_table(results: dict) -> pd.DataFrame:
    """One row per file (file, number, digits, confidence = the least sure digit's, status)."""
    rows = []
    for name, result in results.items():
        if isinstance(result, ImageError):
            rows.append({"file": name, "number": None, "digits": None, "confidence": None,
                         "status": f"error: {result}"})
        elif result.number is None:
            rows.append({"file": name, "number": None, "digits": 0, "confidence": None, "status": result.reason})
        else:
            lowest = min(d.confidence for d in result.digits)
            rows.append({"file": name, "number": result.number, "digits": len(result.digits),
                         "confidence": round(lowest, 4), "status": "unsure" if lowest < UNSURE_BELOW else "ok"})
    return pd.DataFrame(rows, columns=["file", "number", "digits", "confidence", "status"])
