"""What is kept: MNIST itself (`data`), the files beside a model (`results`), the digits people keep (`collection`).

The bottom room: it imports only `mnist_app.config` and `mnist_app.errors`, never a model, an image reader or a
page, so anything above may read and write through it.
"""
