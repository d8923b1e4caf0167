"""The artifact store: where a registered model's files live, outside the database.

`MNIST_APP_ARTIFACTS` names it: a folder (the default, `data/models/`; on several machines, a shared volume), or
an fsspec URL (`s3://bucket/models`, `gs://…`, `file:///…`; the protocol's package, e.g. s3fs, installed). One
folder per model id holds what a model is made of (MODEL_FILES) and, written last, `complete.json`: each file's
SHA-256. A model is there whole or not at all:

- into a folder, its files are copied into a hidden folder and renamed into place in one step;
- to a URL, its files are uploaded first and `complete.json` last; a reader uses a model only once its
  `complete.json` is there, and downloads it into a local cache the same way (a hidden folder, every file's
  SHA-256 checked, then renamed), so a half-written or damaged model is never loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from mnist_app import config
from mnist_app.errors import StoreError
from mnist_app.store import results

SETTING = "MNIST_APP_ARTIFACTS"
CACHE_SETTING = "MNIST_APP_ARTIFACT_CACHE"
MANIFEST = "complete.json"
# The files that make a model, as training and the export step write them (the first two are required).
MODEL_FILES = (config.MODEL_FILENAME, config.ONNX_FILENAME, config.HISTORY_FILENAME, config.METRICS_FILENAME,
               config.SUMMARY_FILENAME, config.TEST_REPORT_FILENAME, config.INSIDE_FILENAME)
REQUIRED = MODEL_FILES[:2]


def root() -> str:
    return os.environ.get(SETTING) or str(config.DATA_DIR / "models")


def _is_url(location: str) -> bool:
    return "://" in location


def _filesystem(location: str):
    import fsspec  # deferred: only an artifact store at a URL needs it

    filesystem, path = fsspec.core.url_to_fs(location)
    return filesystem, path


def _manifest(folder: Path) -> dict:
    return {"files": {name: results.file_sha256(folder / name) for name in MODEL_FILES if (folder / name).is_file()}}


def put(source: Path, model_id: str) -> str:
    """Store a model's files from `source` under `model_id`; return its location (a folder or a URL)."""
    source = Path(source)
    missing = [name for name in REQUIRED if not (source / name).is_file()]
    if missing:
        raise StoreError(f"{source} is not a whole model: {', '.join(missing)} missing")
    base = root()
    if _is_url(base):
        return _upload(source, model_id, base.rstrip("/"))
    target = Path(base) / model_id
    if not (target / MANIFEST).is_file():
        _place(source, target, lambda name, destination: shutil.copy2(source / name, destination / name))
    return str(target)


def _place(source: Path, target: Path, copy) -> None:
    """Fill a hidden folder beside `target` with `copy(name, folder)` per file and the manifest, then rename it
    into place in one step."""
    incoming = target.parent / f".incoming-{target.name}-{uuid.uuid4().hex[:8]}"
    incoming.mkdir(parents=True)
    try:
        for name in MODEL_FILES:
            if (source / name).is_file():
                copy(name, incoming)
        (incoming / MANIFEST).write_text(json.dumps(_manifest(source)))
        if target.exists():
            shutil.rmtree(target)  # a folder without its manifest: an earlier attempt that never finished
        os.rename(incoming, target)
    except OSError:
        shutil.rmtree(incoming, ignore_errors=True)
        if not (target / MANIFEST).is_file():  # unless another process put the same model in place first
            raise


def _upload(source: Path, model_id: str, base: str) -> str:
    filesystem, path = _filesystem(f"{base}/{model_id}")
    if not filesystem.exists(f"{path}/{MANIFEST}"):
        filesystem.makedirs(path, exist_ok=True)  # a folder for file:// (object stores have none to make)
        for name in MODEL_FILES:
            if (source / name).is_file():
                filesystem.put_file(str(source / name), f"{path}/{name}")
        with filesystem.open(f"{path}/{MANIFEST}", "w") as handle:  # last: the model is complete from now on
            handle.write(json.dumps(_manifest(source)))
    return f"{base}/{model_id}"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_SETTING) or config.DATA_DIR / "artifact-cache")


def local(location: str) -> Path:
    """The folder a model's files can be read from on this machine: the folder itself, or the local copy of a
    model stored at a URL (downloaded and checked the first time)."""
    if not _is_url(location):
        return Path(location)
    target = cache_root() / location.rstrip("/").rsplit("/", 1)[1]
    if (target / MANIFEST).is_file():
        return target
    filesystem, path = _filesystem(location)
    try:
        manifest = json.loads(filesystem.cat_file(f"{path}/{MANIFEST}"))
    except FileNotFoundError:
        raise StoreError(f"{location} is not a complete model (no {MANIFEST})") from None

    def download(name: str, folder: Path) -> None:
        filesystem.get_file(f"{path}/{name}", str(folder / name))
        if results.file_sha256(folder / name) != manifest["files"][name]:
            raise StoreError(f"{location}/{name} does not match its SHA-256 in {MANIFEST}")

    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.parent / f".incoming-{target.name}-{uuid.uuid4().hex[:8]}"
    incoming.mkdir()
    try:
        for name in manifest["files"]:
            download(name, incoming)
        (incoming / MANIFEST).write_text(json.dumps(manifest))
        if target.exists():
            shutil.rmtree(target)
        os.rename(incoming, target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    return target


def remove(location: str) -> None:
    """Delete a model's files (the registry removes a model no record names any more)."""
    if _is_url(location):
        filesystem, path = _filesystem(location)
        if filesystem.exists(path):
            filesystem.rm(path, recursive=True)
        shutil.rmtree(cache_root() / location.rstrip("/").rsplit("/", 1)[1], ignore_errors=True)
        return
    folder = Path(location)
    if folder.is_dir() and folder.parent == Path(root()):
        shutil.rmtree(folder, ignore_errors=True)
