"""The trainer: claims training jobs from the queue and runs each one in a process of its own.

`python -m mnist_app trainer` runs one, on any machine that reaches the database and the artifact store;
`python -m mnist_app serve` (so `make run`) starts one in a process beside the web server unless
`MNIST_APP_TRAINER` says `external` (the trainers run elsewhere, as the cluster launcher's replicas say) or
`off`. At most `MNIST_APP_TRAINING_SLOTS` jobs (1 by default) run at once on the whole server, whatever the number
of trainers.

A job runs as `python -m mnist_app train ...` in a new session (its own process group, which cancelling stops
with SIGTERM), writing into a folder of its own. Every second the trainer copies the run's progress file into
the job's row, beats the job's heartbeat and reads its cancel flag, so any web server can show and cancel it. A
finished run's model is registered as the job owner's, with its comparison against the model it would replace.
"""

from __future__ import annotations

import ctypes
import datetime
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnist_app import config
from mnist_app.images import preprocess, reading
from mnist_app.network import inference
from mnist_app.store import collection, data, queue, registry, results

MODE_SETTING = "MNIST_APP_TRAINER"  # beside (the default), external or off: see mode()
SLOTS_SETTING = "MNIST_APP_TRAINING_SLOTS"
TRAINING_DIR_SETTING = "MNIST_APP_TRAINING_DIR"
BEAT_SECONDS = 1.0

PR_SET_PDEATHSIG = 1  # prctl(2)
_beside: subprocess.Popen | None = None
_beside_guard = threading.Lock()


def slots() -> int:
    try:
        return max(1, int(os.environ.get(SLOTS_SETTING, "1")))
    except ValueError:
        return 1


def training_dir() -> Path:
    """Where the trainers of this machine keep their runs' folders (progress, log, the model being written)."""
    return Path(os.environ.get(TRAINING_DIR_SETTING) or config.DATA_DIR / "training")


def job_dir(job_id: int) -> Path:
    return training_dir() / f"job-{job_id}"


def command(job: queue.Job, folder: Path) -> list[str]:
    """The training command a job's recipe asks for."""
    recipe = job.recipe
    line = [sys.executable, "-m", "mnist_app", "train", "--arch", recipe["arch"], "--epochs", str(recipe["epochs"]),
            "--ensemble", str(recipe.get("ensemble", 1)), "--output-dir", str(folder / "model"), "--verbose", "2",
            "--progress", str(folder / "progress.json")]
    if recipe.get("with_collection"):
        line += ["--with-collection", "--owner", job.owner]
    if recipe.get("fine_tune"):
        line += ["--fine-tune", "--start-from", recipe["start_from"]]
    if recipe.get("limit"):
        line += ["--limit", str(recipe["limit"])]
    return line


def describe(job: queue.Job, metrics: dict) -> str:
    """How a person's model list names a run's model."""
    recipe, kept = job.recipe, metrics.get("kept_digits") or 0
    if recipe.get("fine_tune"):
        return f"fine-tuned on {kept} of your digits" if kept else "fine-tuned"
    epochs = f"{recipe['epochs']} epoch{'s' if recipe['epochs'] != 1 else ''}"
    return f"a new {recipe['arch']} network trained for {epochs}" + (f" with {kept} of your digits" if kept else "")


