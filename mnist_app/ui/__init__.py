"""The dashboard's Streamlit pieces, by job: `chrome` (every page's frame and the page list), `views` (how a
reading and the figures are shown), `widgets` (the drawing pad), `cache` (data shared or remembered) and
`charts` (Altair charts and the digit grid, no Streamlit).

Pages read input widgets, call `mnist_app.images.reading.read` through `cache`, and show the result with
`views`. Imports: `serving`, `measure`, `images`, `network`, `store` and the top-level basics; never `training`,
TensorFlow or SciPy (the dashboard predicts through ONNX Runtime).
"""
