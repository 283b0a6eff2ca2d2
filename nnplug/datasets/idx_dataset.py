"""A data set of 28x28 uint8 images in ten classes stored as four IDX files (MNIST, Fashion-MNIST).

`load_data` returns what Keras's loaders return: `((x_train, y_train), (x_test, y_test))` with uint8
images of shape (n, 28, 28) and uint8 labels of shape (n,). Files are looked for as `locations` says,
raw or gzipped; downloads are checked against the published hashes (`fetch`). Local files are not hashed
(they may be a custom subset), but every file's header, size and labels are checked (`idx`).
"""
import os

from . import locations
from .errors import DataFileError
from .fetch import DEFAULT_TIMEOUT, fetch
from .idx import MAX_BYTES, find_file, read_idx

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10
KINDS = {"train": "train", "t10k": "t10k", "test": "t10k"}


def file_names(kind, title="MNIST"):
    """(images file, labels file) of `kind` ('train', or 't10k'/'test'), without the .gz suffix."""
    if kind not in KINDS:
        raise ValueError(f"unknown {title} kind {kind!r}; expected 'train' or 't10k' (or 'test')")
    return f"{KINDS[kind]}-images-idx3-ubyte", f"{KINDS[kind]}-labels-idx1-ubyte"


def read_images(path):
    images = read_idx(path, 3)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataFileError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected "
                            f"{IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}")
    return images


def read_labels(path):
    labels = read_idx(path, 1)
    if labels.size and labels.max() >= N_CLASSES:
        raise DataFileError(f"{path}: label {int(labels.max())} is out of range 0..{N_CLASSES - 1}")
    return labels


class IDXDataset:
    """One IDX data set: where it is published and the hash of each of its four files.

    `hashes` maps each file name to the hash of the file as stored ("sha256:..." of the unpacked file
    when `gunzip`, else "md5:..." or "sha256:..." of the .gz as published); it is read at download time,
    so replacing an entry (as the tests do for a mirror of synthetic files) takes effect at once.
    """

    def __init__(self, name, title, base_url, url_env, hashes, gunzip, holds_env_dir=False):
        self.name, self.title, self.base_url, self.url_env = name, title, base_url, url_env
        self.hashes, self.gunzip, self.holds_env_dir = hashes, gunzip, holds_env_dir

    def _holds(self, folder):
        return any(find_file(folder, n) for kind in ("train", "t10k") for n in file_names(kind))

    def folder(self, path=None, download=None):
        """(folder, may_download) as `locations.data_dir` decides for this data set."""
        return locations.data_dir(self.name, path, download, self._holds if self.holds_env_dir else None)

    def download(self, name, folder, base_url=None, timeout=DEFAULT_TIMEOUT, progress=True):
        """Fetch `name` from the mirror into `folder`, checked against its published hash; returns its path."""
        if name not in self.hashes:
            raise ValueError(f"unknown {self.title} file {name!r}; expected one of {', '.join(self.hashes)}")
        base_url = base_url or os.environ.get(self.url_env) or self.base_url
        url = base_url.rstrip("/") + "/" + name + ".gz"
        stored = name if self.gunzip else name + ".gz"
        return fetch(url, folder, stored, self.hashes[name], timeout=timeout, max_bytes=MAX_BYTES,
                     gunzip=self.gunzip, progress=progress, what=f"{self.title} file {name}",
                     hint=f"; put {name} (or {name}.gz) in {folder} yourself, or set {self.url_env} to a mirror")

    def _locate(self, folder, name, may_download, base_url, timeout):
        found = find_file(folder, name)
        if found is not None:
            return found
        if may_download:
            return self.download(name, folder, base_url, timeout)
        raise locations.not_found(f"{self.title} file {name} (or {name}.gz)", folder, self.name)

    def load_kind(self, kind, path=None, download=None, base_url=None, timeout=DEFAULT_TIMEOUT):
        """(images, labels) of one split; the arguments are those of `load_data`."""
        folder, may_download = self.folder(path, download)
        image_name, label_name = file_names(kind, self.title)
        image_path = self._locate(folder, image_name, may_download, base_url, timeout)
        label_path = self._locate(folder, label_name, may_download, base_url, timeout)
        images, labels = read_images(image_path), read_labels(label_path)
        if len(images) != len(labels):
            raise DataFileError(f"{image_path} holds {len(images)} images but {label_path} holds "
                                f"{len(labels)} labels; they must match")
        return images, labels

    def load_data(self, path=None, download=None, base_url=None, timeout=DEFAULT_TIMEOUT):
        """((x_train, y_train), (x_test, y_test)), as Keras returns them."""
        return (self.load_kind("train", path, download, base_url, timeout),
                self.load_kind("t10k", path, download, base_url, timeout))
