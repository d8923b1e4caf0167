"""The model registry's artifact store at a URL (fsspec: file:// and s3:// -- an S3 API served by moto's HTTP
server on 127.0.0.1), and how a server switches to a newly shared model: only once it is loaded and verified,
the old one answering meanwhile; a half-written, damaged or wrong model is never what answers."""

import shutil
import threading
import time

import numpy as np
import pytest

from mnist_app import config
from mnist_app.errors import StoreError
from mnist_app.serving import service
from mnist_app.store import artifacts, collection, registry, results
from tests.support.models import copy_of_the_committed_model


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on loopback (a real HTTP server speaking the S3 API), stopped when the module ends."""
    moto_server = pytest.importorskip("moto.server", reason="moto is in requirements-dev.txt")
    pytest.importorskip("s3fs", reason="s3fs is in requirements-dev.txt")
    running = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    running.start()
    host, port = running.get_host_and_port()
    yield f"http://{host}:{port}"
    running.stop()


@pytest.fixture(params=["file", "s3"])
def url_store(request, tmp_path, monkeypatch):
    """MNIST_APP_ARTIFACTS at a URL, and a fresh local cache of what was downloaded from it."""
    monkeypatch.setenv(artifacts.CACHE_SETTING, str(tmp_path / "cache"))
    if request.param == "file":
        root = f"file://{tmp_path / 'store'}"
    else:
        endpoint = request.getfixturevalue("s3_server")
        for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
                            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        import boto3
        import fsspec

        bucket = f"models-{tmp_path.name.lower().replace('_', '-')[-40:]}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        fsspec.filesystem("s3").invalidate_cache()
        root = f"s3://{bucket}/store"
    monkeypatch.setenv(artifacts.SETTING, root)
    return root


def _stored(url_store, tmp_path) -> tuple[str, str]:
    folder = copy_of_the_committed_model(tmp_path / "made")
    model_id = registry.model_id_of(folder)
    return artifacts.put(folder, model_id), model_id


def test_a_model_at_a_url_is_stored_whole_and_read_back_checked(url_store, tmp_path):
    location, model_id = _stored(url_store, tmp_path)
    assert location == f"{url_store}/{model_id}"
    local = artifacts.local(location)
    assert local.parent == tmp_path / "cache"
    for name in (config.MODEL_FILENAME, config.ONNX_FILENAME, config.METRICS_FILENAME):
        assert results.file_sha256(local / name) == results.file_sha256(tmp_path / "made" / name)
    filesystem, path = artifacts._filesystem(location)
    filesystem.rm(f"{path}/{config.ONNX_FILENAME}")  # the local copy is what readers use from now on
    assert artifacts.local(location) == local
    artifacts.remove(location)
    assert not filesystem.exists(f"{path}/{artifacts.MANIFEST}") and not local.exists()


def test_a_half_written_model_is_never_used(url_store, tmp_path):
    location, _ = _stored(url_store, tmp_path)
    filesystem, path = artifacts._filesystem(location)
    filesystem.rm(f"{path}/{artifacts.MANIFEST}")  # as if the upload stopped before its last file
    with pytest.raises(StoreError, match="not a complete model"):
        artifacts.local(location)
    assert not any((tmp_path / "cache").glob("*"))  # nothing half-downloaded left behind either


def test_a_damaged_file_in_the_store_is_refused(url_store, tmp_path):
    location, _ = _stored(url_store, tmp_path)
    filesystem, path = artifacts._filesystem(location)
    filesystem.pipe_file(f"{path}/{config.ONNX_FILENAME}", b"not the model that was stored")
    with pytest.raises(StoreError, match="does not match its SHA-256"):
        artifacts.local(location)
    assert not any((tmp_path / "cache").glob("*"))


def test_a_model_registered_at_a_url_is_what_a_server_reads_with(url_store, tmp_path):
    made = registry.Registry(collection.Access("user:ada")).register(
        copy_of_the_committed_model(tmp_path / "made", mark=url_store), description="a copy of the committed model")
    assert made.location.startswith(url_store)
    try:
        registry.Registry(collection.Access.server()).share(made.id)
        service.forget_choice()
        folder, own = service.reading_folder(None)
        assert folder.parent == tmp_path / "cache" and not own
        assert service.predictor(folder).model_id == made.id
    finally:
        registry.Registry(collection.Access.server()).share(None)
        service.forget_choice()


def _wait(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def shared_later(monkeypatch):
    """Share a model the way an admin on another replica would: this server finds out from the store (every
    reading asks again here: no READING_TTL wait), not from a call of its own."""
    monkeypatch.setattr(service, "READING_TTL", 0.0)
    service.forget_choice()
    admin = registry.Registry(collection.Access.server())
    yield lambda model_id: admin.share(model_id)
    admin.share(None)
    service.forget_choice()


def test_a_shared_model_answers_only_once_loaded_and_verified_the_old_one_meanwhile(tmp_path, shared_later):
    before = service.reading_predictor(None)
    assert before.models_dir == config.MODELS_DIR
    made = registry.Registry(collection.Access("user:ada")).register(
        copy_of_the_committed_model(tmp_path / "made", mark="switch"), description="a copy")
    new_folder = artifacts.local(made.location)
    shared_later(made.id)
    assert service.reading_predictor(None) is before  # loading in the background: the old model answers
    assert _wait(lambda: new_folder in service._ready), service._failed.get(new_folder)
    assert service.reading_predictor(None).model_id == made.id


def test_a_model_that_does_not_give_its_own_answers_never_answers(tmp_path, shared_later):
    """A model whose stored test-set answers are not what it answers (a wrong or damaged model) is refused."""
    before = service.reading_predictor(None)
    folder = copy_of_the_committed_model(tmp_path / "wrong", mark="wrong answers")
    report = service.test_report(config.MODELS_DIR)
    wrong = np.roll(report.probabilities, 1, axis=1)  # every stored answer off by one digit
    results.save_test_report(results.TestReport(wrong, report.mistakes, report.mistake_images, report.mistake_labels,
                                                results.file_sha256(config.model_path(folder))), folder)
    made = registry.Registry(collection.Access("user:ada")).register(folder, description="a wrong one")
    new_folder = artifacts.local(made.location)
    shared_later(made.id)
    assert service.reading_predictor(None) is before
    assert _wait(lambda: new_folder in service._failed)
    assert "does not give its own recorded answers" in service._failed[new_folder]
    assert service.reading_predictor(None) is before and new_folder not in service._ready
    loads = [thread for thread in threading.enumerate() if thread.name == "mnist-model-switch"]
    assert not loads  # a model that failed is not loaded and checked again on every reading
    shutil.rmtree(tmp_path / "wrong")
