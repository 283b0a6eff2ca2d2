"""`nnplug.datasets`: loaders for the data sets the examples train on."""
from . import mnist  # noqa: F401
