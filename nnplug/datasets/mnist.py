"""MNIST from its standard IDX files, gzipped or raw, with checked downloads.

Where the files are looked for: the `path` argument, else `$NNPLUG_DATA_DIR` (the folder itself when it
holds the files, else its `mnist/` subfolder), else a per-user cache (`~/.cache/nnplug/mnist` on Linux).
Only the per-user cache is filled by downloading on its own (pass `download=True` to fill another folder),
so a mistyped path is reported, not silently fetched into. Downloads go to a temporary file that is renamed
into place only once the SHA-256 of its uncompressed content matches the published one. Local files are not
hashed (they may be a custom subset), but every file's IDX header and size are checked.
"""
import gzip
import hashlib
import math
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

DEFAULT_BASE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
KINDS = {"train": "train", "t10k": "t10k", "test": "t10k"}

# SHA-256 of the uncompressed files, as published with the data (see shared/data/mnist/README.md).
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10


class IDXFormatError(ValueError):
    """A data file that exists but is not what it should be (bad magic, dims, size or checksum)."""


def file_names(kind):
    kind = _kind(kind)
    return f"{kind}-images-idx3-ubyte", f"{kind}-labels-idx1-ubyte"


def _kind(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown MNIST kind {kind!r}; expected 'train' or 't10k' (or 'test')")
    return KINDS[kind]


# -- where the files live ------------------------------------------------------------------
def cache_dir():
    """The per-user cache folder for MNIST on this platform."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "nnplug" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "nnplug"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnplug"
    return base / "mnist"


def _holds_mnist(folder):
    return any(find_file(folder, n) for kind in ("train", "t10k") for n in file_names(kind))


def default_dir():
    """(folder, download_by_default): $NNPLUG_DATA_DIR (or its mnist/), else the per-user cache."""
    env = os.environ.get("NNPLUG_DATA_DIR")
    if env:
        folder = Path(env).expanduser()
        return (folder if _holds_mnist(folder) else folder / "mnist"), False
    return cache_dir(), True


def find_file(folder, name):
    """`folder/name` or `folder/name.gz`, whichever exists (raw first), else None."""
    for candidate in (Path(folder) / name, Path(folder) / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


# -- reading IDX ---------------------------------------------------------------------------
def _read_bytes(path):
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IDXFormatError(f"{path}: not a complete gzip file ({e}); delete it and fetch it again") from e


def read_idx(path, ndim):
    """The uint8 array stored in an IDX file with `ndim` dimensions; errors name the file and the fault."""
    data = _read_bytes(path)
    header = 4 + 4 * ndim
    if len(data) < 4:
        raise IDXFormatError(f"{path}: truncated, {len(data)} bytes is shorter than an IDX header")
    zero, dtype_code, file_ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise IDXFormatError(f"{path}: bad magic number 0x{data[:4].hex()}, expected 0x0000080{ndim} "
                             f"(unsigned bytes, {ndim} dimension(s)); is this an IDX file?")
    if file_ndim != ndim:
        raise IDXFormatError(f"{path}: has {file_ndim} dimension(s), expected {ndim}")
    if len(data) < header:
        raise IDXFormatError(f"{path}: truncated inside its header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(dims)
    if len(data) < expected:
        raise IDXFormatError(f"{path}: truncated, {len(data)} bytes but its header {dims} needs {expected}")
    if len(data) > expected:
        raise IDXFormatError(f"{path}: {len(data) - expected} bytes more than its header {dims} describes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_images(path):
    images = read_idx(path, 3)
    if images.shape[1:] != IMAGE_SHAPE:
        raise IDXFormatError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected "
                             f"{IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}")
    return images


def read_labels(path):
    labels = read_idx(path, 1)
    if labels.size and labels.max() >= N_CLASSES:
        raise IDXFormatError(f"{path}: label {int(labels.max())} is out of range 0..{N_CLASSES - 1}")
    return labels


# -- downloading ---------------------------------------------------------------------------
def _sha256_of(path):
    """SHA-256 of the uncompressed content (a gzip file is hashed as what it unpacks to)."""
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise IDXFormatError(f"{path}: not a complete gzip file ({e})") from e
    return digest.hexdigest(), gzipped


def download(name, folder, base_url=None, timeout=60):
    """Fetch `base_url/name.gz` into `folder`, check its SHA-256 and rename it into place; returns its path."""
    if name not in SHA256:
        raise ValueError(f"unknown MNIST file {name!r}; expected one of {', '.join(SHA256)}")
    base_url = base_url or os.environ.get("NNPLUG_MNIST_URL") or DEFAULT_BASE_URL
    url = base_url.rstrip("/") + "/" + name + ".gz"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError) as e:
            raise OSError(f"could not download MNIST file {name} from {url}: {getattr(e, 'reason', e)}; "
                          f"put {name} (or {name}.gz) in {folder} yourself, or set NNPLUG_MNIST_URL "
                          f"to a mirror") from e
        got, gzipped = _sha256_of(tmp)
        if got != SHA256[name]:
            raise IDXFormatError(f"checksum mismatch for MNIST file {name} downloaded from {url}: "
                                 f"SHA-256 {got}, expected {SHA256[name]}; the download was discarded")
        final = folder / (name + ".gz" if gzipped else name)
        os.replace(tmp, final)
        return final
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- the public loaders --------------------------------------------------------------------
def _locate(folder, name, download_missing, base_url):
    found = find_file(folder, name)
    if found is not None:
        return found
    if download_missing:
        return download(name, folder, base_url)
    raise FileNotFoundError(f"MNIST file {name} (or {name}.gz) not found in {folder}; pass the folder "
                            f"that holds it, set NNPLUG_DATA_DIR, or call load_data(download=True)")


def _load_kind(folder, kind, download_missing=False, base_url=None):
    image_name, label_name = file_names(kind)
    image_path = _locate(folder, image_name, download_missing, base_url)
    label_path = _locate(folder, label_name, download_missing, base_url)
    images, labels = read_images(image_path), read_labels(label_path)
    if len(images) != len(labels):
        raise IDXFormatError(f"{image_path} holds {len(images)} images but {label_path} holds "
                             f"{len(labels)} labels; they must match")
    return images, labels


def _resolve(path, download_missing):
    if path is not None:
        return Path(path).expanduser(), bool(download_missing)
    folder, by_default = default_dir()
    return folder, by_default if download_missing is None else bool(download_missing)


def load_data(path=None, download=None, base_url=None):
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 28, 28) and uint8 labels 0..9.

    `download=None` downloads missing files only into the per-user cache; True also into `path` or
    $NNPLUG_DATA_DIR; False never. `base_url` (or $NNPLUG_MNIST_URL) names a mirror.
    """
    folder, download_missing = _resolve(path, download)
    return (_load_kind(folder, "train", download_missing, base_url),
            _load_kind(folder, "t10k", download_missing, base_url))


def load_mnist(path=None, kind="train"):
    """The chapter's loader: images flattened to (n, 784) float32 scaled to [-1, 1], and uint8 labels."""
    folder, download_missing = _resolve(path, None)
    images, labels = _load_kind(folder, kind, download_missing)
    flat = images.reshape(len(images), -1).astype(np.float32)
    return ((flat / 255.0) - 0.5) * 2.0, labels
