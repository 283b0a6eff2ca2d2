"""MNIST from its standard IDX files, gzipped or raw, with checked downloads.

Where the files are looked for: the `path` argument, else `$NNPLUG_DATA_DIR` (the folder itself when it
holds the files, else its `mnist/` subfolder), else the per-user cache (`~/.cache/nnplug/mnist` on Linux),
which alone is filled by downloading on its own. A download (from `$NNPLUG_MNIST_URL` or `base_url`, else
the CVDF mirror) is unpacked on the way in and kept only once the SHA-256 of the unpacked file matches the
published one, so any mirror's gzip of the same data is accepted.
"""
from __future__ import annotations

import numpy as np

from . import locations
from .errors import DataFileError, DownloadError  # noqa: F401 - part of this module's interface
from .fetch import DEFAULT_TIMEOUT
from .idx import IDXFormatError, find_file, read_idx  # noqa: F401
from .idx_dataset import IMAGE_SHAPE, N_CLASSES, IDXDataset, file_names, read_images, read_labels  # noqa: F401
from .._types import StrPath

DEFAULT_BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"

# SHA-256 of the uncompressed files, as published with the data (see shared/data/mnist/README.md).
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MNIST = IDXDataset("mnist", "MNIST", DEFAULT_BASE_URL, "NNPLUG_MNIST_URL", SHA256, gunzip=True,
                   holds_env_dir=True)


def cache_dir() -> str:
    """The per-user cache folder for MNIST on this platform."""
    return locations.cache_dir(MNIST.name)


def download(name: str, folder: StrPath, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
             progress: bool = True) -> str:
    """Fetch MNIST file `name` into `folder` within `timeout` seconds in all, unpacked and checked against
    its published SHA-256; returns its path (nothing is left behind when it fails)."""
    return MNIST.download(name, folder, base_url, timeout, progress)


def load_data(path: StrPath | None = None, download: bool | None = None, base_url: str | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras returns them: uint8 images (n, 28, 28) and uint8
    labels (n,) in 0..9, 60,000 training and 10,000 test pairs for the real data.

    `path` is a folder holding the four IDX files (raw or .gz). `download=None` downloads missing files
    only into the per-user cache; True also into `path` or $NNPLUG_DATA_DIR; False never. `base_url` (or
    $NNPLUG_MNIST_URL) names a mirror; `timeout` bounds each file's download in seconds, in all.
    """
    return MNIST.load_data(path, download, base_url, timeout)


def load_mnist(path: StrPath | None = None, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The chapter's loader: images flattened to (n, 784) float32 scaled to [-1, 1], and uint8 labels."""
    images, labels = MNIST.load_kind(kind, path)
    flat = images.reshape(len(images), -1).astype(np.float32)
    return ((flat / 255.0) - 0.5) * 2.0, labels
