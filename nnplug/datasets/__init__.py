"""`nnplug.datasets`: loaders for the data sets the examples and Keras programs train on (MNIST,
Fashion-MNIST, CIFAR-10), each returning what Keras's loader returns, from local files or a checked,
cached, bounded download."""
from . import cifar10, fashion_mnist, mnist  # noqa: F401
from .errors import DataFileError, DownloadError  # noqa: F401
