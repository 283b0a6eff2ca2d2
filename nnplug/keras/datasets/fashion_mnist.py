"""`keras.datasets.fashion_mnist`: Fashion-MNIST through `nnplug.datasets.fashion_mnist`."""
from ...datasets.fashion_mnist import load_data

__all__ = ["load_data"]
