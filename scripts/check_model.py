"""Make sure a trained model exists, and that its exports (ONNX fast path, .keras, SavedModel, .tflite, the Look
inside network), its layer table and its test-set predictions match it; rebuild and verify them when they are
missing or stale. Then make sure its nearest-neighbour index (git-ignored) is there and current."""

import sys

from mnist_app import config
from mnist_app.network import inference, inside
from mnist_app.store import results


def main() -> int:
    model_file = config.model_path()
    if not model_file.is_file():
        print(inference.missing_model_message(model_file), file=sys.stderr)
        return 1
    summary_current = "mflop" in (results.load_model_summary() or {})
    try:
        fast_path_current = summary_current and inference.Predictor().backend == "onnx"
    except inference.StaleExportError:
        fast_path_current = False
    if not (fast_path_current and inside.current() and results.exports_current()
            and results.load_test_report() is not None):
        from mnist_app.training import export  # deferred: TensorFlow, only when something must be exported again

        print(f"Exporting {model_file.name} (ONNX fast path, .keras, SavedModel, .tflite, Look inside) and "
              "verifying each on the 10,000 test images...")
        report = export.export_all()
        for name, figures in report["exports"].items():
            print(f"  {name:<12} argmax identical on {figures['argmax_identical']}/{figures['images']}, "
                  f"largest probability difference {figures['max_abs_probability_difference']:.1e}")
    if inside.load_index() is None:
        print("Building the nearest-neighbour index of the Look inside page (the 60,000 training digits)...")
        inside.nearest_index()
    metrics = results.load_metrics()
    if metrics:
        print(f"Model ready: {model_file.relative_to(config.PROJECT_ROOT)}, test accuracy "
              f"{metrics['test_accuracy']:.2%}, {metrics['parameters']:,} parameters.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
