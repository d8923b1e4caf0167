"""Make sure a trained model exists, and that its ONNX export (the fast path) matches it."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnist_app import config, inference  # noqa: E402


def main() -> int:
    model_file = config.model_path()
    if not model_file.is_file():
        print(inference.missing_model_message(model_file), file=sys.stderr)
        return 1
    onnx_file = config.onnx_path()
    from mnist_app import reports

    current = (onnx_file.is_file() and reports.summary_path().is_file()
               and inference.Predictor(backend="auto").backend == "onnx")
    if not current:
        from mnist_app import export

        print(f"Exporting {model_file.name} to ONNX (the fast inference path)...")
        report = export.export_onnx()
        print(f"  verified on {report['images']} test images: argmax identical on {report['argmax_identical']}, "
              f"largest probability difference {report['max_abs_probability_difference']:.1e}")
    metrics_file = config.metrics_path()
    if metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text())
        print(f"Model ready: {model_file.relative_to(config.PROJECT_ROOT)}, test accuracy "
              f"{metrics['test_accuracy']:.2%}, {metrics['parameters']:,} parameters.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
