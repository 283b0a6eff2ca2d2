"""CIFAR-10: 32x32 colour images in ten classes, read from the dataset's binary version.

Keras reads the "python version", whose batches are pickles; nnplug never unpickles, so it reads the
binary version of the same images in the same order (each record: one label byte, then 1024 red, 1024
green and 1024 blue bytes, row-major), and returns exactly what Keras returns.

Where the files are looked for: the `path` argument, else `$NNPLUG_DATA_DIR/cifar10/` (or
`$NNPLUG_DATA_DIR` itself when it holds them), else the per-user cache (`~/.cache/nnplug/cifar10` on
Linux), which alone is filled by downloading on its own. A folder may hold the archive
`cifar-10-binary.tar.gz` as published, or its unpacked `cifar-10-batches-bin/` folder (or the `.bin`
files themselves). The archive is read in place, never extracted; a download (from
`$NNPLUG_CIFAR10_URL` or `base_url`, else the authors' site) is kept only once its MD5 matches theirs.
"""
from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from . import locations
from .errors import DataFileError
from .fetch import DEFAULT_TIMEOUT, fetch
from .._types import StrPath

DEFAULT_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_HASH = "md5:c32a1d4ab5d03f1284b67883e8d87530"  # as published on the CIFAR page
ARCHIVE_MAX_BYTES = 1 << 28  # the archive is 170 MB
FOLDER = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (32, 32, 3)
RECORD_BYTES = 1 + 32 * 32 * 3
MAX_RECORDS = 10000  # per batch file, as published
MAX_MEMBERS = 100  # the published archive has 8


def read_batch(f, size, source):
    """(images (n, 32, 32, 3), labels (n, 1)) from `size` bytes of binary records read from `f`."""
    if size % RECORD_BYTES or size > MAX_RECORDS * RECORD_BYTES:
        raise DataFileError(f"{source}: {size} bytes is not a whole number of {RECORD_BYTES}-byte records "
                            f"up to {MAX_RECORDS}; is this a CIFAR-10 binary batch?")
    records = np.empty((size // RECORD_BYTES, RECORD_BYTES), np.uint8)
    got = f.readinto(memoryview(records).cast("B"))
    if got < size:
        raise DataFileError(f"{source}: truncated, {got} of {size} bytes")
    labels = records[:, :1].copy()
    if labels.size and labels.max() >= len(CLASS_NAMES):
        raise DataFileError(f"{source}: label {int(labels.max())} is out of range 0..{len(CLASS_NAMES) - 1}")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # channels last, as Keras gives
    return np.ascontiguousarray(images), labels


def _read_archive(path):
    """{file name: (images, labels)} for the six batches in the archive, read without extracting."""
    wanted = {f"{FOLDER}/{name}": name for name in TRAIN_FILES + TEST_FILES}
    batches = {}
    try:
        with tarfile.open(path, "r|gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > MAX_MEMBERS or member.size > MAX_RECORDS * RECORD_BYTES:
                    raise DataFileError(f"{path}: unexpected member {member.name!r} ({member.size} bytes, "
                                        f"member {count}); is this the CIFAR-10 binary archive?")
                name = wanted.get(member.name)
                if name is None:
                    continue
                if not member.isfile():
                    raise DataFileError(f"{path}: {member.name} is not a regular file")
                batches[name] = read_batch(tar.extractfile(member), member.size, f"{path}:{member.name}")
                if len(batches) == len(wanted):
                    break
    except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataFileError(f"{path}: not a complete tar.gz archive ({e}); delete it and fetch it again") from e
    missing = sorted(set(wanted) - {f"{FOLDER}/{n}" for n in batches})
    if missing:
        raise DataFileError(f"{path}: lacks {', '.join(missing)}; is this the CIFAR-10 binary archive?")
    return batches


def _read_folder(folder):
    batches = {}
    for name in TRAIN_FILES + TEST_FILES:
        path = Path(folder) / name
        if not path.is_file():
            raise FileNotFoundError(f"CIFAR-10 batch {name} not found in {folder} (which holds other batches)")
        with open(path, "rb") as f:
            batches[name] = read_batch(f, os.path.getsize(path), path)
    return batches


def _batch_folder(folder):
    """The folder holding the unpacked .bin files: `folder/cifar-10-batches-bin` or `folder`, else None."""
    for candidate in (Path(folder) / FOLDER, Path(folder)):
        if any((candidate / name).is_file() for name in TRAIN_FILES + TEST_FILES):
            return candidate
    return None


def _holds(folder):
    return (Path(folder) / ARCHIVE).is_file() or _batch_folder(folder) is not None


def _stack(batches, names):
    images, labels = zip(*(batches[n] for n in names))
    return np.concatenate(images), np.concatenate(labels)


def load_data(path: StrPath | None = None, download: bool | None = None, base_url: str | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as Keras returns them: uint8 images (n, 32, 32, 3) and uint8
    labels (n, 1) in 0..9 (`CLASS_NAMES`), 50,000 training and 10,000 test pairs for the real data.

    `path` is a folder holding the archive or its unpacked batches. `download=None` downloads a missing
    archive only into the per-user cache; True also into `path` or $NNPLUG_DATA_DIR; False never.
    `base_url` (or $NNPLUG_CIFAR10_URL) names a mirror holding the archive; `timeout` bounds the download
    in seconds, in all.
    """
    folder, may_download = locations.data_dir("cifar10", path, download, _holds)
    archive = folder / ARCHIVE
    unpacked = _batch_folder(folder)
    if archive.is_file():
        batches = _read_archive(archive)
    elif unpacked is not None:
        batches = _read_folder(unpacked)
    elif may_download:
        base_url = base_url or os.environ.get("NNPLUG_CIFAR10_URL")
        url = base_url.rstrip("/") + "/" + ARCHIVE if base_url else DEFAULT_URL
        hint = f"; put {ARCHIVE} in {folder} yourself, or set NNPLUG_CIFAR10_URL to a mirror"
        batches = _read_archive(fetch(url, folder, ARCHIVE, ARCHIVE_HASH, timeout=timeout,
                                      max_bytes=ARCHIVE_MAX_BYTES, what=f"CIFAR-10 archive {ARCHIVE}", hint=hint))
    else:
        raise locations.not_found(f"CIFAR-10 ({ARCHIVE} or {FOLDER}/)", folder, "cifar10")
    return _stack(batches, TRAIN_FILES), _stack(batches, TEST_FILES)