class Trainer:
    """Claims jobs and runs them, one at a time, until told to stop."""

    def __init__(self, address: str | None = None, log: Callable[[str], None] = print, poll: float = 1.0):
        self.address = address
        self.log = log
        self.poll = poll
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100_000}"
        self.queue = queue.Trainers(address)

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        self.log(f"trainer {self.worker}: waiting for jobs ({slots()} slot(s) on this server)")
        while not stop.is_set():
            try:
                job = self.queue.claim(self.worker, slots()) if self.queue.waiting() else None
            except Exception as error:  # a database that is down for a moment: try again
                self.log(f"trainer: cannot reach the queue ({error})")
                job = None
            if job is None:
                stop.wait(self.poll)
                continue
            self.run_job(job, stop)

    def run_job(self, job: queue.Job, stop: threading.Event | None = None) -> str:
        """Run one claimed job to its end; return its final state."""
        folder = job_dir(job.id)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.log(f"trainer: job {job.id} of {job.owner}: {job.recipe}")
        with open(folder / "train.log", "w") as log:
            process = subprocess.Popen(command(job, folder), cwd=config.PROJECT_ROOT, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.queue.update(job.id, pid=process.pid)
        cancelled = False
        while process.poll() is None:
            time.sleep(BEAT_SECONDS)
            progress = results.read_json(folder / "progress.json") or {}
            self.queue.update(job.id, heartbeat=time.time(), progress=progress)
            current = self.queue.get(job.id)
            if (current is not None and current.cancel) or (stop is not None and stop.is_set()):
                cancelled = True
                _stop(process)
        tail = (folder / "train.log").read_text(errors="replace")[-2000:]
        progress = results.read_json(folder / "progress.json") or {}
        if cancelled:
            self.queue.update(job.id, state="cancelled", finished=time.time(), progress=progress)
            shutil.rmtree(folder / "model", ignore_errors=True)
            return "cancelled"
        if process.returncode != 0 or not config.model_path(folder / "model").is_file():
            self.queue.update(job.id, state="failed", finished=time.time(), progress=progress, message=tail)
            return "failed"
        try:
            model = self._register(job, folder / "model")
        except Exception as error:  # reported on the page, with the log's end
            self.queue.update(job.id, state="failed", finished=time.time(), progress=progress,
                              message=f"the model could not be registered: {error}\n{tail}")
            return "failed"
        self.queue.update(job.id, state="finished", finished=time.time(), progress=progress, model=model.id,
                          message=tail)
        shutil.rmtree(folder / "model", ignore_errors=True)  # its files are in the artifact store now
        self.log(f"trainer: job {job.id} finished: model {model.id}")
        return "finished"

    def _register(self, job: queue.Job, output: Path) -> registry.Model:
        metrics = results.load_metrics(output) or {}
        server = registry.Registry(collection.Access.server(), self.address)
        replaces = Path(job.recipe.get("replaces") or config.MODELS_DIR)
        figures = compare(output, replaces if config.model_path(replaces).is_file() else config.MODELS_DIR, job.owner)
        return server.register(output, owner=job.owner, description=describe(job, metrics),
                               digits_used=metrics.get("kept_digits") or 0, base=metrics.get("fine_tuned_from"),
                               figures=figures)


def compare(candidate: Path, current: Path, owner: str) -> dict:
    """A new model beside the one it would replace: test accuracy (all and per digit), the owner's own digits,
    size, speed."""
    test_set = data.load_test_set()
    kept_images, kept_labels = collection.Collection(collection.Access(owner)).arrays()
    figures = {}
    for name, models_dir in (("current", Path(current)), ("candidate", Path(candidate))):
        metrics = results.load_metrics(models_dir) or {}
        predictor = inference.Predictor(models_dir)
        row = {"test_accuracy": metrics.get("test_accuracy"),
               "per_digit": [c["recall"] for c in metrics.get("per_class", [])],
               "parameters": metrics.get("parameters"),
               "file_mib": round(config.model_path(models_dir).stat().st_size / 2**20, 2),
               "arch": metrics.get("arch"), "networks": metrics.get("ensemble"),
               "ms_per_image": round(predictor.single_image_ms(preprocess.normalize_mnist(test_set.x_test[:200])), 3)}
        if len(kept_images):
            answers = reading.read_prepared([reading.Prepared([image / 255.0], [(0, 0, 28, 28)], None)
                                             for image in kept_images.astype(np.float32)], predictor)
            row["my_digits_accuracy"] = float(np.mean([a.digit == label for a, label in zip(answers, kept_labels)]))
        row["my_digits"] = int(len(kept_images))
        figures[name] = row
    figures["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return figures


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def can_train() -> str | None:
    """None when training may run on this machine, else why not."""
    if importlib.util.find_spec("tensorflow") is None:
        return ("Training needs TensorFlow, which this installation does not have (the dashboard alone needs only "
                "requirements.txt). Install the training extra: pip install -e '.[train]'.")
    return None


def mode() -> str:
    """How this server gets its trainer: "beside" (a trainer process started with the web server, the default),
    "external" (trainers run elsewhere: other processes or machines) or "off" (no training)."""
    return os.environ.get(MODE_SETTING, "beside").strip().lower()


def start_beside(log: Callable[[str], None] | None = None) -> subprocess.Popen | None:
    """Start one trainer process beside this web server, once per process (unless MNIST_APP_TRAINER says
    external or off, or this machine cannot train). It ends with the server: it is told so when the server's
    process ends, even when the server is killed (Linux's parent-death signal)."""
    global _beside
    if mode() != "beside" or can_train():
        return None
    with _beside_guard:
        if _beside is None or _beside.poll() is not None:
            _beside = subprocess.Popen([sys.executable, "-m", "mnist_app", "trainer"], cwd=config.PROJECT_ROOT,
                                       env={**os.environ, MODE_SETTING: "external"}, stdin=subprocess.DEVNULL,
                                       preexec_fn=_die_with_parent)
            if log:
                log(f"trainer: started beside the server (pid {_beside.pid})")
        return _beside


def _die_with_parent() -> None:
    """In the trainer's process, before it runs: ask the kernel for SIGTERM when its parent process ends."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the trainer outlives a killed server (stopped servers stop it, see cluster)
        pass
