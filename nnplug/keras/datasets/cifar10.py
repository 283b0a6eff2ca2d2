"""`keras.datasets.cifar10`: CIFAR-10 through `nnplug.datasets.cifar10`."""
from ...datasets.cifar10 import load_data

__all__ = ["load_data"]
