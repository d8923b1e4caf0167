"""Shared fixtures: the verified MNIST arrays and the committed model's predictor, loaded once."""

import pytest

from mnist_app.network import inference
from mnist_app.store import data


@pytest.fixture(scope="session")
def mnist():
    return data.load_mnist()


@pytest.fixture(scope="session")
def predictor():
    return inference.Predictor()


@pytest.fixture(scope="session")
def user_style_cases(mnist):
    """The robustness set (MNIST test digits and pen-written digits in every user style) and its readings."""
    from mnist_app.measure import robustness

    cases = robustness.build_cases(mnist.x_test, mnist.y_test, per_style=200)
    return cases, robustness.read_cases(cases, inference.Predictor())
