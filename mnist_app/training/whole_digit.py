"""The whole-digit network of whole-number segmentation (`mnist_app.images.wholeness`): its data, training and export.

    make whole-digit        (.venv/bin/python scripts/train_whole_digit.py; about 4 minutes on 2 cores)

Its examples are the candidates that `reading.prepare(number=True)` makes of written numbers
(`mnist_app.measure.numbers`, every face and spacing) built from MNIST *training* digits -- the written-number test
sets are made of test digits, so nothing they hold is learnt -- each labelled whole or not by where its digit's ink
was placed (`numbers.whole_digits`). About 9 % of candidates are whole digits. Nothing here needs the classifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from mnist_app import config
from mnist_app.images import reading, wholeness
from mnist_app.measure import numbers
from mnist_app.network import inference
from mnist_app.store import data
from mnist_app.training import export as export_step

SEEDS = (101, 102)  # of the written numbers it learns from (the segmentation's are 23-27, the tests' 2026)
PER_KIND = 200  # numbers per face and spacing and seed: 3,200 numbers, about 215,000 candidates
VALIDATION_SHARE = 0.1  # of the numbers, kept out of training to report on
EPOCHS = 8
BATCH_SIZE = 256


def collect(seeds=SEEDS, per_kind: int = PER_KIND, log: Callable[[str], None] = print
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every candidate's 28x28 field, whether it is a whole digit, and the index of its number."""
    mnist = data.load_mnist(log=log)
    fields, labels, owners, count = [], [], [], 0
    for seed in seeds:
        cases = numbers.build(mnist.x_train, mnist.y_train, per_kind, seed)
        for case in cases:
            prepared = reading.prepare(case.payload, number=True)
            if prepared.fields:
                fields.append(np.stack(prepared.fields).reshape(-1, *config.INPUT_SHAPE[:2]).astype(np.float32))
                labels.append(numbers.whole_digits(case, prepared.boxes))
                owners.append(np.full(len(prepared.fields), count))
            count += 1
        log(f"seed {seed}: {len(cases)} numbers read into candidates")
    return np.concatenate(fields), np.concatenate(labels), np.concatenate(owners)


def network() -> keras.Model:
    return keras.Sequential([
        keras.Input(config.INPUT_SHAPE),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),  # log-odds of a whole digit
    ], name="whole_digit")


def train(fields: np.ndarray, labels: np.ndarray, owners: np.ndarray, *, epochs: int = EPOCHS, seed: int = 0,
          log: Callable[[str], None] = print) -> tuple[keras.Model, dict]:
    """The network trained on the candidates of most numbers, and its figures on the rest (split by number, so a
    number's candidates are all on one side)."""
    keras.utils.set_random_seed(seed)
    held = np.random.default_rng(seed).random(int(owners.max()) + 1) < VALIDATION_SHARE
    if not held.any():  # (a handful of numbers still reports on one)
        held[-1] = True
    validation = held[owners]
    x, y = fields[..., None], labels.astype(np.float32)
    model = network()
    steps = epochs * -(-int((~validation).sum()) // BATCH_SIZE)
    # the rate decays to 0 (cosine): the last epoch settles instead of ending wherever a step happened to land
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0), keras.metrics.AUC(from_logits=True)])
    started = time.perf_counter()
    model.fit(x[~validation], y[~validation], batch_size=BATCH_SIZE, epochs=epochs, verbose=2,
              validation_data=(x[validation], y[validation]))
    loss, accuracy, auc = model.evaluate(x[validation], y[validation], batch_size=1024, verbose=0)
    figures = {"candidates": int(len(y)), "whole share": float(y.mean()),
               "validation candidates": int(validation.sum()),
               "validation loss": float(loss), "validation accuracy": float(accuracy), "validation AUC": float(auc),
               "seconds": round(time.perf_counter() - started, 1)}
    log(", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                  for key, value in figures.items()))
    return model, figures


def export(model: keras.Model, check: np.ndarray, path: Path = wholeness.MODEL_PATH) -> float:
    """Write the ONNX file the segmentation loads and return the largest difference of its answers from Keras' on
    `check` (fields), after the cap both apply."""
    signature = (tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32, name="field"),)
    function = tf.function(lambda field: {"whole_log_odds": model(field, training=False)})
    proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=export_step.ONNX_OPSET)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "exported_by", "mnist_app.training.whole_digit.export"
    temporary = path.with_suffix(".onnx.tmp")
    onnx.save(proto, str(temporary))
    reference = np.clip(model.predict(check[..., None], batch_size=1024, verbose=0).reshape(-1),
                        -wholeness.LOGIT_CAP, wholeness.LOGIT_CAP)
    difference = float(np.abs(wholeness.answer(inference.onnx_session(temporary, 1), check) - reference).max())
    if difference > 1e-3:
        temporary.unlink()
        raise RuntimeError(f"The ONNX export of the whole-digit network answers up to {difference:.2g} away from "
                           "Keras'")
    temporary.replace(path)
    return difference
