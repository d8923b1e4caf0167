"""Training from the dashboard, per person: ask for a run, follow it, cancel it, compare what it made.

`start(person, ...)` queues a job (mnist_app.store.queue: one run at a time per person, a number per day, a
bounded queue); a trainer (mnist_app.serving.trainer) runs it in a process of its own and registers the model it
makes as that person's (mnist_app.store.registry), with its figures beside the model it would replace
(`trainer.compare`). The person then
reads with it ("Use this model") or not; only an admin shares a model with everyone.

Training from the dashboard can be switched off with MNIST_APP_TRAINING=off (for a public deployment); it is also
off where this server runs its own trainer but has no TensorFlow (the dashboard-only requirements.txt).
"""

from __future__ import annotations

import os
import time

import numpy as np

from mnist_app.errors import TrainingError
from mnist_app.network.recipe import Recipe
from mnist_app.serving import trainer
from mnist_app.serving.people import Person
from mnist_app.store import collection, queue, registry, results

SETTING = "MNIST_APP_TRAINING"


def quick_run_images() -> int:
    """How many training images the Train page's quick run uses (MNIST_APP_QUICK_RUN_IMAGES; 10,000)."""
    try:
        return max(500, int(os.environ.get("MNIST_APP_QUICK_RUN_IMAGES", "10000")))
    except ValueError:
        return 10_000


def availability() -> str | None:
    """None when people may start training here, else why not (for the page to say)."""
    if os.environ.get(SETTING, "on").strip().lower() in ("off", "0", "false", "no"):
        return f"Training is switched off on this server ({SETTING}=off)."
    if trainer.mode() == "off":
        return f"No trainer runs for this server ({trainer.MODE_SETTING}=off)."
    if trainer.mode() == "beside":
        return trainer.can_train()
    return None  # trainers run elsewhere (MNIST_APP_TRAINER=external)


def start(person: Person, *, arch: str = "default", epochs: int = 3, with_collection: bool = False,
          fine_tune: bool = False, limit: int | None = None, ensemble: int = 1) -> queue.Job:
    """Queue a training run for `person`; TrainingError (or LimitError) when it cannot be."""
    reason = availability()
    if reason:
        raise TrainingError(reason)
    Recipe(arch=arch, epochs=epochs, ensemble=ensemble, limit=limit).check()
    if (with_collection or fine_tune) and collection.Collection(person.access).count() == 0:
        raise TrainingError("My digits is empty: keep a few digits first (the Save button under a result).")
    reads_with = registry.Registry(person.access).reading_folder()
    recipe = {"arch": arch, "epochs": int(epochs), "ensemble": int(ensemble), "limit": limit,
              "with_collection": bool(with_collection or fine_tune), "fine_tune": bool(fine_tune),
              "replaces": str(reads_with)}
    if fine_tune:
        recipe["start_from"] = str(reads_with)
    return queue.Queue(person.access).submit(recipe)


def latest(person: Person) -> queue.Job | None:
    """The person's newest training run."""
    return queue.Queue(person.access).latest()


def ahead_of(person: Person, job: queue.Job) -> int:
    return queue.Queue(person.access).ahead_of(job)


def cancel(person: Person, job_id: int) -> bool:
    """Ask for the person's run to stop (a queued one ends at once, a running one within seconds)."""
    return queue.Queue(person.access).cancel(job_id)


def wait(person: Person, job_id: int, timeout: float) -> queue.Job:
    """Wait for a job to end (for tests and the command line); its final row."""
    deadline = time.monotonic() + timeout
    current = queue.Queue(person.access).get(job_id)
    while current is not None and current.active and time.monotonic() < deadline:
        time.sleep(0.5)
        current = queue.Queue(person.access).get(job_id)
    return current


def seconds_per_epoch(arch: str, networks: int, images: int) -> float | None:
    """How long one epoch of `networks` x `arch` over `images` images takes on this server, measured from the
    runs it has made (their median seconds per image); None before its first run of that network."""
    rates = []
    for model in registry.Registry(collection.Access.server()).models():
        if model.arch != arch or (model.networks or 1) != networks:
            continue
        history, metrics = results.load_history(model.folder) or {}, results.load_metrics(model.folder) or {}
        trained_on = metrics.get("training_images")
        if not trained_on:
            continue
        for run in history.get("runs", []):
            rates += [epoch["seconds"] / trained_on for epoch in run.get("epochs", []) if epoch.get("seconds")]
    return float(np.median(rates) * images) if rates else None
