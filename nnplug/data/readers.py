"""Datasets of files' records (tf.data.TFRecordDataset, FixedLengthRecordDataset, TextLineDataset): one
scalar string per record, the files read in order; the file names may be a graph tensor (a placeholder
fed when an initializable iterator's initializer runs)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor
from ..lib import tfrecord
from ..ops.reader_ops import _path, fixed_length_records, text_lines
from .dataset import Dataset, Run


def _filenames(filenames: Any, what: str) -> np.ndarray | Tensor:
    if isinstance(filenames, Tensor):
        if filenames.dtype != _dt.string or filenames.shape.unknown_rank or len(filenames.shape) > 1:
            raise TypeError(f"{what}: filenames '{filenames.name}' must be a string scalar or vector, got "
                            f"{filenames.dtype.name} {filenames.shape}")
        if filenames.op.type != "Const":
            return filenames
        filenames = filenames.op.attrs["value"]
    names = [filenames] if isinstance(filenames, (str, bytes)) or np.ndim(filenames) == 0 else list(
        np.asarray(filenames, object).reshape(-1))
    return np.asarray([_path(n) for n in names], object)


def _file_dataset(filenames: Any, records: Callable[[str], Iterator[bytes]], name: str) -> Dataset:
    names = _filenames(filenames, name)

    def elements(run: Run):
        files = run.value(names) if isinstance(names, Tensor) else names
        for f in np.asarray(files, object).reshape(-1):
            for record in records(_path(f)):
                value = np.empty((), object)
                value[()] = record
                yield (value,)
    return Dataset(elements, None, [_dt.string], [()], name, [names] if isinstance(names, Tensor) else [])


def TFRecordDataset(filenames: Any, compression_type: str | None = None, buffer_size: int | None = None,
                    num_parallel_reads: int | None = None) -> Dataset:
    """The records of TFRecord files (compression_type None/'', 'ZLIB' or 'GZIP')."""
    tfrecord.compression_name(compression_type)  # a bad name fails when building
    return _file_dataset(filenames, lambda path: tfrecord.tf_record_iterator(path, compression_type),
                         "TFRecordDataset")


def FixedLengthRecordDataset(filenames: Any, record_bytes: int, header_bytes: int | None = None,
                             footer_bytes: int | None = None, buffer_size: int | None = None,
                             compression_type: str | None = None) -> Dataset:
    """Records of `record_bytes` bytes of binary files (after a header, before a footer)."""
    if compression_type:
        raise NotImplementedError(f"FixedLengthRecordDataset: compressed files ({compression_type!r}) are not "
                                  f"supported")
    if int(record_bytes) < 1:
        raise ValueError(f"FixedLengthRecordDataset: record_bytes must be positive, got {record_bytes}")
    sizes = int(record_bytes), int(header_bytes or 0), int(footer_bytes or 0)
    return _file_dataset(filenames, lambda path: (v for _, v in fixed_length_records(path, *sizes)),
                         "FixedLengthRecordDataset")


def TextLineDataset(filenames: Any, compression_type: str | None = None,
                    buffer_size: int | None = None) -> Dataset:
    """The lines of text files, without their newlines."""
    if compression_type:
        raise NotImplementedError(f"TextLineDataset: compressed files ({compression_type!r}) are not supported")
    return _file_dataset(filenames, lambda path: (v for _, v in text_lines(path)), "TextLineDataset")

