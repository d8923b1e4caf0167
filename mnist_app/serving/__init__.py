"""Serving and its state: what one server process shares and warms (`service`), batches over every core
(`batch`) and training runs started from the dashboard, in processes of their own (`jobs`).

Imports: `measure`, `images`, `network`, `store` and the top-level basics. Never `training` or TensorFlow: a
training run is another process (`python -m mnist_app train`), not an import.
"""
