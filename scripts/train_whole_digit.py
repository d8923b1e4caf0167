"""Train the whole-digit network of whole-number segmentation and write mnist_app/images/whole_digit.onnx.

    make whole-digit        (about 4 minutes on 2 cores)

See mnist_app/training/whole_digit.py. After it, refit the segmentation's weights
(`python -m scripts.fit_segmentation`): they weigh this network's answer against the classifier's.
"""

from __future__ import annotations

from mnist_app.images import wholeness
from mnist_app.training import whole_digit


def main() -> int:
    fields, labels, owners = whole_digit.collect()
    model, _ = whole_digit.train(fields, labels, owners)
    difference = whole_digit.export(model, fields[:2000])
    print(f"wrote {wholeness.MODEL_PATH} (ONNX within {difference:.1g} of Keras on 2,000 candidates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
