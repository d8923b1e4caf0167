"""Look inside, below the page: the ONNX export of every stage against Keras, the FLOP count, the nearest-neighbour
index (never used stale) and the changes the sliders make to a digit."""

import shutil

import numpy as np
import pytest
from PIL import Image

from mnist_app import config
from mnist_app.errors import ModelFileError
from mnist_app.images import alter, preprocess, reading
from mnist_app.network import inside
from mnist_app.serving import service
from mnist_app.store import results
from tests.support import images as test_images


@pytest.fixture(scope="module")
def committed_inside():
    return inside.load()


def test_the_committed_inside_export_is_the_committed_models(committed_inside):
    assert committed_inside.source_sha256 == results.file_sha256(config.model_path())
    assert committed_inside.networks == 3 and committed_inside.member == 1
    assert [stage["name"] for stage in committed_inside.stages] == [
        "conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "dense1", "probabilities"]
    assert committed_inside.filters.shape == (32, 3, 3)
    assert committed_inside.penultimate == "dense1"


@pytest.mark.slow
def test_every_stage_of_the_onnx_export_equals_keras_layer_outputs_on_100_test_digits(mnist, committed_inside):
    import keras

    from mnist_app.training import export

    model = keras.models.load_model(config.model_path(), compile=False)
    stage_model, stages = export._inside_model(export.member(model))
    digits = preprocess.normalize_mnist(mnist.x_test[:100])
    expected = stage_model([digits], training=False)
    produced = committed_inside.run(digits)
    assert set(produced) == {stage["name"] for stage in stages} == set(expected)
    for name in expected:
        assert produced[name].shape == tuple(expected[name].shape), name
        assert np.max(np.abs(produced[name] - np.asarray(expected[name]))) <= 1e-4, name
    # and the stages are those of the first network of the three: its probabilities are one third of the model's sum
    whole = model(digits, training=False)
    others = [export.member(model, i)(digits, training=False) for i in (1, 2)]
    assert np.allclose((produced["probabilities"] + others[0] + others[1]) / 3, whole, atol=1e-5)


@pytest.mark.slow
def test_flops_are_counted_in_the_onnx_graph_as_two_per_multiply_add():
    import onnx

    from mnist_app.training import export

    # one network of the default architecture, layer by layer: output pixels x filters x (3 x 3 x input channels)
    convolutions = 26 * 26 * 32 * 9 + 24 * 24 * 32 * 288 + 10 * 10 * 64 * 288 + 8 * 8 * 64 * 576
    dense = 1024 * 256 + 256 * 10
    assert export.count_flops(onnx.load(str(inside.inside_path()))) == 2 * (convolutions + dense)
    assert export.count_flops(onnx.load(str(config.onnx_path()))) == 3 * 2 * (convolutions + dense)
    assert results.load_model_summary()["mflop"] == round(3 * 2 * (convolutions + dense) / 1e6, 2)


def test_the_served_graph_has_batch_normalisation_folded_into_its_convolutions():
    """Reading pays for no normalisation of its own: the export folds each BatchNormalization into the convolution
    before it (scale into the weights, shift into the bias)."""
    import onnx

    graph = onnx.load(str(config.onnx_path())).graph
    operations = [node.op_type for node in graph.node]
    assert "BatchNormalization" not in operations
    assert operations.count("Conv") == 4 * results.load_model_summary()["networks"]


def _subset(mnist, count=600):
    return mnist.x_test[:count], mnist.y_test[:count]  # stand-ins for the training digits: the index's mechanics


def test_the_nearest_digit_to_an_indexed_digit_is_itself_and_its_likes_share_its_label(mnist, committed_inside):
    digits, labels = _subset(mnist)
    index = inside.build_index(committed_inside, digits, labels)
    assert index.vectors.dtype == np.float16 and index.vectors.shape == (len(digits), 256)
    hits = 0
    for number in range(0, 100, 7):
        vector = committed_inside.look(digits[number] / 255.0)["dense1"]
        found, similarity = index.query(vector)
        assert found[0] == number and similarity[0] > 0.999
        assert len(found) == inside.NEIGHBOURS and np.all(np.diff(similarity) <= 1e-6)
        hits += int(np.sum(labels[found] == labels[number]))
    assert hits >= 0.9 * 15 * inside.NEIGHBOURS


def test_an_index_of_another_model_is_never_used_and_is_rebuilt_for_the_new_one(tmp_path, mnist, committed_inside):
    from tests.support.models import copy_of_the_committed_model

    folder = copy_of_the_committed_model(tmp_path / "model", "first")
    training = _subset(mnist, 300)
    built = inside.nearest_index(folder, training=training)
    assert inside.load_index(folder).source_sha256 == results.file_sha256(config.model_path(folder)) \
        == built.source_sha256
    # the model changes (another .h5, its exports made again): the stored index is another model's now
    stale = inside.index_path(folder).read_bytes()
    copy_of_the_committed_model(folder, "second")
    assert inside.index_path(folder).read_bytes() == stale
    assert inside.load_index(folder) is None
    rebuilt = inside.nearest_index(folder, training=training)
    assert rebuilt.source_sha256 == results.file_sha256(config.model_path(folder)) != built.source_sha256
    assert inside.load_index(folder).source_sha256 == rebuilt.source_sha256


def test_the_servers_shared_index_follows_the_model(tmp_path, mnist, monkeypatch):
    from tests.support.models import copy_of_the_committed_model

    monkeypatch.setattr(service, "training_set", lambda: _subset(mnist, 300))
    folder = copy_of_the_committed_model(tmp_path / "model", "first")
    first = service.nearest_index(folder)
    assert service.nearest_index(folder) is first  # loaded once
    copy_of_the_committed_model(folder, "second")
    second = service.nearest_index(folder)
    assert second.source_sha256 == results.file_sha256(config.model_path(folder)) != first.source_sha256


def test_a_stale_or_missing_inside_export_says_what_to_do(tmp_path):
    from tests.support.models import copy_of_the_committed_model

    folder = copy_of_the_committed_model(tmp_path / "model")
    shutil.copy(config.model_path(), config.model_path(folder))  # the committed .h5: the export is another's now
    with pytest.raises(ModelFileError, match="exported from another model.*python -m mnist_app export"):
        inside.load(folder)
    inside.inside_path(folder).unlink()
    with pytest.raises(ModelFileError, match="no Look inside export"):
        inside.load(folder)
    assert not inside.current(folder)


def _centre_of_mass(field):
    rows, columns = np.indices(field.shape)
    return np.array([np.sum(rows * field), np.sum(columns * field)]) / field.sum()


def test_the_sliders_move_turn_scale_thicken_and_erase_the_digit(mnist):
    digit = mnist.x_test[4] / 255.0
    assert np.allclose(alter.altered(digit), digit)
    moved = alter.altered(digit, shift=(3, -2))
    assert np.allclose(_centre_of_mass(moved) - _centre_of_mass(digit), (-2, 3), atol=0.3)
    turned = alter.altered(digit, angle=90)
    assert not np.allclose(turned, digit) and abs(turned.sum() - digit.sum()) < 0.1 * digit.sum()
    assert alter.altered(digit, scale=0.5).sum() < 0.4 * digit.sum()
    assert alter.altered(digit, thickness=1).sum() > 1.3 * digit.sum() > 1.69 * alter.altered(digit,
                                                                                             thickness=-1).sum()
    top_gone = alter.altered(digit, erase="the top third")
    assert top_gone[:10].sum() == 0 and np.allclose(top_gone[10:], digit[10:])
    assert alter.rotations(digit, [-30, 0, 30]).shape == (3, 28, 28, 1)
    assert np.allclose(alter.shifts(digit, [0])[0, ..., 0], digit)


def test_without_preprocessing_a_small_digit_in_a_corner_stays_small_and_off_centre(mnist, predictor):
    page = Image.new("L", (280, 280), 255)
    page.paste(Image.fromarray(255 - mnist.x_test[4]).resize((70, 70)), (10, 180))
    naive = alter.without_preprocessing(page.convert("RGB"))
    prepared = reading.prepare(test_images.encode(page)).model_input
    assert naive.shape == (28, 28) and naive.max() == pytest.approx(1.0)
    assert np.flatnonzero(naive.sum(axis=0)).max() < 12  # in the left part, as in the picture
    assert abs(_centre_of_mass(prepared) - 14).max() < 1.0 < abs(_centre_of_mass(naive) - 14).max()
    assert int(predictor.predict_batch(prepared.reshape(1, 28, 28, 1)).argmax()) == 4
