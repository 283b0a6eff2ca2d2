"""`keras.datasets`: the small data sets Keras ships loaders for, as `(x_train, y_train), (x_test, y_test)`
NumPy arrays (see `nnplug.datasets` for where files are looked for and how downloads are checked)."""
from . import cifar10, fashion_mnist, mnist  # noqa: F401
