"""Fashion-MNIST (Zalando Research): 28x28 grey images of clothing in ten classes, in MNIST's IDX format.

Where the files are looked for: the `path` argument, else `$NNPLUG_DATA_DIR/fashion_mnist/` (never
$NNPLUG_DATA_DIR itself: its files have MNIST's names), else the per-user cache
(`~/.cache/nnplug/fashion_mnist` on Linux), which alone is filled by downloading on its own. Downloads
(from `$NNPLUG_FASHION_MNIST_URL` or `base_url`, else the mirror Keras uses) are kept gzipped and only once
their MD5 matches the one Zalando publishes.
"""
from __future__ import annotations

import numpy as np

from .fetch import DEFAULT_TIMEOUT
from .idx_dataset import IDXDataset
from .._types import StrPath

DEFAULT_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")

# MD5 of the .gz files, as published in the Fashion-MNIST README.
HASHES = {
    "train-images-idx3-ubyte": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "md5:25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "md5:bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "md5:bb300cfdad3c16e7a12a480ee83cd310",
}

FASHION_MNIST = IDXDataset("fashion_mnist", "Fashion-MNIST", DEFAULT_BASE_URL, "NNPLUG_FASHION_MNIST_URL",
                           HASHES, gunzip=False)


def load_data(path: StrPath | None = None, download: bool | None = None, base_url: str | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras returns them: uint8 images (n, 28, 28) and uint8
    labels (n,) in 0..9 (`CLASS_NAMES`), 60,000 training and 10,000 test pairs for the real data.

    `path` is a folder holding the four IDX files (raw or .gz); `download`, `base_url` and `timeout` work
    as in `nnplug.datasets.mnist.load_data`.
    """
    return FASHION_MNIST.load_data(path, download, base_url, timeout)
