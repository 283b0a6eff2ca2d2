"""`keras.datasets.mnist`: MNIST digits through `nnplug.datasets.mnist`."""
from ...datasets.mnist import load_data

__all__ = ["load_data"]
