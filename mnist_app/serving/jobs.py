"""Training from the dashboard: one run at a time per server, in a process of its own, then a candidate.

`start()` launches `python -m mnist_app train` in a background process (never in Streamlit's script
thread) writing a *candidate* model into `data/training/candidate/` and its progress into
`data/training/progress.json`; `status()` reads them (the Train page polls it); `cancel()` stops the
process. A finished candidate is compared with the current model (`compare()`: MNIST test accuracy and
per digit, accuracy on My digits, size, speed); `promote()` makes it the current model -- every file,
swapped in under a lock so the shared predictor never loads half a model -- after keeping the current
one in `data/training/previous/`, which `restore()` brings back.

Training from the dashboard can be switched off with MNIST_APP_TRAINING=off (for a public deployment);
it is also off where TensorFlow is not installed (the dashboard-only requirements.txt).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.errors import TrainingError
from mnist_app.images import preprocess, reading
from mnist_app.network import inference
from mnist_app.network.recipe import Recipe
from mnist_app.serving import service
from mnist_app.store import collection, data, results

SETTING = "MNIST_APP_TRAINING"
# The files that make a model: promoted and restored together.
MODEL_FILES = (config.MODEL_FILENAME, config.ONNX_FILENAME, config.HISTORY_FILENAME, config.METRICS_FILENAME,
               config.SUMMARY_FILENAME, config.TEST_REPORT_FILENAME)
PROMOTING = service.PROMOTING  # present in the models folder while files are being swapped


def folder() -> Path:
    """Where the run's progress, log, candidate and the previous model live (MNIST_APP_TRAINING_DIR moves it)."""
    return Path(os.environ.get("MNIST_APP_TRAINING_DIR", config.DATA_DIR / "training"))


def candidate_dir() -> Path:
    return folder() / "candidate"


def previous_dir() -> Path:
    return folder() / "previous"


def availability() -> str | None:
    """None when training may start here, else why not (for the page to say)."""
    if os.environ.get(SETTING, "on").strip().lower() in ("off", "0", "false", "no"):
        return f"Training is switched off on this server ({SETTING}=off)."
    if importlib.util.find_spec("tensorflow") is None:
        return ("Training needs TensorFlow, which this installation does not have (the dashboard alone needs only "
                "requirements.txt). Install the training extra: pip install -e '.[train]'.")
    return None


@dataclass
class Status:
    """What the training run is doing, or did."""

    state: str  # "idle", "running", "finished", "failed" or "cancelled"
    recipe: dict | None
    progress: dict | None
    started: float | None
    log_tail: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"


def _job_file() -> Path:
    return folder() / "job.json"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it was our child and has ended
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie has ended
    except (OSError, IndexError):  # no /proc (not Linux): the signal said it is there
        return True


def status() -> Status:
    """The current or last training run."""
    job = results.read_json(_job_file())
    if job is None:
        return Status("idle", None, None, None)
    progress = results.read_json(folder() / "progress.json")
    log = folder() / "train.log"
    tail = log.read_text(errors="replace")[-3000:] if log.is_file() else ""
    state = job.get("state", "running")
    if state == "running" and not _alive(job.get("pid")):
        state = "finished" if (progress or {}).get("phase") == "done" else "failed"
        job["state"] = state
        results.write_json(_job_file(), job)
    return Status(state, job.get("recipe"), progress, job.get("started"), tail)


