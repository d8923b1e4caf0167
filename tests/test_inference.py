"""The predictor: the committed model's accuracy, fast path = reference path, threads, bad model files."""

import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from mnist_app import config
from mnist_app.errors import ModelFileError
from mnist_app.images import preprocess, reading
from mnist_app.network import inference
from mnist_app.training import reference


@pytest.fixture(scope="module")
def test_images(mnist):
    return preprocess.normalize_mnist(mnist.x_test)


def test_committed_model_reaches_99_6_percent_on_the_real_test_set(predictor, test_images, mnist):
    assert predictor.backend == "onnx", predictor.notes
    accuracy = float(np.mean(predictor.predict_batch(test_images).argmax(axis=1) == mnist.y_test))
    assert accuracy >= 0.996, f"test accuracy {accuracy:.4f}"


def test_fast_path_agrees_with_keras_on_all_test_images(predictor, test_images):
    keras_answers = reference.Predictor(backend="keras").predict_batch(test_images)
    fast = predictor.predict_batch(test_images)
    assert np.array_equal(fast.argmax(axis=1), keras_answers.argmax(axis=1))
    assert np.abs(fast - keras_answers).max() <= 1e-4


def test_eight_threads_get_the_sequential_answers(predictor, test_images):
    singles = [test_images[i: i + 1] for i in range(500)]
    expected = [predictor.predict_batch(image) for image in singles]
    results = [[None] * len(singles) for _ in range(8)]

    def worker(slot):
        for index in np.random.default_rng(slot).permutation(len(singles)):
            results[slot][index] = predictor.predict_batch(singles[index])

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for per_thread in results:
        assert all(np.array_equal(got, want) for got, want in zip(per_thread, expected))


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a second core to stray onto")
def test_a_process_held_to_one_core_runs_the_model_on_that_core_only():
    """Left to itself, ONNX Runtime starts a thread per core of the machine and pins it there, whatever cores the
    process may use: a benchmark "on one core" then ran its batches on two."""
    core = sorted(os.sched_getaffinity(0))[0]
    script = (f"import os; os.sched_setaffinity(0, {{{core}}})\n"
              "import numpy as np\n"
              "from mnist_app import config\n"
              "from mnist_app.network import inference\n"
              "session = inference.onnx_session(config.onnx_path(config.MODELS_DIR))\n"
              "session.run(None, {session.get_inputs()[0].name: np.zeros((64, 28, 28, 1), np.float32)})\n"
              "print(sorted({c for t in os.listdir('/proc/self/task') for c in os.sched_getaffinity(int(t))}))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=config.PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"[{core}]"


def test_prediction_reports_digit_confidence_top_k_and_what_the_model_saw(predictor, mnist):
    from PIL import Image

    from tests.support import images

    result = reading.read(images.encode(Image.fromarray(mnist.x_test[0])), predictor=predictor)
    assert result.digit == 7 and result.confidence > 0.9
    assert result.model_input.shape == (28, 28)
    top = result.top(3)
    assert [digit for digit, _ in top][0] == 7 and top[0][1] >= top[1][1] >= top[2][1]
    assert np.isclose(result.probabilities.sum(), 1.0, atol=1e-4)
    assert not result.unsure


def test_blank_image_gets_no_guess(predictor):
    blank = np.zeros((100, 100), dtype=np.uint8)
    result = reading.read(blank, predictor=predictor)
    assert result.digit is None and result.probabilities is None and "no digit" in result.reason


def _copy_models(tmp_path):
    target = tmp_path / "models"
    target.mkdir()
    shutil.copy(config.model_path(), config.model_path(target))
    shutil.copy(config.onnx_path(), config.onnx_path(target))
    return target


def test_missing_model_says_how_to_train(tmp_path):
    with pytest.raises(ModelFileError, match="make train"):
        inference.Predictor(tmp_path)


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated"])
def test_damaged_model_file_is_a_clear_error(tmp_path, damage):
    models = _copy_models(tmp_path)
    path = config.model_path(models)
    content = path.read_bytes()
    path.write_bytes({"empty": b"", "garbage": b"<html>not hdf5</html>" * 10,
                      "truncated": content[: len(content) // 3]}[damage])
    config.onnx_path(models).unlink()
    with pytest.raises(ModelFileError, match="make train"):
        reference.Predictor(models)


def test_model_with_wrong_shapes_is_refused(tmp_path):
    import keras

    wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
    wrong.save(config.model_path(tmp_path))
    with pytest.raises(ModelFileError, match="not an MNIST classifier"):
        reference.Predictor(tmp_path)


def test_stale_onnx_export_is_not_used(tmp_path):
    models = _copy_models(tmp_path)
    with open(config.model_path(models), "ab") as handle:
        handle.write(b"\0")  # a different .h5 (HDF5 ignores trailing bytes) than the export came from
    fallback = reference.Predictor(models)
    assert fallback.backend == "keras" and "different" in fallback.notes[0]
    with pytest.raises(ModelFileError, match="export"):
        inference.Predictor(models)  # the fast path alone (every face but the Keras reference) says what to run
