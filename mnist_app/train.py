"""Training: `python scripts/train.py` / `python -m mnist_app train`.

Writes, into --output-dir (default `models/`):
- `mnist_cnn_model.h5`: the model the dashboard loads;
- `history.json`: per epoch loss, accuracy, val_loss, val_accuracy, learning rate and seconds;
- `metrics.json`: test-set figures, per-class scores, confusion matrix and how the model was made.
The test set is only ever used for that final report, never to choose anything.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from mnist_app import config, data, evaluate, preprocess  # noqa: E402

DEFAULTS = {"arch": "default", "epochs": 12, "batch_size": 128, "seed": 1, "ensemble": 1,
            "validation_size": 5000, "learning_rate": 3e-3}
VALIDATION_SPLIT_SEED = 0  # fixed, so every run and every ensemble member is judged on the same images


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags shared by scripts/train.py and `python -m mnist_app train`."""
    parser = argparse.ArgumentParser(description="Train the MNIST CNN and write model, history and metrics.")
    add_arguments(parser)
    return parser.parse_args(argv)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the training flags to a parser (also used by the CLI's `train` sub-command)."""
    parser.add_argument("--arch", choices=config.ARCHITECTURES, default=DEFAULTS["arch"],
                        help="network (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                        help="epochs per network (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (default: %(default)s)")
    parser.add_argument("--ensemble", type=int, default=DEFAULTS["ensemble"],
                        help="train N networks (seeds seed..seed+N-1) and fold them into one model averaging "
                             "their probabilities (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=DEFAULTS["learning_rate"],
                        help="peak learning rate of the one-cycle schedule (default: %(default)s)")
    parser.add_argument("--validation-size", type=int, default=DEFAULTS["validation_size"],
                        help="images carved from the training set for validation (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on only this many training images (quick smoke runs)")
    parser.add_argument("--no-augment", action="store_true", help="train without augmentation")
    parser.add_argument("--track-test", action="store_true",
                        help="also record test accuracy after every epoch (a report for time-to-accuracy "
                             "figures; never used to choose anything)")
    parser.add_argument("--output-dir", type=Path, default=config.MODELS_DIR, help="default: %(default)s")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="Keras output: 1 = progress bar, 2 = one line per epoch, 0 = quiet")


def split_validation(x: np.ndarray, y: np.ndarray, validation_size: int):
    """Carve a fixed, seeded validation set out of the training data."""
    order = np.random.default_rng(VALIDATION_SPLIT_SEED).permutation(len(x))
    validation, training = order[:validation_size], order[validation_size:]
    return (x[training], y[training]), (x[validation], y[validation])


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, augment: bool):
    """A shuffled, batched tf.data pipeline with augmentation done per batch on the fly."""
    import tensorflow as tf

    from mnist_app import augment as augmentation

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=False)
    if augment:
        generator = tf.random.Generator.from_seed(seed)
        dataset = dataset.map(lambda images, labels: (augmentation.augment_batch(images, generator), labels),
                              num_parallel_calls=1)
    return dataset.prefetch(tf.data.AUTOTUNE)


