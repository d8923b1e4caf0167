"""Measuring a model: test-set figures (`evaluate`), calibration error (`calibration`), user-style digits
(`handwriting`, `robustness`), non-digits (`negatives`), the "no digit" decision (`decision`) and the
over/under-fitting verdict (`verdict`).

Imports: `images`, `network`, `store` and the top-level basics; never TensorFlow or SciPy, so pages may show
what is measured here. Fitting numbers on these measures is training's job (`training.calibrate`).
"""
