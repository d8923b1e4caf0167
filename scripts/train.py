"""Train the MNIST CNN: writes models/mnist_cnn_model.h5, history.json and metrics.json."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnist_app import train  # noqa: E402

if __name__ == "__main__":
    sys.exit(train.main())
