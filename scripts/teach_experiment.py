"""The teach-it loop, measured: digits in a style the model was never taught, kept and used to fine-tune it.

    .venv/bin/python scripts/teach_experiment.py [--per-digit 20] [--epochs 2]

200 seven-segment digits (a meter's or a clock's display; mnist_app.measure.handwriting.seven_segment), 20 of each,
drawn on paper or a dark screen: half are kept in a fresh collection (as "Save to my digits" would keep them)
and the current model is fine-tuned on them mixed with MNIST (`train --fine-tune --with-collection`, what
the Train page runs); the other half is held out. Prints, and writes to artifacts/teach_experiment.json,
the accuracy on the held-out half and on the MNIST test set before and after. The committed model is not
changed: the fine-tuned one is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.images import reading
from mnist_app.measure import handwriting, robustness
from mnist_app.network import inference
from mnist_app.store import collection, results


def seven_segment_images(per_digit: int, seed: int) -> tuple[list[bytes], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), per_digit)
    payloads = [robustness._on_paper_or_canvas(handwriting.seven_segment(int(label), int(rng.integers(70, 200)),
                                                                           rng), rng) for label in labels]
    return payloads, labels


def accuracy(payloads: list[bytes], labels: np.ndarray, predictor: inference.Predictor) -> float:
    """Share read as the right digit (a "no digit" answer counts as wrong)."""
    answers = reading.read_prepared([reading.prepare(payload) for payload in payloads], predictor)
    return float(np.mean([answer.digit == label for answer, label in zip(answers, labels)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    payloads, labels = seven_segment_images(args.per_digit, args.seed)
    order = np.random.default_rng(args.seed).permutation(len(labels))
    kept_half = np.sort(np.concatenate([order[labels[order] == d][: args.per_digit // 2] for d in range(10)]))
    held_out = np.setdiff1d(np.arange(len(labels)), kept_half)
    current = inference.Predictor()
    figures = {"style": "seven-segment display", "kept": int(len(kept_half)), "held_out": int(len(held_out)),
               "before": {"held_out_accuracy": accuracy([payloads[i] for i in held_out], labels[held_out], current),
                          "kept_accuracy": accuracy([payloads[i] for i in kept_half], labels[kept_half], current),
                          "mnist_test_accuracy": results.load_metrics()["test_accuracy"]}}
    with tempfile.TemporaryDirectory(prefix="teach-") as work:
        work = Path(work)
        store = f"sqlite:///{work / 'collection.sqlite'}"
        kept = collection.Collection(collection.Access.server(), store)  # the command line keeps them as "local"
        for index in kept_half:
            shown = reading.read(payloads[index], predictor=current)
            seen = shown.first or (shown.rejected[0] if shown.rejected else None)
            if seen is not None:  # what the person would have kept: the digit as the model saw it, labelled
                kept.add(seen.model_input, int(labels[index]), prediction=shown.digit, confidence=shown.confidence,
                         source="import", session="teach-experiment", model=current.model_id)
        print(f"Kept {kept.count()} seven-segment digits; fine-tuning the current model ({args.epochs} epochs)...",
              flush=True)
        started = time.perf_counter()
        command = [sys.executable, "-m", "mnist_app", "train", "--fine-tune", "--with-collection", "--owner",
                   collection.LOCAL_OWNER, "--epochs", str(args.epochs), "--output-dir", str(work / "model"),
                   "--verbose", "2"]
        subprocess.run(command, check=True, cwd=config.PROJECT_ROOT,
                       env={**os.environ, "MNIST_APP_COLLECTION": str(work / "collection.sqlite")})
        tuned = inference.Predictor(work / "model")
        figures["fine_tune_seconds"] = round(time.perf_counter() - started)
        figures["after"] = {
            "held_out_accuracy": accuracy([payloads[i] for i in held_out], labels[held_out], tuned),
            "kept_accuracy": accuracy([payloads[i] for i in kept_half], labels[kept_half], tuned),
            "mnist_test_accuracy": results.load_metrics(work / "model")["test_accuracy"]}
    output = config.PROJECT_ROOT / "artifacts" / "teach_experiment.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"\n{'':<32} {'before':>8} {'after':>8}")
    for name, key in (("held-out seven-segment digits", "held_out_accuracy"),
                      ("kept (fine-tuned on) digits", "kept_accuracy"), ("MNIST test set", "mnist_test_accuracy")):
        print(f"{name:<32} {figures['before'][key]:>8.2%} {figures['after'][key]:>8.2%}")
    print(f"\nfine-tuning took {figures['fine_tune_seconds']} s; JSON: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
