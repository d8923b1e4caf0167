"""Export the committed model as .keras, a TensorFlow SavedModel (for TensorFlow Serving), LiteRT
.tflite and ONNX; each is checked to agree with the Keras model on the 10,000 MNIST test images
(= `python -m mnist_app export`)."""

import sys

from mnist_app import cli

if __name__ == "__main__":
    sys.exit(cli.main(["export"]))
