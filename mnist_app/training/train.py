"""Training: build the data, fit the networks, evaluate the model, write the results, run the export step.

`run(recipe)` (behind `python -m mnist_app train` and `scripts/train.py`) writes, into the recipe's
output folder (default `models/`), through `mnist_app.store.results`:
- `mnist_cnn_model.h5`: the model the dashboard loads;
- `history.json`: per network and epoch, loss, accuracy, val_loss, val_accuracy, learning rate, seconds;
- `metrics.json`: test-set figures, per-class scores, confusion matrix, calibration, how the model was made;
and then calls the export step (`mnist_app.training.export.prepare_serving`: the verified ONNX file, the layer
table, the test-set report) and fits the decision (mnist_app.training.calibrate: the "no digit" threshold and the
confidence temperature, fitted on held-out user-style images). The test set is only ever used for the final report,
never to choose anything.
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

from mnist_app import config
from mnist_app.images import preprocess
from mnist_app.measure import calibration, decision, evaluate
from mnist_app.network import inference
from mnist_app.network.recipe import Recipe
from mnist_app.store import collection, data, results
from mnist_app.training import augment, calibrate, export, userstyle
from mnist_app.training import model as networks

COLLECTION_SHARE = 0.05  # of a training epoch, for the digits of My digits (--with-collection)


@dataclass
class TrainingData:
    """The images a run trains on, is judged on while training, and reports on at the end (model inputs).

    Training labels are digits 0-9, or -1 for the non-digits (userstyle.NEGATIVE) when the recipe asks for them.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    kept_digits: int = 0  # how many digits of My digits are among the training images (each repeated)


