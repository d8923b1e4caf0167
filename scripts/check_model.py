"""Make sure a trained model exists, and that its exports (ONNX fast path, .keras, SavedModel, .tflite) and its
test-set predictions match it; rebuild and verify them when they are missing or stale."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mnist_app import config, inference, reports  # noqa: E402


def main() -> int:
    model_file = config.model_path()
    if not model_file.is_file():
        print(inference.missing_model_message(model_file), file=sys.stderr)
        return 1
    from mnist_app import export

    fast_path_current = (config.onnx_path().is_file() and reports.summary_path().is_file()
                         and inference.Predictor(backend="auto").backend == "onnx")
    if not (fast_path_current and export.exports_current()):
        print(f"Exporting {model_file.name} (ONNX fast path, .keras, SavedModel, .tflite) and verifying each on "
              "the 10,000 test images...")
        report = export.export_all()
        for name, figures in report["exports"].items():
            print(f"  {name:<12} argmax identical on {figures['argmax_identical']}/{figures['images']}, "
                  f"largest probability difference {figures['max_abs_probability_difference']:.1e}")
    from mnist_app import testset

    if not testset.current():
        print("Predicting the 10,000 test images once for the dashboard (models/test_predictions.npz)...")
        testset.build()
    metrics = reports.load_metrics()
    if metrics:
        print(f"Model ready: {model_file.relative_to(config.PROJECT_ROOT)}, test accuracy "
              f"{metrics['test_accuracy']:.2%}, {metrics['parameters']:,} parameters.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
