"""Training and exporting, the only room with TensorFlow (and SciPy): the Keras networks (`model`), augmentation
(`augment`), user-style training digits (`userstyle`), the training run (`train`), fitting the decision
(`calibrate`), the exports (`export`) and the Keras reference predictor (`reference`).

It may import the rooms below it (`serving` and down), never `ui`; nothing but the command line (inside the
commands that need it), the scripts and the tests imports it.
"""
