"""The dashboard's Streamlit pieces, by job: `chrome` (every page's frame and the page list), `views` (how a
reading and the figures are shown), `widgets` (the drawing pad) and `cache` (data shared or remembered).

Pages read input widgets, call `mnist_app.reading.read` through `cache`, and show the result with
`views`. Nothing here imports TensorFlow: the dashboard predicts through ONNX Runtime.
"""
