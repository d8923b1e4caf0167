"""Preparing many images at once: the preprocessing spread over every core, answers in input order.

Decoding and preprocessing are plain CPU work on one image at a time, so a batch is split across
worker processes (a process pool: the work holds the GIL between OpenCV calls, so threads would not
add up). Workers send back only the 28x28 model input, the notes and the reason, never the decoded
picture. Small batches stay in this process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from mnist_app.errors import ImageError
from mnist_app.images import reading

PARALLEL_FROM = 48  # inputs; below this one process is faster than starting workers
CHUNK = 16  # inputs handed to a worker at a time


def prepare_slim(source, number: bool = False) -> reading.Prepared | ImageError:
    """reading.prepare() without the decoded picture (cheap to send between processes), or the ImageError."""
    try:
        return reading.prepare(source, number=number).slim()
    except ImageError as error:
        return error


def worker_count() -> int:
    """Processes to use: one per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class PreparedStream:
    """Prepared inputs (or their ImageErrors) in input order, computed by a pool of workers.

    Create it before anything in this process starts threads of its own (ONNX Runtime does): on Linux
    the workers are forked, and they start as soon as the stream is created.
    """

    def __init__(self, sources: Iterable, *, number: bool = False, workers: int | None = None):
        self.sources = list(sources)
        self.workers = min(workers or worker_count(), max(1, len(self.sources) // CHUNK))
        self._pool = None
        if self.workers > 1 and len(self.sources) >= PARALLEL_FROM:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
            work = functools.partial(prepare_slim, number=number)
            self._results = self._pool.map(work, self.sources, chunksize=CHUNK)  # every worker starts now
        else:
            self._results = (prepare_slim(source, number) for source in self.sources)

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def __iter__(self) -> Iterator[reading.Prepared | ImageError]:
        try:
            yield from self._results
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
