"""Shared fixtures: the verified MNIST arrays and the committed model's predictor, loaded once."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from mnist_app import data, inference  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def predictor():
    return inference.Predictor()
