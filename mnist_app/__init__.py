"""mnist_app: a handwritten-digit recognizer -- MNIST, a CNN, a Streamlit dashboard and a command line.

The rooms, each importing only the ones below it (pyproject.toml's import-linter contracts check it):

    cli, __main__   the command line (training imported only inside the commands that need it)
    ui | training   the dashboard's pieces | training, exports, the Keras reference (TensorFlow, SciPy)
    serving         what a server shares and warms, batches over every core, training runs started from pages
    measure         test-set figures, calibration error, user styles, non-digits, the decision, the verdict
    images          decoding, MNIST-style preprocessing, whole numbers, reading, why-this-digit, URL fetching
    network         architectures, the training recipe (flags), the ONNX predictor
    store           MNIST, the files beside a model, the digits people keep
    config, errors  paths, constants and the project's exceptions
"""

import os

# TensorFlow reads this when it is first imported, wherever that happens (training, exports, the Keras
# reference path): set once here, before any of them, it keeps TensorFlow's start-up log lines out of
# every face. A value the user set stays.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
