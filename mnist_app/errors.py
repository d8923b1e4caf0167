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
