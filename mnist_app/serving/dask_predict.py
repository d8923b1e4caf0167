"""`predict` on a Dask cluster: many inputs read and answered by Dask distributed's workers, in input order.

`python -m mnist_app predict --cluster local ...` starts a LocalCluster on this machine (127.0.0.1, one
single-threaded worker process per core); `--scheduler tcp://HOST:8786` uses a cluster that runs already
(dask-jobqueue, dask-kubernetes, `dask scheduler` + `dask worker`: each worker needs this project installed and
the model's folder at the same path, e.g. a shared volume). The inputs are split into partitions of paths or URLs;
a worker reads the files of a partition itself, loads the model once (kept per worker process) and sends back one
JSON line per input -- the same line, byte for byte, as the in-process `predict --json` (mnist_app.serving.batch
makes both). Lines are written in input order as partitions finish, with a progress line on stderr.

`--output FILE` (`.jsonl`, or `.parquet` for a table) keeps the answers; a run that finds FILE already there
reads only the inputs missing from it and adds theirs, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mnist_app.errors import ImageError, MnistAppError
from mnist_app.images import reading
from mnist_app.network import inference
from mnist_app.serving import batch

LARGEST_PARTITION = 64  # inputs a worker reads and predicts at a time
_predictors: dict[str, inference.Predictor] = {}  # in each worker process: the model, loaded once


@dataclass
class Summary:
    """What a run did: inputs answered now, inputs found in the output already, and failures among the new."""

    answered: int
    skipped: int
    failed: int


def answer_partition(items: list[str], models_dir: str, number: bool) -> list[str]:
    """In a worker: read, prepare and predict one partition of inputs; one JSON line per input, in order."""
    predictor = _predictors.get(models_dir)
    if predictor is None:
        predictor = _predictors[models_dir] = inference.Predictor(Path(models_dir))
    prepared = []
    for item in items:
        try:
            prepared.append(batch.prepare_slim(batch.read_input(item), number))
        except MnistAppError as error:
            prepared.append(ImageError(str(error)))
    answers = iter(reading.read_prepared([p for p in prepared if not isinstance(p, ImageError)], predictor))
    return [batch.json_line(item, result if isinstance(result, ImageError) else next(answers), number)
            for item, result in zip(items, prepared)]


def partitions(items: list[str], workers: int) -> list[list[str]]:
    """About four partitions per worker (so a slow one does not hold the rest), at most LARGEST_PARTITION each."""
    size = max(1, min(LARGEST_PARTITION, math.ceil(len(items) / max(1, 4 * workers))))
    return [items[start: start + size] for start in range(0, len(items), size)]


def done_inputs(output: Path) -> set[str]:
    """The inputs an earlier run already answered in `output` (none when it is not there yet)."""
    if not output.is_file():
        return set()
    if output.suffix == ".parquet":
        import pandas  # deferred: only Parquet output needs it

        return set(pandas.read_parquet(output, columns=["path"])["path"])
    done = set()
    with output.open() as lines:
        for line in lines:
            try:
                done.add(json.loads(line)["path"])
            except (ValueError, KeyError):  # a line cut short when the earlier run was stopped: answered again
                continue
    return done


def _client(scheduler: str | None, workers: int | None):
    from dask import distributed  # deferred: only `predict --cluster/--scheduler` needs Dask

    if scheduler:
        return distributed.Client(scheduler, timeout="20s")
    count = workers or batch.worker_count()
    cluster = distributed.LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=40)
    return distributed.Client(cluster)


class _Writer:
    """Where the answers go, in input order: stdout, a JSON-lines file (appended to), or a Parquet table
    (rewritten whole, atomically, at the end)."""

    def __init__(self, output: Path | None):
        self.output = output
        self.rows: list[str] = []
        self.handle = None
        if output is None:
            self.handle = sys.stdout
        elif output.suffix != ".parquet":
            output.parent.mkdir(parents=True, exist_ok=True)
            if output.is_file():
                kept = output.read_bytes()
                if kept and not kept.endswith(b"\n"):  # the earlier run stopped mid-line: that line goes
                    with output.open("r+b") as handle:
                        handle.truncate(kept.rfind(b"\n") + 1)
            self.handle = output.open("a")

    def write(self, lines: list[str]) -> None:
        if self.handle is None:
            self.rows.extend(lines)
            return
        self.handle.write("".join(line + "\n" for line in lines))
        self.handle.flush()

    def close(self) -> None:
        if self.output is not None and self.output.suffix == ".parquet":
            self._write_parquet()
        elif self.handle is not None and self.handle is not sys.stdout:
            self.handle.close()

    def _write_parquet(self) -> None:
        import pandas  # deferred: only Parquet output needs it (with pyarrow)

        table = pandas.DataFrame([json.loads(line) for line in self.rows])
        if self.output.is_file():
            table = pandas.concat([pandas.read_parquet(self.output), table], ignore_index=True)
        partial = self.output.with_name(f".{self.output.name}.partial")
        table.to_parquet(partial, index=False)
        os.replace(partial, self.output)


def run(items: list[str], models_dir: Path, *, number: bool = False, scheduler: str | None = None,
        workers: int | None = None, output: Path | None = None,
        progress: Callable[[int, int], None] | None = None) -> Summary:
    """Answer `items` on a Dask cluster; lines to `output` (or stdout) in input order. See the module's text."""
    if output is not None and output.suffix not in (".jsonl", ".json", ".parquet"):
        raise MnistAppError(f"--output {output}: name a .jsonl or a .parquet file")
    done = done_inputs(output) if output is not None else set()
    todo = [item for item in items if item not in done]
    summary = Summary(answered=0, skipped=len(items) - len(todo), failed=0)
    writer = _Writer(output)
    try:
        if todo:
            _answer(todo, str(Path(models_dir).resolve()), number, scheduler, workers, writer, summary, progress)
    finally:
        writer.close()
    return summary


def _answer(todo, models_dir, number, scheduler, workers, writer, summary, progress) -> None:
    from dask import distributed

    client = _client(scheduler, workers)
    try:
        parts = partitions(todo, len(client.scheduler_info(n_workers=-1)["workers"]) or 1)
        futures = client.map(answer_partition, parts, models_dir=models_dir, number=number, pure=False)
        position = {future.key: index for index, future in enumerate(futures)}
        finished: dict[int, list[str]] = {}
        next_part = 0
        for future in distributed.as_completed(futures):
            finished[position[future.key]] = future.result()
            while next_part in finished:  # write every partition whose predecessors are all written
                lines = finished.pop(next_part)
                writer.write(lines)
                summary.answered += len(lines)
                summary.failed += sum("error" in json.loads(line) for line in lines)
                next_part += 1
            if progress:
                progress(summary.answered, len(todo))
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()


def progress_bar(stream=sys.stderr) -> Callable[[int, int], None]:
    """A one-line progress bar on `stream` (redrawn in place on a terminal, a line per tenth otherwise)."""
    shown = {"tenth": -1}

    def show(done: int, total: int) -> None:
        filled = int(30 * done / total) if total else 30
        text = f"predict: [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} inputs"
        if stream.isatty():
            stream.write("\r" + text + ("\n" if done == total else ""))
        elif done * 10 // max(total, 1) != shown["tenth"]:
            shown["tenth"] = done * 10 // max(total, 1)
            stream.write(text + "\n")
        stream.flush()

    return show
