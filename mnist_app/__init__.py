"""mnist_app: MNIST data, preprocessing, model, training, inference and evaluation for the dashboard."""
