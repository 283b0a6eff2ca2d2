"""Reading IDX files (the MNIST format), raw or gzipped, without trusting them.

The header declares the array's dimensions; nothing beyond what it declares is ever inflated (a gzip file
that unpacks to more is refused after reading at most `EXTRA_PROBE` bytes past it), and the declared size
is checked before any memory is allocated for it: against `max_bytes`, against the file's own size for a
raw file, and against what deflate can possibly produce from a gzip file of that size.
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from .errors import DataFileError

MAX_BYTES = 1 << 28  # 256 MiB: five times the largest MNIST file
DEFLATE_MAX_RATIO = 1032  # deflate cannot inflate n bytes to more than about 1032 * n
EXTRA_PROBE = 1 << 16

IDXFormatError = DataFileError  # the name this error had before there were other data sets


def find_file(folder, name):
    """`folder/name` or `folder/name.gz`, whichever exists (raw first), else None."""
    for candidate in (Path(folder) / name, Path(folder) / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _header(f, path, ndim):
    head = f.read(4)
    if len(head) < 4:
        raise DataFileError(f"{path}: truncated, {len(head)} bytes is shorter than an IDX header")
    if head[:2] != b"\0\0" or head[2] != 0x08:
        raise DataFileError(f"{path}: bad magic number 0x{head.hex()}, expected 0x0000080{ndim} "
                            f"(unsigned bytes, {ndim} dimension(s)); is this an IDX file?")
    if head[3] != ndim:
        raise DataFileError(f"{path}: has {head[3]} dimension(s), expected {ndim}")
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataFileError(f"{path}: truncated inside its header ({4 + len(dims)} of {4 + 4 * ndim} bytes)")
    return tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))


def _check_declared(path, dims, header, gzipped, max_bytes):
    """Refuse a declared size that cannot be right, before allocating it."""
    n, on_disk = math.prod(dims), path.stat().st_size
    if n > max_bytes:
        raise DataFileError(f"{path}: its header {dims} declares {n} bytes of data, more than the "
                            f"{max_bytes}-byte limit; refused before reading it")
    if gzipped and n > DEFLATE_MAX_RATIO * on_disk:
        raise DataFileError(f"{path}: truncated, a {on_disk}-byte gzip file cannot hold the {n} bytes its "
                            f"header {dims} declares")
    if not gzipped and on_disk != header + n:
        if on_disk < header + n:
            raise DataFileError(f"{path}: truncated, {on_disk} bytes but its header {dims} needs {header + n}")
        raise DataFileError(f"{path}: {on_disk - header - n} bytes more than its header {dims} describes")
    return n


def read_idx(path, ndim, max_bytes=MAX_BYTES):
    """The uint8 array stored in an IDX file with `ndim` dimensions; errors name the file and the fault."""
    path = Path(path)
    gzipped = path.suffix == ".gz"
    try:
        with (gzip.open(path, "rb") if gzipped else open(path, "rb")) as f:
            dims = _header(f, path, ndim)
            header = 4 + 4 * ndim
            n = _check_declared(path, dims, header, gzipped, max_bytes)
            array = np.empty(n, np.uint8)
            got = f.readinto(memoryview(array))
            if got < n:
                raise DataFileError(f"{path}: truncated, {header + got} bytes but its header {dims} needs "
                                    f"{header + n}")
            extra = len(f.read(EXTRA_PROBE + 1))
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataFileError(f"{path}: not a complete gzip file ({e}); delete it and fetch it again") from e
    if extra > EXTRA_PROBE:
        raise DataFileError(f"{path}: more than {EXTRA_PROBE} bytes more than its header {dims} describes; "
                            f"refused without inflating the rest (a corrupt or hostile file?)")
    if extra:
        raise DataFileError(f"{path}: {extra} bytes more than its header {dims} describes")
    return array.reshape(dims)
