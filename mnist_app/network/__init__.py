"""The networks as the app runs them, without TensorFlow: which architectures exist (`architectures`), how one is
trained, as flags (`recipe`), and the predictor that runs a model's ONNX export with ONNX Runtime (`inference`).

Imports: `store` and the top-level basics. The Keras side of the same networks lives in `training`.
"""
