"""Preparing many images at once: the preprocessing spread over every core, answers in input order; what an
input is (a path, a glob, an http(s) or fsspec URL) and the JSON line each answer becomes, for every batch path
(this machine's cores here, a Dask cluster in `mnist_app.serving.dask_predict`).

Decoding and preprocessing are plain CPU work on one image at a time, so a batch is split across
worker processes (a process pool: the work holds the GIL between OpenCV calls, so threads would not
add up). Workers send back only the 28x28 model input, the notes and the reason, never the decoded
picture. Small batches stay in this process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import functools
import glob
import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from mnist_app.errors import ImageError, ImageTooLargeError
from mnist_app.images import fetch, preprocess, reading

PARALLEL_FROM = 48  # inputs; below this one process is faster than starting workers
CHUNK = 16  # inputs handed to a worker at a time


WEB = ("http://", "https://", "data:", "javascript:")  # through the guarded fetcher, which refuses all but http(s)


def is_url(text: str) -> bool:
    return "://" in text[:16] or text.lower().startswith(WEB)


def expand(items: Iterable[str]) -> list[str]:
    """Inputs as given, a glob (local, or an fsspec URL's) replaced by what it matches, in sorted order; a glob
    that matches nothing stays as it is (and is reported as not found)."""
    expanded = []
    for item in items:
        matched = []
        if glob.has_magic(item) and not item.lower().startswith(WEB):
            if is_url(item):
                filesystem = _filesystem(item)[0]
                matched = [filesystem.unstrip_protocol(path) for path in sorted(filesystem.glob(item))]
            else:
                matched = sorted(glob.glob(item))
        expanded.extend(matched or [item])
    return expanded


def _filesystem(url: str):
    import fsspec  # deferred: only inputs at an fsspec URL (s3://, gs://, file://...) need it

    return fsspec.core.url_to_fs(url)


def read_input(item: str):
    """What reading.prepare() is given for one input: a local path as is; an http(s) URL fetched through the
    project's guarded fetcher; any other URL (s3://, gs://, file://...) read through fsspec, within the same size
    limit as a file."""
    if not is_url(item):
        return item
    if item.lower().startswith(WEB):
        return fetch.fetch_image_bytes(item).content
    filesystem, path = _filesystem(item)
    try:
        size = filesystem.size(path)
    except FileNotFoundError:
        raise ImageError(f"{item}: no such file") from None
    if size is not None and size > preprocess.MAX_INPUT_BYTES:
        raise ImageTooLargeError(f"{item}: {preprocess.too_many_bytes(size)}")
    return filesystem.cat_file(path)


def json_line(item: str, result: reading.Reading | ImageError, number: bool, why: str | None = None) -> str:
    """One answer as `predict --json` prints it (and `--output` stores it): the input, the reading or the error."""
    if isinstance(result, ImageError):
        empty = {"number": None, "digits": []} if number else {"digit": None, "confidence": None,
                                                                  "probabilities": None}
        return json.dumps({"path": item, **empty, "error": str(result)})
    line = {"path": item, **result.as_dict()}
    if why:
        line["explanation"] = why
    return json.dumps(line)


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
