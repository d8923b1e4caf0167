"""The project's own exception types: each carries a message a user can act on."""

from __future__ import annotations


class MnistAppError(Exception):
    """Base class of every error this project raises on purpose."""


class ImageError(MnistAppError, ValueError):
    """An input could not be turned into an image (empty, corrupt, not an image, unsupported)."""


class ImageTooLargeError(ImageError):
    """An input is larger (bytes or pixels) than the configured caps."""


class ModelFileError(MnistAppError, RuntimeError):
    """The model file is missing, unreadable or not an MNIST classifier."""


class UrlError(MnistAppError, ValueError):
    """A URL was refused or could not be fetched."""


class TrainingError(MnistAppError, ValueError):
    """A training run cannot be done as asked (a bad recipe, training switched off, another run going)."""


class MnistDataError(MnistAppError, RuntimeError):
    """MNIST could not be loaded or did not pass verification."""


class StoreError(MnistAppError, RuntimeError):
    """The store (My digits, the models, the job queue) cannot be used: not a store, a newer schema, busy."""


class AccessError(MnistAppError, PermissionError):
    """Someone asked for what belongs to another workspace, or for an admin's right, without having it."""


class LimitError(MnistAppError, ValueError):
    """A workspace reached one of its limits (kept digits, training runs a day) or the server is busy."""
