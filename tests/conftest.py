"""Shared fixtures: the verified MNIST arrays and the committed model's predictor, loaded once."""

import pytest

from mnist_app import data, inference


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def predictor():
    return inference.Predictor()
