"""Is a candidate of whole-number segmentation one whole digit? A small network's answer, as log-odds.

The digit classifier was trained on whole digits only: shown half of a 0, or two touching digits squeezed into
one field, it often answers as confidently as for a real digit, and the segmentation cannot tell the reading
it should keep. This network (32,609 parameters, 1.5 MFLOP a candidate against the classifier's 60) was trained
for that question alone, on the candidates of written numbers made from MNIST *training* digits, labelled by where
each digit's ink was placed (`mnist_app.training.whole_digit`, run by `make whole-digit`). Its answer is one more
feature of a candidate's score (`segment.FEATURES`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from mnist_app.errors import ModelFileError
from mnist_app.images import preprocess
from mnist_app.network import inference

MODEL_PATH = Path(__file__).with_name("whole_digit.onnx")
LOGIT_CAP = 10.0  # log-odds beyond this either way say nothing more

_lock = threading.Lock()
_sessions: dict[Path, object] = {}


def _session(path: Path):
    with _lock:
        if path not in _sessions:
            try:  # one thread: 60 small fields a number; the classifier's batch is where the cores pay
                _sessions[path] = inference.onnx_session(path, threads=1)
            except Exception as error:
                raise ModelFileError(f"The whole-digit model {path} could not be read ({str(error)[:200]}); "
                                     "rebuild it with: make whole-digit") from None
        return _sessions[path]


def log_odds(fields: list[np.ndarray]) -> np.ndarray:
    """Per 28x28 field (as `preprocess.to_mnist_field` makes them), the log-odds that it is one whole digit,
    within +-LOGIT_CAP (a field shared by several candidates is weighed once)."""
    unique, positions = preprocess.distinct(fields)
    return answer(_session(MODEL_PATH), unique)[positions]


def answer(session, fields: list[np.ndarray]) -> np.ndarray:
    """`log_odds` from a given ONNX Runtime session (the training checks its export with it)."""
    if not len(fields):
        return np.zeros(0)
    logits = session.run(None, {session.get_inputs()[0].name: preprocess.to_batch(fields)})[0]
    return np.clip(logits.reshape(-1).astype(np.float64), -LOGIT_CAP, LOGIT_CAP)
