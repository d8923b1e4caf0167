"""`predict` on Dask distributed: a real LocalCluster (2 worker processes on 127.0.0.1), the same JSON lines as the
in-process path byte for byte, input order, resuming from a stopped run, Parquet, globs and fsspec URLs."""

import json
import shutil

import pytest
from PIL import Image

from tests.test_cli import run_cli

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed", reason="Dask distributed is the [cluster] extra (make installs it)")
FILES = 500


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, mnist):
    """500 images: MNIST test digits at 140x140, every third dark on light, every 37th not an image at all."""
    folder = tmp_path_factory.mktemp("dask")
    paths = []
    for index in range(FILES):
        path = folder / f"{index:04d}.png"
        if index % 37 == 11:
            path.write_bytes(b"GIF89a but not really")
        else:
            digit = mnist.x_test[index]
            Image.fromarray(255 - digit if index % 3 == 0 else digit).resize((140, 140)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def in_process(inputs):
    result = run_cli("predict", "--json", *inputs)
    assert result.returncode == 1, result.stderr  # the files that are not images
    return result.stdout


def test_a_local_cluster_gives_the_in_process_answers_byte_for_byte(inputs, in_process, tmp_path):
    output = tmp_path / "answers.jsonl"
    result = run_cli("predict", "--cluster", "local", "--workers", "2", "--output", output, *inputs)
    assert result.returncode == 1, result.stderr
    assert output.read_text() == in_process
    lines = [json.loads(line) for line in in_process.splitlines()]
    assert [line["path"] for line in lines] == [str(path) for path in inputs]
    assert sum("error" in line for line in lines) == len([i for i in range(FILES) if i % 37 == 11])
    assert f"predict: [{'#' * 30}] {FILES}/{FILES} inputs" in result.stderr  # the progress bar reached the end
    assert f"{FILES} answered, 0 already in the output" in result.stderr


def test_a_resumed_run_reads_only_what_is_missing(inputs, in_process, tmp_path):
    """A run stopped after 300 answers (and half of the 301st line) is resumed: the 300 files it answered are not
    even there any more, so reading any of them again would give an error line instead of the answer."""
    lines = in_process.splitlines(keepends=True)
    output = tmp_path / "answers.jsonl"
    output.write_text("".join(lines[:300]) + lines[300][:40])
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in inputs[:300]:
        shutil.copy(path, moved / path.name)
        path.unlink()
    try:
        result = run_cli("predict", "--cluster", "local", "--workers", "2", "--output", output, *inputs)
    finally:
        for path in inputs[:300]:
            shutil.copy(moved / path.name, path)
    assert f"{FILES - 300} answered, 300 already in the output" in result.stderr, result.stderr
    assert output.read_text() == in_process


def test_a_running_scheduler_parquet_globs_and_fsspec_urls(inputs, in_process, tmp_path):
    """--scheduler with a cluster started apart (as dask-jobqueue or dask-kubernetes would give), inputs as a glob
    and as file:// URLs, answers as a Parquet table; each worker keeps one loaded model."""
    import pandas

    from mnist_app.serving import dask_predict

    expected = [json.loads(line) for line in in_process.splitlines()][:120]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        assert all(address.startswith("tcp://127.0.0.1:") for address in [cluster.scheduler_address,
                                                                           *client.scheduler_info()["workers"]])
        folder = inputs[0].parent
        output = tmp_path / "answers.parquet"
        result = run_cli("predict", "--scheduler", cluster.scheduler_address, "--output", output,
                         folder / "00[0-9]?.png", f"file://{folder}/01[01]?.png")
        assert result.returncode == 1, result.stderr
        table = pandas.read_parquet(output)
        assert list(table["path"][:100]) == [str(path) for path in inputs[:100]]
        assert list(table["path"][100:]) == [f"file://{path}" for path in inputs[100:120]]
        for row, want in zip(table.itertuples(), expected):
            if "error" in want:
                assert isinstance(row.error, str) and row.error
            else:
                assert row.digit == want["digit"] and row.confidence == want["confidence"]
        loaded = client.run(lambda: len(dask_predict._predictors))
        assert sorted(loaded.values()) == [1, 1]  # both workers answered, each loading the model once
