"""What a training run is asked to do: the recipe, its defaults and its command-line flags.

Kept apart from `mnist_app.training.train` (which imports TensorFlow) so the command line can offer the flags, and
the dashboard the choices, without loading TensorFlow.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from pathlib import Path

from mnist_app import config
from mnist_app.errors import TrainingError
from mnist_app.network import architectures


@dataclass
class Recipe:
    """One training run. The defaults are the project's default recipe: one network, 12 epochs."""

    arch: str = "default"
    epochs: int = 12
    batch_size: int = 128
    seed: int = 1
    ensemble: int = 1  # networks, seeds seed .. seed + ensemble - 1, averaged into one model
    learning_rate: float = 3e-3  # peak of the one-cycle schedule
    validation_size: int = 5000  # images carved out of the training set for validation
    limit: int | None = None  # train on only this many training images (quick smoke runs)
    augment: bool = True
    user_styles: bool = True  # also train on user-style digits and on non-digits (mnist_app.training.userstyle)
    negative_weight: float = 0.5  # how much a non-digit's "no digit in particular" counts against a digit
    number_digits: int = 0  # also train on this many digits written as a number's (userstyle.number_digits)
    with_collection: bool = False  # also train on the digits people kept ("My digits", mnist_app.store.collection)
    owner: str | None = None  # whose kept digits (None: everyone's, which only the server's command line may ask)
    fine_tune: bool = False  # start from a model's weights instead of new networks ...
    start_from: Path | None = None  # ... this model's folder (default: the committed model, models/)
    distill: bool = False  # train one network on the soft targets of a teacher model (the committed ensemble) ...
    teacher: Path | None = None  # ... this model's folder (default: the committed model, models/)
    temperature: float = 4.0  # ... its probabilities softened by this temperature ...
    hard_weight: float = 0.3  # ... the true labels weighing this much, the teacher's soft targets the rest
    ema: bool = False  # keep an exponential moving average of the weights and finish with it
    track_test: bool = False  # record test accuracy per epoch: a report, never used to choose anything
    output_dir: Path = field(default_factory=lambda: config.MODELS_DIR)
    verbose: int = 1  # Keras output: 1 = progress bar, 2 = one line per epoch, 0 = quiet
    progress: Path | None = None  # a JSON file kept up to date while training (the Train page reads it)

    def check(self) -> None:
        """Raise TrainingError for a recipe that cannot be trained."""
        if self.arch not in architectures.NAMES:
            raise TrainingError(f"unknown architecture {self.arch!r}; choose one of {', '.join(architectures.NAMES)}")
        if self.number_digits < 0:
            raise TrainingError("the number of number-style digits cannot be negative")
        if self.epochs < 1 or self.batch_size < 1 or self.ensemble < 1:
            raise TrainingError("epochs, batch size and ensemble must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise TrainingError("limit must be at least 1")
        if self.distill and (self.fine_tune or self.ensemble != 1):
            raise TrainingError("--distill trains one new network: not with --fine-tune or --ensemble")
        if not (self.temperature > 0 and 0 <= self.hard_weight <= 1):
            raise TrainingError("the temperature must be positive and the hard-label weight between 0 and 1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The training flags (`python -m mnist_app train`, `scripts/train.py`)."""
    default = Recipe()
    parser.add_argument("--arch", choices=architectures.NAMES, default=default.arch,
                        help="network (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=default.epochs, help="epochs per network (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=default.batch_size, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=default.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--ensemble", type=int, default=default.ensemble,
                        help="train N networks (seeds seed..seed+N-1) and fold them into one model averaging "
                             "their probabilities (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=default.learning_rate,
                        help="peak learning rate of the one-cycle schedule (default: %(default)s)")
    parser.add_argument("--validation-size", type=int, default=default.validation_size,
                        help="images carved from the training set for validation (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on only this many training images (quick smoke runs)")
    parser.add_argument("--no-augment", dest="augment", action="store_false", help="train without augmentation")
    parser.add_argument("--no-user-styles", dest="user_styles", action="store_false",
                        help="train on MNIST alone: no user-style digits, no non-digits (no 'no digit' answers)")
    parser.add_argument("--negative-weight", type=float, default=default.negative_weight,
                        help="weight of the non-digits' loss (default: %(default)s)")
    parser.add_argument("--number-digits", type=int, default=default.number_digits, metavar="N",
                        help="also train on N training digits written as a written number's are (its size and pens, "
                             "normalised as a number's digit is; most with the fine pen) (default: %(default)s)")
    parser.add_argument("--with-collection", action="store_true",
                        help="also train on the digits kept in My digits (the collection), given extra weight")
    parser.add_argument("--owner", default=None, metavar="OWNER",
                        help="with --with-collection: only this workspace's digits (default: everyone's)")
    parser.add_argument("--fine-tune", action="store_true",
                        help="start from the current model (models/) at a tenth of the learning rate, instead of "
                             "new networks: it learns the new digits without forgetting MNIST")
    parser.add_argument("--start-from", type=Path, default=None, metavar="DIR",
                        help="with --fine-tune: the folder of the model to start from (default: models/)")
    parser.add_argument("--distill", action="store_true",
                        help="train one network on a teacher's soft targets (knowledge distillation); the teacher "
                             "is the committed model unless --teacher names another")
    parser.add_argument("--teacher", type=Path, default=None, metavar="DIR",
                        help="with --distill: the folder of the teacher model (default: models/)")
    parser.add_argument("--temperature", type=float, default=default.temperature,
                        help="with --distill: softening temperature of the teacher's probabilities (default: "
                             "%(default)s)")
    parser.add_argument("--hard-weight", type=float, default=default.hard_weight,
                        help="with --distill: weight of the true labels' loss; the soft targets get the rest "
                             "(default: %(default)s)")
    parser.add_argument("--ema", action="store_true",
                        help="keep an exponential moving average of the weights and finish with it")
    parser.add_argument("--progress", type=Path, default=None, metavar="FILE",
                        help="keep FILE (JSON) up to date with the run's phase, epoch and curves")
    parser.add_argument("--track-test", action="store_true",
                        help="also record test accuracy after every epoch (a report for time-to-accuracy "
                             "figures; never used to choose anything)")
    parser.add_argument("--output-dir", type=Path, default=default.output_dir, help="default: %(default)s")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=default.verbose,
                        help="Keras output: 1 = progress bar, 2 = one line per epoch, 0 = quiet")


def from_arguments(arguments: argparse.Namespace) -> Recipe:
    """The recipe the parsed flags describe."""
    return Recipe(**{f.name: getattr(arguments, f.name) for f in fields(Recipe)})
