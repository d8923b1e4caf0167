"""Train the MNIST CNN: writes models/mnist_cnn_model.h5, history.json and metrics.json (= `python -m mnist_app
train`; the flags are the same)."""

import sys

from mnist_app import cli

if __name__ == "__main__":
    sys.exit(cli.main(["train", *sys.argv[1:]]))
