"""Judging the training curves: over- or under-fitting, by a rule the Training history page states."""

from __future__ import annotations

from dataclasses import dataclass

# The over/under-fitting rule, stated on the Training history page exactly as applied here.
OVERFIT_LOSS_RISE = 0.10  # final validation loss 10 % above its best epoch ...
OVERFIT_ACCURACY_GAP = 0.01  # ... or training accuracy more than 1 point above validation accuracy
UNDERFIT_ACCURACY = 0.985  # validation accuracy below 98.5 % ...
UNDERFIT_STILL_IMPROVING = 0.002  # ... or still gaining over 0.2 points per epoch at the end
VERDICT_RULE = (
    f"**Overfitting** if the final validation loss is more than {OVERFIT_LOSS_RISE:.0%} above its best epoch, or the "
    f"final training accuracy exceeds validation accuracy by more than {OVERFIT_ACCURACY_GAP * 100:.0f} point. "
    f"**Underfitting** if the final validation accuracy is below {UNDERFIT_ACCURACY:.1%}, "
    f"or it was still rising by more than {UNDERFIT_STILL_IMPROVING * 100:.1f} points per epoch over the last "
    "three epochs. Otherwise a **good fit**. "
    "(Training accuracy is measured on augmented images with dropout on, so it normally sits *below* validation "
    "accuracy.)"
)


@dataclass
class Verdict:
    """The fit verdict and the figures it was based on."""

    label: str  # "good fit", "overfitting" or "underfitting"
    reasons: list[str]


def fit_verdict(epochs: list[dict]) -> Verdict:
    """Apply VERDICT_RULE to per-epoch records (loss, accuracy, val_loss, val_accuracy)."""
    if not epochs:
        raise ValueError("no epochs to judge")
    last = epochs[-1]
    best_val_loss = min(e["val_loss"] for e in epochs)
    reasons = []
    overfit = False
    if last["val_loss"] > best_val_loss * (1 + OVERFIT_LOSS_RISE):
        overfit = True
        reasons.append(f"validation loss rose from its best {best_val_loss:.4f} to {last['val_loss']:.4f}")
    gap = last["accuracy"] - last["val_accuracy"]
    if gap > OVERFIT_ACCURACY_GAP:
        overfit = True
        reasons.append(f"training accuracy is {gap * 100:.2f} points above validation accuracy")
    if overfit:
        return Verdict("overfitting", reasons)
    recent = epochs[-4:]
    gain_per_epoch = (recent[-1]["val_accuracy"] - recent[0]["val_accuracy"]) / max(1, len(recent) - 1)
    if last["val_accuracy"] < UNDERFIT_ACCURACY:
        reasons.append(f"validation accuracy is only {last['val_accuracy']:.2%}")
    if len(epochs) >= 4 and gain_per_epoch > UNDERFIT_STILL_IMPROVING:
        reasons.append(f"validation accuracy still rising {gain_per_epoch * 100:.2f} points per epoch")
    if reasons:
        return Verdict("underfitting", reasons)
    return Verdict("good fit", [
        f"validation loss ends within {OVERFIT_LOSS_RISE:.0%} of its best "
        f"({last['val_loss']:.4f} vs {best_val_loss:.4f})",
        f"validation accuracy {last['val_accuracy']:.2%}, training {last['accuracy']:.2%}",
    ])