class EpochRecorder:
    """Keras callback factory: records learning rate and wall-clock seconds for every epoch."""

    @staticmethod
    def create(test_set=None):
        import keras

        class _Recorder(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.epochs: list[dict] = []
                self._training_seconds = 0.0

            def on_epoch_begin(self, epoch, logs=None):
                self._started = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                logs = dict(logs or {})
                record = {"epoch": epoch + 1}
                for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                    record[key] = float(logs[key])
                record["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
                record["seconds"] = round(time.perf_counter() - self._started, 2)
                self._training_seconds += record["seconds"]
                record["elapsed_seconds"] = round(self._training_seconds, 2)
                if test_set is not None:
                    probabilities = self.model.predict(test_set[0], batch_size=1000, verbose=0)
                    record["test_accuracy"] = float(np.mean(probabilities.argmax(axis=1) == test_set[1]))
                self.epochs.append(record)

        return _Recorder()


def train_network(arch, x_train, y_train, x_val, y_val, *, epochs, batch_size, seed, learning_rate, augment, verbose,
                  test_set=None):
    """Train one network with Adam and a one-cycle (warm-up + cosine) schedule; return it and its epochs."""
    import keras

    from mnist_app.model import build_model

    keras.utils.set_random_seed(seed)
    network = build_model(arch)
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
    network.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    recorder = EpochRecorder.create(test_set)
    # Keras warns that fit's shuffle flag is ignored for a tf.data input; the dataset shuffles itself.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*was passed")
    network.fit(
        make_dataset(x_train, y_train, batch_size, seed, augment),
        validation_data=(x_val, y_val),
        epochs=epochs,
        callbacks=[recorder],
        verbose=verbose,
    )
    return network, recorder.epochs


def predict_probabilities(network, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Probabilities for many images, in batches (the reference Keras path, used for reports)."""
    return np.asarray(network.predict(images, batch_size=batch_size, verbose=0), dtype=np.float64)


def library_versions() -> dict:
    """Versions of the packages that shaped the model file."""
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
            "numpy": np.__version__}


def run(args: argparse.Namespace, command: str | None = None) -> dict:
    """Train as the flags say and write model, history and metrics; return the metrics."""
    import keras

    from mnist_app.model import fold_ensemble, parameter_count

    if args.epochs < 1 or args.batch_size < 1 or args.ensemble < 1:
        raise ValueError("--epochs, --batch-size and --ensemble must be at least 1")
    started = time.perf_counter()
    mnist = data.load_mnist(log=print)
    (x_train, y_train), (x_val, y_val) = split_validation(mnist.x_train, mnist.y_train, args.validation_size)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    x_train, x_val = preprocess.normalize_mnist(x_train), preprocess.normalize_mnist(x_val)
    x_test = preprocess.normalize_mnist(mnist.x_test)
    y_train, y_val = y_train.astype(np.int64), y_val.astype(np.int64)
    print(f"Training {args.ensemble} x {args.arch} on {len(x_train)} images, validating on {len(x_val)}.")

    members, runs = [], []
    for index in range(args.ensemble):
        seed = args.seed + index
        if args.ensemble > 1:
            print(f"--- network {index + 1} of {args.ensemble} (seed {seed}) ---")
        network, epochs = train_network(
            args.arch, x_train, y_train, x_val, y_val, epochs=args.epochs, batch_size=args.batch_size, seed=seed,
            learning_rate=args.learning_rate, augment=not args.no_augment, verbose=args.verbose,
            test_set=(x_test, mnist.y_test) if args.track_test else None)
        members.append(network)
        runs.append({"name": f"network {index + 1} (seed {seed})", "seed": seed, "epochs": epochs})
    model = fold_ensemble(members)
    training_seconds = time.perf_counter() - started

    val_probabilities = predict_probabilities(model, x_val)
    test_probabilities = predict_probabilities(model, x_test)
    report = evaluate.classification_report(test_probabilities, mnist.y_test)
    from mnist_app import calibration

    calibration_figures = calibration.calibration_report(val_probabilities, y_val, test_probabilities, mnist.y_test)
    command = command or shlex.join(["python", *sys.argv])
    metrics = {
        "test_accuracy": report["accuracy"],
        "test_loss": report["loss"],
        "validation_accuracy": float(np.mean(val_probabilities.argmax(axis=1) == y_val)),
        "validation_loss": evaluate.cross_entropy(val_probabilities, y_val),
        **{key: value for key, value in report.items() if key not in ("accuracy", "loss")},
        "parameters": parameter_count(model),
        "arch": args.arch,
        "ensemble": args.ensemble,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "learning_rate": args.learning_rate,
        "augment": not args.no_augment,
        "training_images": int(len(x_train)),
        "validation_images": int(len(x_val)),
        "training_seconds": round(training_seconds, 1),
        "calibration": calibration_figures,
        "versions": library_versions(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
    }
    history = {"arch": args.arch, "ensemble": args.ensemble, "runs": runs,
               "epochs": runs[0]["epochs"], "command": command}

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)  # HDF5 is the product's format; skip Keras' "legacy" notice
    model.save(config.model_path(output_dir), include_optimizer=False)
    config.history_path(output_dir).write_text(json.dumps(history, indent=1) + "\n")
    config.metrics_path(output_dir).write_text(json.dumps(metrics, indent=1) + "\n")
    try:
        from mnist_app import export

        # The in-memory model is the one just saved; its test probabilities are the Keras reference.
        exported = export.export_onnx(output_dir, verify_images=x_test, model=model, reference=test_probabilities)
        print(f"Exported the fast-path ONNX model: argmax identical on {exported['argmax_identical']}/"
              f"{exported['images']} test images.")
        from mnist_app import testset

        testset.build(output_dir, mnist=mnist)  # what the dashboard shows about the test set, once per model
    except ImportError as error:  # tf2onnx missing: the predictor falls back to the Keras path
        print(f"ONNX export skipped ({error}); run `python -m mnist_app export` later.")
    print(f"Test accuracy {metrics['test_accuracy']:.4f} (loss {metrics['test_loss']:.4f}), "
          f"validation accuracy {metrics['validation_accuracy']:.4f}, {training_seconds:.0f} s.")
    print(f"Wrote {config.model_path(output_dir)}, {config.history_path(output_dir).name}, "
          f"{config.metrics_path(output_dir).name}.")
    keras.backend.clear_session()
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point for scripts/train.py."""
    args = parse_args(argv)
    run(args)
    return 0
