"""Training: build the data, fit the networks, evaluate the model, write the results, run the export step.

`run(recipe)` (behind `python -m mnist_app train` and `scripts/train.py`) writes, into the recipe's
output folder (default `models/`), through `mnist_app.results`:
- `mnist_cnn_model.h5`: the model the dashboard loads;
- `history.json`: per network and epoch, loss, accuracy, val_loss, val_accuracy, learning rate, seconds;
- `metrics.json`: test-set figures, per-class scores, confusion matrix, calibration, how the model was made;
and then calls the export step (`mnist_app.export.prepare_serving`: the verified ONNX file, the layer table,
the test-set report). The test set is only ever used for the final report, never to choose anything.
"""

from __future__ import annotations

import datetime
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import absl.logging
import keras
import numpy as np
import tensorflow as tf

from mnist_app import augment, calibration, config, data, evaluate, export, model as networks, preprocess, results
from mnist_app.recipe import Recipe


@dataclass
class TrainingData:
    """The images a run trains on, is judged on while training, and reports on at the end (model inputs)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def build_data(recipe: Recipe, log: Callable[[str], None] = print) -> TrainingData:
    """MNIST, split into training and a fixed validation set, scaled to model input."""
    mnist = data.load_mnist(log=log)
    (x_train, y_train), (x_val, y_val) = data.split_validation(mnist.x_train, mnist.y_train, recipe.validation_size)
    if recipe.limit:
        x_train, y_train = x_train[: recipe.limit], y_train[: recipe.limit]
    return TrainingData(preprocess.normalize_mnist(x_train), y_train.astype(np.int64),
                        preprocess.normalize_mnist(x_val), y_val.astype(np.int64),
                        preprocess.normalize_mnist(mnist.x_test), mnist.y_test.astype(np.int64))


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augmented: bool) -> tf.data.Dataset:
    """A shuffled, batched tf.data pipeline with augmentation done per batch on the fly."""
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=False)
    if augmented:
        generator = tf.random.Generator.from_seed(seed)
        dataset = dataset.map(lambda images, labels: (augment.augment_batch(images, generator), labels),
                              num_parallel_calls=1)
    return dataset.prefetch(tf.data.AUTOTUNE)


class EpochRecorder(keras.callbacks.Callback):
    """Records every epoch's losses, accuracies, learning rate and seconds (and test accuracy when asked)."""

    def __init__(self, test_set: tuple[np.ndarray, np.ndarray] | None = None):
        super().__init__()
        self.test_set = test_set
        self.epochs: list[dict] = []
        self._training_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        record = {"epoch": epoch + 1, **{key: float(logs[key]) for key in ("loss", "accuracy", "val_loss",
                                                                            "val_accuracy")}}
        record["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        record["seconds"] = round(time.perf_counter() - self._started, 2)
        self._training_seconds += record["seconds"]
        record["elapsed_seconds"] = round(self._training_seconds, 2)
        if self.test_set is not None:
            probabilities = self.model.predict(self.test_set[0], batch_size=1000, verbose=0)
            record["test_accuracy"] = float(np.mean(probabilities.argmax(axis=1) == self.test_set[1]))
        self.epochs.append(record)


def train_network(arch, x_train, y_train, x_val, y_val, *, epochs, batch_size, seed, learning_rate, augmented,
                  verbose, test_set=None, callbacks=()):
    """Train one network with Adam and a one-cycle (warm-up + cosine) schedule; return it and its epochs."""
    keras.utils.set_random_seed(seed)
    network = networks.build_model(arch)
    steps_per_epoch = int(np.ceil(len(x_train) / batch_size))
    total_steps = max(1, epochs * steps_per_epoch)
    warmup_steps = min(steps_per_epoch, total_steps // 5)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=1e-3,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )
    network.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    recorder = EpochRecorder(test_set)
    # Keras warns that fit's shuffle flag is ignored for a tf.data input; the dataset shuffles itself.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed")
    network.fit(make_dataset(x_train, y_train, batch_size, seed, augmented), validation_data=(x_val, y_val),
                epochs=epochs, callbacks=[recorder, *callbacks], verbose=verbose)
    return network, recorder.epochs


def fit(recipe: Recipe, training: TrainingData, log: Callable[[str], None] = print,
        callbacks=()) -> tuple[keras.Model, list[dict]]:
    """Train the recipe's networks and fold them into one model; return it and every network's epochs."""
    log(f"Training {recipe.ensemble} x {recipe.arch} on {len(training.x_train)} images, "
        f"validating on {len(training.x_val)}.")
    members, runs = [], []
    for index in range(recipe.ensemble):
        seed = recipe.seed + index
        if recipe.ensemble > 1:
            log(f"--- network {index + 1} of {recipe.ensemble} (seed {seed}) ---")
        network, epochs = train_network(
            recipe.arch, training.x_train, training.y_train, training.x_val, training.y_val, epochs=recipe.epochs,
            batch_size=recipe.batch_size, seed=seed, learning_rate=recipe.learning_rate, augmented=recipe.augment,
            verbose=recipe.verbose, test_set=(training.x_test, training.y_test) if recipe.track_test else None,
            callbacks=callbacks)
        members.append(network)
        runs.append({"name": f"network {index + 1} (seed {seed})", "seed": seed, "epochs": epochs})
    return networks.fold_ensemble(members), runs


def library_versions() -> dict:
    """Versions of the packages that shaped the model file."""
    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def evaluate_model(model: keras.Model, training: TrainingData, recipe: Recipe, training_seconds: float,
                   command: str) -> tuple[dict, np.ndarray]:
    """The model's figures for metrics.json, and its probabilities on the test set (the export's reference)."""
    val_probabilities = export.keras_reference(model, training.x_val).astype(np.float64)
    test_probabilities = export.keras_reference(model, training.x_test).astype(np.float64)
    report = evaluate.classification_report(test_probabilities, training.y_test)
    metrics = {
        "test_accuracy": report["accuracy"],
        "test_loss": report["loss"],
        "validation_accuracy": float(np.mean(val_probabilities.argmax(axis=1) == training.y_val)),
        "validation_loss": calibration.negative_log_likelihood(val_probabilities, training.y_val),
        **{key: value for key, value in report.items() if key not in ("accuracy", "loss")},
        "parameters": networks.parameter_count(model),
        "arch": recipe.arch,
        "ensemble": recipe.ensemble,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "seed": recipe.seed,
        "learning_rate": recipe.learning_rate,
        "augment": recipe.augment,
        "training_images": int(len(training.x_train)),
        "validation_images": int(len(training.x_val)),
        "training_seconds": round(training_seconds, 1),
        "calibration": calibration.calibration_report(val_probabilities, training.y_val, test_probabilities,
                                                      training.y_test),
        "versions": library_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }
    return metrics, test_probabilities.astype(np.float32)


def write_results(output_dir: Path, model: keras.Model, runs: list[dict], metrics: dict, recipe: Recipe,
                  command: str) -> None:
    """The model file, its history and its metrics, into `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    absl.logging.set_verbosity(absl.logging.ERROR)  # HDF5 is the product's format; skip Keras' "legacy" notice
    target = config.model_path(output_dir)
    temporary = target.with_name(f".{target.stem}-writing.h5")
    model.save(temporary, include_optimizer=False)
    temporary.replace(target)  # a reader never sees half a model file
    results.save_history({"arch": recipe.arch, "ensemble": recipe.ensemble, "runs": runs,
                          "epochs": runs[0]["epochs"], "command": command}, output_dir)
    results.save_metrics(metrics, output_dir)


def run(recipe: Recipe, command: str, log: Callable[[str], None] = print, callbacks=()) -> dict:
    """Train as the recipe says, write the results and run the export step; return the metrics."""
    recipe.check()
    started = time.perf_counter()
    training = build_data(recipe, log)
    model, runs = fit(recipe, training, log, callbacks)
    metrics, reference = evaluate_model(model, training, recipe, time.perf_counter() - started, command)
    output_dir = Path(recipe.output_dir)
    write_results(output_dir, model, runs, metrics, recipe, command)
    exported = export.prepare_serving(output_dir, model=model, verify_images=training.x_test, reference=reference)
    log(f"Exported the fast-path ONNX model: argmax identical on {exported['argmax_identical']}/"
        f"{exported['images']} test images.")
    log(f"Test accuracy {metrics['test_accuracy']:.4f} (loss {metrics['test_loss']:.4f}), "
        f"validation accuracy {metrics['validation_accuracy']:.4f}, {metrics['training_seconds']:.0f} s.")
    log(f"Wrote {config.model_path(output_dir)}, {config.HISTORY_FILENAME}, {config.METRICS_FILENAME}.")
    keras.backend.clear_session()
    return metrics
