"""The CNN architectures, one `build_model()` that reads like the README's architecture table.

Every network takes the output of `mnist_app.images.preprocess`: float32 images of shape (28, 28, 1) with
ink = 1.0 on a background of 0.0, and returns 10 softmax probabilities.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from mnist_app import config
from mnist_app.network import architectures

INPUT_SHAPE = config.INPUT_SHAPE
ARCHITECTURES = architectures.NAMES


def _conv_bn_relu(filters: int) -> list[keras.layers.Layer]:
    # No bias: batch normalisation's beta does that job.
    return [
        layers.Conv2D(filters, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
    ]


def build_default(dropout_rate: float = 0.4) -> keras.Sequential:
    """The project's network: two VGG-style blocks of 3x3 conv + BN, a 256-unit head, ~0.33 M params."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            *_conv_bn_relu(32),  # 28 -> 26
            *_conv_bn_relu(32),  # 26 -> 24
            layers.MaxPooling2D(2),  # 24 -> 12
            layers.Dropout(0.1),
            *_conv_bn_relu(64),  # 12 -> 10
            *_conv_bn_relu(64),  # 10 -> 8
            layers.MaxPooling2D(2),  # 8 -> 4
            layers.Dropout(0.1),
            layers.Flatten(),
            layers.Dense(256, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(dropout_rate),
            layers.Dense(config.NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="default",
    )


def build_medium() -> keras.Sequential:
    """The seeds' classic network: conv 32/64 + dense 128 with dropouts (~225 k params)."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(config.NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="medium",
    )


def build_small() -> keras.Sequential:
    """The seeds' smallest network: conv 8/16 + dense 100 with dropouts (~42 k params)."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE, name="image"),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(config.NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name="small",
    )


def build_model(arch: str = "default") -> keras.Model:
    """Return a fresh, uncompiled network of the named architecture."""
    builders = {"default": build_default, "medium": build_medium, "small": build_small}
    if arch not in builders:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return builders[arch]()


def fold_ensemble(members: list[keras.Model]) -> keras.Model:
    """Fold trained members into one Keras model whose output is the mean of their probabilities."""
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    for index, member in enumerate(members):
        member.name = f"member_{index + 1}"  # unique names are required inside one functional model
    outputs = layers.Average(name="probabilities")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=f"ensemble_of_{len(members)}")


def parameter_count(model: keras.Model) -> int:
    """Total number of weights (trainable and not) in the model."""
    return int(model.count_params())


def summary(model: keras.Model) -> dict:
    """The Model page's table: one network's layers (an ensemble's members are alike), how many networks
    the model averages, and the parameter totals."""
    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    network = members[0] if members else model
    rows = []
    for layer in network.layers:
        shape = tuple(layer.output.shape)
        rows.append({"name": layer.name, "type": type(layer).__name__,
                     "output_shape": str(tuple(None if d is None else int(d) for d in shape)),
                     "parameters": int(layer.count_params())})
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    total = int(model.count_params())
    return {"name": model.name, "networks": max(1, len(members)), "layers": rows,
            "network_parameters": int(network.count_params()), "total_parameters": total,
            "trainable_parameters": trainable, "non_trainable_parameters": total - trainable}


def _size(shape) -> str:
    return "×".join(str(int(d)) for d in shape)


def inside_stages(network: keras.Model) -> list[tuple[keras.layers.Layer, dict]]:
    """What the Look inside page shows of one network, in order: each convolution with the batch normalisation and
    ReLU after it, each max-pooling, each hidden dense layer and the output; as (the layer whose output ends the
    stage, {name, kind, shape, words}). Dropout and Flatten change nothing when reading and are left out."""
    stages: list[tuple[keras.layers.Layer, dict]] = []
    counts = {"conv": 0, "pool": 0, "dense": 0}
    previous = tuple(int(d) for d in network.inputs[0].shape[1:])
    for index, layer in enumerate(network.layers):
        shape = tuple(int(d) for d in layer.output.shape[1:])
        if isinstance(layer, (layers.BatchNormalization, layers.ReLU, layers.Activation)) and stages and \
                stages[-1][1]["kind"] in ("conv", "dense") and stages[-1][1]["open"]:
            stages[-1] = (layer, stages[-1][1])  # the stage goes on to the normalised, rectified output
            continue
        if isinstance(layer, layers.Conv2D):
            counts["conv"] += 1
            size = "×".join(str(k) for k in layer.kernel_size)
            words = (f"{layer.filters} filters of {size} pixels slide over the {_size(previous[:2])} "
                     f"{'picture' if counts['conv'] == 1 else 'maps'}; each one answers where its own small "
                     f"pattern is. Batch normalisation and ReLU follow: only positive answers are kept. "
                     f"Out: {layer.filters} maps of {_size(shape[:2])}.")
            info = {"name": f"conv{counts['conv']}", "kind": "conv", "shape": shape, "words": words, "open": True}
        elif isinstance(layer, layers.MaxPooling2D):
            counts["pool"] += 1
            words = (f"2×2 max-pooling keeps the strongest answer of each 2×2 patch: {_size(previous[:2])} becomes "
                     f"{_size(shape[:2])}, still {shape[-1]} maps, and a small shift of the pen matters less.")
            info = {"name": f"pool{counts['pool']}", "kind": "pool", "shape": shape, "words": words, "open": False}
        elif isinstance(layer, layers.Dense) and index < len(network.layers) - 1:
            counts["dense"] += 1
            inputs = int(np.prod(previous))
            words = (f"{layer.units} units, each weighing all {inputs:,} numbers of the last maps at once, then "
                     "ReLU: the network's summary of the digit. The nearest training digits below are found "
                     "in this space.")
            info = {"name": f"dense{counts['dense']}", "kind": "dense", "shape": shape, "words": words,
                    "open": True}
        elif isinstance(layer, layers.Dense):
            words = (f"{layer.units} units and a softmax: one probability per digit, adding up to 100 %.")
            info = {"name": "probabilities", "kind": "output", "shape": shape, "words": words, "open": False}
        else:
            if stages:
                stages[-1][1]["open"] = False
            previous = shape
            continue
        stages.append((layer, info))
        previous = shape
    for _, info in stages:
        info.pop("open")
    return stages