def build_data(recipe: Recipe, log: Callable[[str], None] = print) -> TrainingData:
    """MNIST, split into training and a fixed validation set, scaled to model input."""
    mnist = data.load_mnist(log=log)
    (x_train, y_train), (x_val, y_val) = data.split_validation(mnist.x_train, mnist.y_train, recipe.validation_size)
    y_train = y_train.astype(np.int64)
    digits, digit_labels = x_train, y_train  # the training split's own digits, before anything is added
    if recipe.user_styles:  # made from the training split only: validation and test stay unseen
        styles = (userstyle.build(x_train, y_train, per_style=max(20, recipe.limit // 20),
                                  per_negative_kind=max(20, recipe.limit // 30), log=log) if recipe.limit
                  else userstyle.load_or_build(x_train, y_train, log=log))  # a quick run makes a few, uncached
        log(f"Adding {int(np.sum(styles.labels >= 0))} user-style digits and {int(np.sum(styles.labels < 0))} "
            "non-digits.")
        x_train = np.concatenate([x_train, styles.images])
        y_train = np.concatenate([y_train, styles.labels])
    if recipe.limit:
        keep = np.random.default_rng(recipe.seed).permutation(len(x_train))[: recipe.limit]
        x_train, y_train = x_train[keep], y_train[keep]
    if recipe.number_digits:  # after the limit: a quick run makes a few, and they are all kept
        count = min(recipe.number_digits, max(20, recipe.limit // 20)) if recipe.limit else recipe.number_digits
        written = userstyle.number_digits(digits, digit_labels, count)
        log(f"Adding {len(written)} digits written as a number's are.")
        x_train = np.concatenate([x_train, written.images])
        y_train = np.concatenate([y_train, written.labels])
    kept = 0
    if recipe.with_collection:
        access = collection.Access(recipe.owner) if recipe.owner else collection.Access.server()
        kept_images, kept_labels = collection.Collection(access, everyone=recipe.owner is None).arrays()
        kept = len(kept_images)
        if len(kept_images):
            # A few hundred kept digits among ~100,000: repeated (and augmented anew each time) until they are
            # about COLLECTION_SHARE of an epoch, so they count without drowning MNIST.
            repeat = int(np.clip(round(COLLECTION_SHARE * len(x_train) / len(kept_images)), 1, 200))
            log(f"Adding the {len(kept_images)} digits of My digits, each {repeat} times.")
            x_train = np.concatenate([x_train, np.tile(kept_images, (repeat, 1, 1))])
            y_train = np.concatenate([y_train, np.tile(kept_labels.astype(np.int64), repeat)])
    return TrainingData(preprocess.normalize_mnist(x_train), y_train,
                        preprocess.normalize_mnist(x_val), y_val.astype(np.int64),
                        preprocess.normalize_mnist(mnist.x_test), mnist.y_test.astype(np.int64), kept)


def targets(labels: np.ndarray) -> np.ndarray:
    """What the network should answer: one-hot for a digit, an even spread over the ten for a non-digit (-1)."""
    labels = np.asarray(labels)
    spread = np.full((len(labels), config.NUM_CLASSES), 1.0 / config.NUM_CLASSES, dtype=np.float32)
    digits = labels >= 0
    spread[digits] = np.eye(config.NUM_CLASSES, dtype=np.float32)[labels[digits]]
    return spread


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augmented: bool,
                 negative_weight: float = 1.0, teacher: Callable | None = None) -> tf.data.Dataset:
    """A shuffled, batched tf.data pipeline of (images, targets, weights), augmented per batch on the fly. With a
    `teacher` (a batch of images -> its softened probabilities), each target is the true one followed by the
    teacher's answer for the very images the student sees, augmented alike: a teacher that answered for the plain
    images would be telling the student about pictures it is not shown (Beyer et al. 2022, "consistent" teaching)."""
    weights = np.where(np.asarray(y) >= 0, 1.0, negative_weight).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((x, targets(y), weights))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augmented:
        generator = tf.random.Generator.from_seed(seed)
        dataset = dataset.map(lambda images, wanted, weight: (augment.augment_batch(images, generator), wanted, weight),
                              num_parallel_calls=1)
    if teacher is not None:
        dataset = dataset.map(lambda images, wanted, weight: (images, tf.concat([wanted, teacher(images)], axis=1),
                                                              weight))
    return dataset.prefetch(tf.data.AUTOTUNE)


def digit_accuracy(wanted, predicted):
    """Accuracy over the digits of a batch (a non-digit's target has no right answer to count)."""
    wanted = wanted[..., : config.NUM_CLASSES]  # with distillation the teacher's targets follow the true ones
    is_digit = keras.ops.max(wanted, axis=-1) > 0.5
    correct = keras.ops.equal(keras.ops.argmax(wanted, axis=-1), keras.ops.argmax(predicted, axis=-1))
    hits = keras.ops.sum(keras.ops.cast(keras.ops.logical_and(correct, is_digit), "float32"))
    return hits / keras.ops.maximum(keras.ops.sum(keras.ops.cast(is_digit, "float32")), 1.0)


digit_accuracy.__name__ = "accuracy"  # the name history.json and the pages know


def softened(probabilities, temperature: float):
    """A teacher's probabilities at a temperature: softmax(log p / T), the dark knowledge made visible (arrays or
    tensors alike)."""
    logits = keras.ops.log(keras.ops.clip(keras.ops.cast(probabilities, "float32"), 1e-12, 1.0)) / temperature
    return keras.ops.softmax(logits, axis=-1)


def teaching(teacher: keras.Model, temperature: float) -> Callable:
    """The teacher as the student's targets: a batch of images -> its probabilities, softened; never trained."""
    teacher.trainable = False

    def teach(images):
        return softened(teacher(images, training=False), temperature)

    return teach


def distillation_loss(temperature: float, hard_weight: float):
    """Hinton et al. (2015): the true labels' cross-entropy times `hard_weight`, plus the cross-entropy between the
    teacher's and the student's probabilities at `temperature`, times T² (so its gradients keep their scale) and
    1 - `hard_weight`. Targets are (N, 20): the true ones, then the teacher's softened ones."""
    def loss(wanted, predicted):
        hard, soft = wanted[..., : config.NUM_CLASSES], wanted[..., config.NUM_CLASSES:]
        log_student = keras.ops.log(keras.ops.clip(predicted, 1e-7, 1.0))
        hard_loss = -keras.ops.sum(hard * log_student, axis=-1)
        soft_loss = -keras.ops.sum(soft * keras.ops.log_softmax(log_student / temperature, axis=-1), axis=-1)
        return hard_weight * hard_loss + (1.0 - hard_weight) * temperature ** 2 * soft_loss

    return loss


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


class Progress(keras.callbacks.Callback):
    """Keeps a JSON file up to date with the run's phase, network, epoch, batch and curves (the Train page
    reads it; a person sees the run move). Written at most once a second, and atomically."""

    def __init__(self, path: Path, recipe: Recipe):
        super().__init__()
        self.path = Path(path)
        self.state = {"phase": "starting", "message": "", "networks": 1 if recipe.fine_tune else recipe.ensemble,
                      "network": 0, "epochs": recipe.epochs, "epoch": 0, "batch": 0, "batches": None, "curves": [],
                      "started": time.time(), "updated": time.time()}
        self._written = 0.0

    def phase(self, name: str, message: str = "") -> None:
        self.state.update(phase=name, message=message)
        self._write(force=True)

    def _write(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self._written >= 1.0:
            self.state["updated"] = now
            results.write_json(self.path, self.state)
            self._written = now

    def on_train_begin(self, logs=None):
        self.state.update(network=self.state["network"] + 1, epoch=0, batch=0, batches=self.params.get("steps"))
        self.phase("training", f"network {self.state['network']} of {self.state['networks']}")

    def on_epoch_begin(self, epoch, logs=None):
        self.state.update(epoch=epoch + 1, batch=0)
        self._write(force=True)

    def on_train_batch_end(self, batch, logs=None):
        self.state["batch"] = batch + 1
        self._write()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        self.state["curves"].append({"network": self.state["network"], "epoch": epoch + 1,
                                     **{key: float(logs[key]) for key in ("loss", "accuracy", "val_loss",
                                                                         "val_accuracy") if key in logs}})
        self._write(force=True)


def train_network(arch, x_train, y_train, x_val, y_val, *, epochs, batch_size, seed, learning_rate, augmented,
                  verbose, test_set=None, callbacks=(), negative_weight=1.0, start_from: keras.Model | None = None,
                  teacher: Callable | None = None, loss="categorical_crossentropy", ema: bool = False):
    """Train one network (a new one, or `start_from`) with Adam and a one-cycle (warm-up + cosine) schedule;
    return it and its epochs. `teacher`: see `teaching`; its softened answers follow the true targets, for `loss`."""
    keras.utils.set_random_seed(seed)
    network = start_from if start_from is not None else networks.build_model(arch)
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
    network.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule, use_ema=ema), loss=loss,
                    metrics=[digit_accuracy])
    recorder = EpochRecorder(test_set)
    # Keras warns that fit's shuffle flag is ignored for a tf.data input; the dataset shuffles itself.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed")
    validation = targets(y_val)
    if teacher is not None:
        answers = [np.asarray(teacher(x_val[start:start + 1000])) for start in range(0, len(x_val), 1000)]
        validation = np.concatenate([validation, np.concatenate(answers)], axis=1)
    network.fit(make_dataset(x_train, y_train, batch_size, seed, augmented, negative_weight, teacher),
                validation_data=(x_val, validation), epochs=epochs, callbacks=[recorder, *callbacks],
                verbose=verbose)
    return network, recorder.epochs


def fit(recipe: Recipe, training: TrainingData, log: Callable[[str], None] = print,
        callbacks=()) -> tuple[keras.Model, list[dict]]:
    """Train the recipe's networks and fold them into one model (or fine-tune the current model); return it and
    every network's epochs."""
    common = dict(epochs=recipe.epochs, batch_size=recipe.batch_size, augmented=recipe.augment,
                  verbose=recipe.verbose, test_set=(training.x_test, training.y_test) if recipe.track_test else None,
                  callbacks=callbacks, negative_weight=recipe.negative_weight)
    if recipe.fine_tune:
        current = keras.models.load_model(config.model_path(recipe.start_from), compile=False)
        log(f"Fine-tuning the current model ({current.count_params():,} parameters) on {len(training.x_train)} "
            f"images at a tenth of the learning rate.")
        model, epochs = train_network(recipe.arch, training.x_train, training.y_train, training.x_val, training.y_val,
                                      seed=recipe.seed, learning_rate=recipe.learning_rate / 10, start_from=current,
                                      **common)
        return model, [{"name": "the current model, fine-tuned", "seed": recipe.seed, "epochs": epochs}]
    if recipe.distill:
        teacher = keras.models.load_model(config.model_path(recipe.teacher), compile=False)
        log(f"Distilling the teacher ({teacher.count_params():,} parameters) into one {recipe.arch} network: its "
            f"probabilities on every training batch, augmented as the student sees it, at temperature "
            f"{recipe.temperature}, true labels weighing {recipe.hard_weight}.")
        network, epochs = train_network(recipe.arch, training.x_train, training.y_train, training.x_val,
                                        training.y_val, seed=recipe.seed, learning_rate=recipe.learning_rate,
                                        teacher=teaching(teacher, recipe.temperature),
                                        loss=distillation_loss(recipe.temperature, recipe.hard_weight),
                                        ema=recipe.ema, **common)
        return network, [{"name": f"the student (seed {recipe.seed})", "seed": recipe.seed, "epochs": epochs}]
    log(f"Training {recipe.ensemble} x {recipe.arch} on {len(training.x_train)} images, "
        f"validating on {len(training.x_val)}.")
    members, runs = [], []
    for index in range(recipe.ensemble):
        seed = recipe.seed + index
        if recipe.ensemble > 1:
            log(f"--- network {index + 1} of {recipe.ensemble} (seed {seed}) ---")
        network, epochs = train_network(recipe.arch, training.x_train, training.y_train, training.x_val,
                                        training.y_val, seed=seed, learning_rate=recipe.learning_rate,
                                        ema=recipe.ema, **common)
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
        "user_styles": recipe.user_styles,
        "negative_weight": recipe.negative_weight,
        "number_digits": recipe.number_digits,
        "training_images": int(len(training.x_train)),
        "kept_digits": training.kept_digits,
        "fine_tuned_from": results.file_sha256(config.model_path(recipe.start_from))[:12] if recipe.fine_tune else None,
        "distilled_from": ({"teacher": results.file_sha256(config.model_path(recipe.teacher))[:12],
                            "temperature": recipe.temperature, "hard_weight": recipe.hard_weight}
                           if recipe.distill else None),
        "ema": recipe.ema,
        "validation_images": int(len(training.x_val)),
        "training_seconds": round(training_seconds, 1),
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
    progress = Progress(recipe.progress, recipe) if recipe.progress else None
    step = progress.phase if progress else (lambda name, message="": None)
    started = time.perf_counter()
    step("preparing", "MNIST and the user-style images")
    training = build_data(recipe, log)
    model, runs = fit(recipe, training, log, [*callbacks, *([progress] if progress else [])])
    step("evaluating", "on the 10,000 test images")
    metrics, reference = evaluate_model(model, training, recipe, time.perf_counter() - started, command)
    output_dir = Path(recipe.output_dir)
    write_results(output_dir, model, runs, metrics, recipe, command)
    step("exporting", "the ONNX fast path and the test-set figures")
    exported = export.prepare_serving(output_dir, model=model, verify_images=training.x_test, reference=reference)
    log(f"Exported the fast-path ONNX model: argmax identical on {exported['argmax_identical']}/"
        f"{exported['images']} test images.")
    step("deciding", "the 'no digit' threshold and the confidence scale")
    # "No digit" and the confidence scale (a quick run, with --limit, fits them on fewer images).
    metrics.update(calibrate.fit(inference.Predictor(output_dir), log=log, quick=bool(recipe.limit)))
    results.save_metrics(metrics, output_dir)
    step("done", f"test accuracy {metrics['test_accuracy']:.2%}")
    log(decision.summary(metrics))
    log(f"Test accuracy {metrics['test_accuracy']:.4f} (loss {metrics['test_loss']:.4f}), "
        f"validation accuracy {metrics['validation_accuracy']:.4f}, {metrics['training_seconds']:.0f} s.")
    log(f"Wrote {config.model_path(output_dir)}, {config.HISTORY_FILENAME}, {config.METRICS_FILENAME}.")
    keras.backend.clear_session()
    return metrics