def start(*, arch: str = "default", epochs: int = 3, with_collection: bool = False, fine_tune: bool = False,
          limit: int | None = None, ensemble: int = 1) -> Status:
    """Launch a training run in a background process; TrainingError if one is going or training is off."""
    reason = availability()
    if reason:
        raise TrainingError(reason)
    if status().running:
        raise TrainingError("A training run is going already: one at a time on this server.")
    recipe = Recipe(arch=arch, epochs=epochs, with_collection=with_collection, fine_tune=fine_tune, limit=limit,
                    ensemble=ensemble, output_dir=candidate_dir(), verbose=2, progress=folder() / "progress.json")
    recipe.check()
    if with_collection and collection.Collection().count() == 0:
        raise TrainingError("My digits is empty: keep a few digits first (the Save button under a result).")
    shutil.rmtree(candidate_dir(), ignore_errors=True)
    folder().mkdir(parents=True, exist_ok=True)
    (folder() / "progress.json").unlink(missing_ok=True)
    command = [sys.executable, "-m", "mnist_app", "train", "--arch", arch, "--epochs", str(epochs),
               "--ensemble", str(ensemble), "--output-dir", str(candidate_dir()), "--verbose", "2",
               "--progress", str(recipe.progress)]
    command += ["--with-collection"] if with_collection else []
    command += ["--fine-tune"] if fine_tune else []
    command += ["--limit", str(limit)] if limit else []
    with open(folder() / "train.log", "w") as log:
        process = subprocess.Popen(command, cwd=config.PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    job = {"pid": process.pid, "state": "running", "started": time.time(), "command": command,
           "recipe": {"arch": arch, "epochs": epochs, "with_collection": with_collection, "fine_tune": fine_tune,
                      "limit": limit, "ensemble": ensemble}}
    results.write_json(_job_file(), job)
    return status()


def cancel() -> None:
    """Stop the running training process (and what it started)."""
    job = results.read_json(_job_file())
    if job and job.get("state") == "running" and _alive(job.get("pid")):
        try:
            os.killpg(job["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not _alive(job["pid"]):
                break
            time.sleep(0.1)
        job["state"] = "cancelled"
        results.write_json(_job_file(), job)


def wait(timeout: float) -> Status:
    """Wait for the running job to end (for tests and the command line); its final status."""
    deadline = time.monotonic() + timeout
    current = status()
    while current.running and time.monotonic() < deadline:
        time.sleep(0.5)
        current = status()
    return current


def _single_image_ms(predictor: inference.Predictor, images: np.ndarray) -> float:
    batch = preprocess.normalize_mnist(images)
    predictor.predict_batch(batch[:1])
    seconds = []
    for index in range(len(batch)):
        began = time.perf_counter()
        predictor.predict_batch(batch[index: index + 1])
        seconds.append(time.perf_counter() - began)
    return float(np.median(seconds) * 1000)


def compare(candidate: Path | None = None, current: Path | None = None) -> dict:
    """The candidate beside the current model: test accuracy (all and per digit), My digits, size, speed."""
    test_set = data.load_test_set()
    kept_images, kept_labels = collection.Collection().arrays()
    figures = {}
    for name, models_dir in (("current", Path(current or config.MODELS_DIR)), ("candidate",
                                                                                Path(candidate or candidate_dir()))):
        metrics = results.load_metrics(models_dir) or {}
        predictor = inference.Predictor(models_dir)
        row = {"test_accuracy": metrics.get("test_accuracy"),
               "per_digit": [c["recall"] for c in metrics.get("per_class", [])],
               "parameters": metrics.get("parameters"),
               "file_mib": round(config.model_path(models_dir).stat().st_size / 2**20, 2),
               "arch": metrics.get("arch"), "networks": metrics.get("ensemble"),
               "ms_per_image": round(_single_image_ms(predictor, test_set.x_test[:200]), 3)}
        if len(kept_images):
            answers = reading.read_prepared([reading.Prepared([image / 255.0], [(0, 0, 28, 28)], None)
                                             for image in kept_images.astype(np.float32)], predictor)
            row["my_digits_accuracy"] = float(np.mean([a.digit == label for a, label in zip(answers, kept_labels)]))
        row["my_digits"] = int(len(kept_images))
        figures[name] = row
    figures["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return figures


def _swap_in(source: Path, target: Path) -> None:
    """Copy a model's files from `source` into `target`, each replacing its namesake in one step, under a lock
    that makes the shared predictor keep the old model until every file is in place."""
    lock = target / PROMOTING
    lock.write_text(str(os.getpid()))
    try:
        for name in MODEL_FILES:
            if (source / name).is_file():
                temporary = target / f".{name}.incoming"
                shutil.copy2(source / name, temporary)
                os.replace(temporary, target / name)
    finally:
        lock.unlink(missing_ok=True)


def _export_again() -> None:
    """The .keras, SavedModel and .tflite exports were the old model's: drop them and make the new model's in a
    background process (a minute; the Model page offers them again when they are verified)."""
    shutil.rmtree(config.export_dir(), ignore_errors=True)
    if os.environ.get("MNIST_APP_EXPORT_AFTER_PROMOTE", "on") == "off":  # the test suite's setting
        return
    folder().mkdir(parents=True, exist_ok=True)
    with open(folder() / "export.log", "w") as log:
        subprocess.Popen([sys.executable, "-m", "mnist_app", "export"], cwd=config.PROJECT_ROOT, stdout=log,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def promote(candidate: Path | None = None) -> None:
    """Make the candidate the current model; the current one is kept in data/training/previous/."""
    candidate = Path(candidate or candidate_dir())
    if not config.model_path(candidate).is_file() or not config.onnx_path(candidate).is_file():
        raise TrainingError("There is no finished candidate to use: train one first.")
    if status().running:
        raise TrainingError("A training run is going: wait for it, or cancel it, before changing the model.")
    shutil.rmtree(previous_dir(), ignore_errors=True)
    previous_dir().mkdir(parents=True)
    for name in MODEL_FILES:
        if config.models_file(name).is_file():
            shutil.copy2(config.models_file(name), previous_dir() / name)
    results.write_json(previous_dir() / "kept.json", {"kept": time.time()})
    _swap_in(candidate, config.MODELS_DIR)
    _export_again()


def restore() -> None:
    """Bring back the model that was current before the last promotion (and keep the one it replaces)."""
    if not config.model_path(previous_dir()).is_file():
        raise TrainingError("There is no previous model to bring back.")
    swap = folder() / "swap"
    shutil.rmtree(swap, ignore_errors=True)
    swap.mkdir(parents=True)
    for name in MODEL_FILES:
        if config.models_file(name).is_file():
            shutil.copy2(config.models_file(name), swap / name)
    _swap_in(previous_dir(), config.MODELS_DIR)
    shutil.rmtree(previous_dir())
    swap.rename(previous_dir())  # restoring again undoes the restore
    _export_again()


def has_previous() -> bool:
    return config.model_path(previous_dir()).is_file()

