"""mnist_app: MNIST data, preprocessing, model, training, inference and evaluation for the dashboard."""

import os

# TensorFlow reads this when it is first imported, wherever that happens (training, exports, the Keras
# reference path): set once here, before any of them, it keeps TensorFlow's start-up log lines out of
# every face. A value the user set stays.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
