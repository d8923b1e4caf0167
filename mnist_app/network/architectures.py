"""The networks this project can train, by name and in words (mnist_app.training.model builds them in Keras).

Kept apart from the Keras code so the dashboard and the command line can name and describe a network
without importing TensorFlow; the Model page reads the architecture of the committed model from
`metrics.json` and describes it from here.
"""

from __future__ import annotations

DESCRIPTIONS = {
    "default": (
        "a small VGG-style CNN: two blocks of two 3×3 convolutions (32 then 64 filters), each followed by batch "
        "normalisation and ReLU, with 2×2 max-pooling and light dropout after each block; then a 256-unit dense "
        "layer with batch normalisation and 40 % dropout, and a 10-way softmax"),
    "medium": (
        "the classic MNIST CNN: a 3×3 convolution with 32 filters and one with 64, each followed by 2×2 "
        "max-pooling, 25 % dropout, a 128-unit dense layer with 50 % dropout, and a 10-way softmax"),
    "small": (
        "a tiny CNN: 3×3 convolutions with 8 and then 16 filters, each followed by 2×2 max-pooling, 25 % dropout, "
        "a 100-unit dense layer with 50 % dropout, and a 10-way softmax"),
}
NAMES = tuple(DESCRIPTIONS)


def describe(arch: str, networks: int = 1) -> str:
    """One or more networks of an architecture, in a sentence for people."""
    what = DESCRIPTIONS.get(arch)
    if what is None:
        return f"A network of the `{arch}` architecture."
    if networks == 1:
        return f"The model is {what}."
    return (f"The model averages the probabilities of {networks} networks trained with different seeds; each is "
            f"{what}.")
