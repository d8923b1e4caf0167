"""Architectures: output shapes, parameter counts, the folded ensemble."""

import numpy as np
import pytest

from mnist_app.training import model


@pytest.mark.parametrize("arch, low, high", [("default", 300_000, 360_000), ("medium", 200_000, 250_000),
                                             ("small", 40_000, 45_000)])
def test_architectures_output_ten_probabilities(arch, low, high):
    network = model.build_model(arch)
    probabilities = np.asarray(network(np.zeros((3, 28, 28, 1), np.float32), training=False))
    assert probabilities.shape == (3, 10)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert low <= model.parameter_count(network) <= high


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        model.build_model("huge")


def test_folded_ensemble_averages_its_members():
    members = [model.build_model("small") for _ in range(3)]
    ensemble = model.fold_ensemble(members)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    expected = np.mean([np.asarray(m(x, training=False)) for m in members], axis=0)
    assert np.allclose(np.asarray(ensemble(x, training=False)), expected, atol=1e-6)
