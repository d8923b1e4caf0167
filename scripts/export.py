"""Export the committed model as .keras, a TensorFlow SavedModel (for TensorFlow Serving), LiteRT
.tflite and ONNX; each is checked to agree with the Keras model on the 10,000 MNIST test images."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnist_app import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main(["export"]))
