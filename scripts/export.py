"""Export the committed model as .keras, a TensorFlow SavedModel (for TensorFlow Serving), LiteRT
.tflite and ONNX; each is checked to agree with the Keras model on the 10,000 MNIST test images."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnist_app import export  # noqa: E402


def main() -> int:
    report = export.export_all()
    print(f"Exports of {report['source']} (verified on the 10,000 test images):")
    for name, figures in report["exports"].items():
        print(f"  {name:<12} {figures['path']:<45} argmax identical {figures['argmax_identical']}/"
              f"{figures['images']}, max probability difference {figures['max_abs_probability_difference']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
