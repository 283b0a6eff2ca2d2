"""TF1's readers (`tf.TFRecordReader`, `tf.FixedLengthRecordReader`, `tf.TextLineReader`,
`tf.WholeFileReader`): `reader.read(filename_queue)` gives (key, value) string tensors, one record per run,
taking the next file name from the queue when a file is done and raising OutOfRangeError once the queue is
closed and empty. The reader's position is per session, like a queue's; read is a source op (run before
the plan: it may wait on the queue)."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import DataLossError, NotFoundError, OutOfRangeError
from ..graph import Tensor, get_default_graph, make_op
from ..lib import tfrecord
from ..shapes import TensorShape
from .queue_ops import QueueBase
from .registry import register


def _path(name: Any) -> str:
    return os.fsdecode(name) if isinstance(name, (bytes, str)) else os.fsdecode(bytes(name))


class ReaderBase:
    """A reader of records from the files a queue of file names gives."""

    _default_name = "Reader"

    def __init__(self, name: str | None = None) -> None:
        self.graph = get_default_graph()
        self.name = self.graph.unique_name(name or self._default_name)
        self._key = ("nnplug.reader", self)

    def __repr__(self) -> str:
        return f"<nnplug.{type(self).__name__} '{self.name}'>"

    @property
    def supports_serialize(self) -> bool:
        return False

    def read(self, queue: QueueBase, name: str | None = None) -> tuple[Tensor, Tensor]:
        """(key, value): the next record, as scalar strings."""
        return self._read(queue, None, name or "ReaderReadV2")

    def read_up_to(self, queue: QueueBase, num_records: int, name: str | None = None) -> tuple[Tensor, Tensor]:
        """(keys, values): up to `num_records` records (fewer when the queue runs out), as string vectors."""
        if int(num_records) < 1:
            raise ValueError(f"read_up_to of reader '{self.name}': num_records must be positive, got {num_records}")
        return self._read(queue, int(num_records), name or "ReaderReadUpToV2")

    def _read(self, queue, n, name):
        if not isinstance(queue, QueueBase):
            raise TypeError(f"reader '{self.name}' reads file names from a queue (tf.train.string_input_producer), "
                            f"got {type(queue).__name__}")
        if queue.dtypes != [_dt.string]:
            raise TypeError(f"reader '{self.name}': queue '{queue.name}' must hold strings (file names), it holds "
                            f"{[d.name for d in queue.dtypes]}")
        with self.graph.as_default():
            key, value = make_op("ReaderReadV2", [], {"reader": self, "queue": queue, "n": n}, name=name).outputs
        return key, value

    def _records(self, path: str) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) of each record of the file at `path`."""
        raise NotImplementedError


class TFRecordReader(ReaderBase):
    """Records of TFRecord files; key: b'<file>:<offset>'."""

    _default_name = "TFRecordReaderV2"

    def __init__(self, name: str | None = None, options: tfrecord.TFRecordOptions | str | None = None) -> None:
        super().__init__(name)
        self._options = options

    def _records(self, path):
        for offset, data in tfrecord.read_records(path, self._options):
            yield f"{path}:{offset}".encode(), data


class FixedLengthRecordReader(ReaderBase):
    """Records of `record_bytes` bytes each, after `header_bytes` and before `footer_bytes` of every file
    (CIFAR-10's binary files); key: b'<file>:<record number>'."""

    _default_name = "FixedLengthRecordReaderV2"

    def __init__(self, record_bytes: int, header_bytes: int | None = None, footer_bytes: int | None = None,
                 hop_bytes: int | None = None, name: str | None = None, encoding: str | None = None) -> None:
        super().__init__(name)
        if int(record_bytes) < 1:
            raise ValueError(f"FixedLengthRecordReader '{self.name}': record_bytes must be positive, got {record_bytes}")
        if encoding:
            raise NotImplementedError(f"FixedLengthRecordReader '{self.name}': compressed files (encoding="
                                      f"{encoding!r}) are not supported")
        self._record, self._header, self._footer = int(record_bytes), int(header_bytes or 0), int(footer_bytes or 0)
        self._hop = int(hop_bytes or 0) or self._record

    def _records(self, path):
        return fixed_length_records(path, self._record, self._header, self._footer, self._hop)


class TextLineReader(ReaderBase):
    """Lines of text files (without their newline); key: b'<file>:<line number>' (from 1)."""

    _default_name = "TextLineReaderV2"

    def __init__(self, skip_header_lines: int | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self._skip = int(skip_header_lines or 0)

    def _records(self, path):
        return text_lines(path, self._skip)


class WholeFileReader(ReaderBase):
    """Each file whole; key: its name."""

    _default_name = "WholeFileReaderV2"

    def _records(self, path):
        with open(path, "rb") as f:
            yield path.encode(), f.read()


def fixed_length_records(path: str, record: int, header: int = 0, footer: int = 0,
                         hop: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(b'<file>:<n>', bytes) of each `record`-byte record between a file's header and footer."""
    hop = hop or record
    size = os.path.getsize(path)
    body = size - header - footer
    if body < 0 or (hop == record and body % record):
        raise DataLossError(f"Excluding the header ({header} bytes) and footer ({footer} bytes), input file "
                            f"'{path}' has body length {body}, which is not an exact multiple of the record "
                            f"length ({record} bytes)")
    with open(path, "rb") as f:
        number, start = 0, header
        while start + record <= header + body:
            f.seek(start)
            yield f"{path}:{number}".encode(), f.read(record)
            number, start = number + 1, start + hop


def text_lines(path: str, skip: int = 0) -> Iterator[tuple[bytes, bytes]]:
    """(b'<file>:<line number>', line without its newline) of each line after the first `skip`."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if number > skip:
                yield f"{path}:{number}".encode(), line.rstrip(b"\n").rstrip(b"\r")


class ReaderState:
    """One reader's open file in one session."""

    def __init__(self) -> None:
        self.records = None
        self.lock = threading.Lock()

    def next(self, reader, queue_state, op_name):
        with self.lock:
            while True:
                if self.records is None:
                    name = queue_state.dequeue(None, False, op_name)[0][0]
                    self.records = reader._records(_path(name[()]))
                record = next(self.records, None)
                if record is not None:
                    return record
                self.records = None

    def close(self) -> None:
        if self.records is not None:
            self.records.close()


def _strings(values, shape):
    out = np.empty(shape, object)
    out[...] = values if shape == () else list(values)
    return out


def _read_kernel(spec):
    reader, queue, n, name = spec.attrs["reader"], spec.attrs["queue"], spec.attrs["n"], spec.name
    state = spec.state.resource(reader._key, ReaderState)
    queue_state = queue._state(spec.state)

    def read():
        if n is None:
            key, value = state.next(reader, queue_state, name)
            return _strings(key, ()), _strings(value, ())
        records = []
        while len(records) < n:
            try:
                records.append(state.next(reader, queue_state, name))
            except OutOfRangeError:
                if not records:
                    raise
                break  # the queue ran out: the records read so far
        return _strings([k for k, _ in records], (len(records),)), _strings([v for _, v in records], (len(records),))
    return read


def _read_rule(shapes, dtypes, attrs):
    shape = TensorShape(()) if attrs["n"] is None else TensorShape((None,))
    return [(shape, _dt.string), (shape, _dt.string)]


register("ReaderReadV2", _read_rule, stateful=True, host=_read_kernel, source=True)


def read_file(filename: Any, name: str | None = None) -> Tensor:
    """The whole contents of the file `filename` (a scalar string tensor) as a scalar string."""
    from ..graph import convert_to_tensor, make
    return make("ReadFile", [convert_to_tensor(filename, dtype=_dt.string)], {}, name=name or "ReadFile")


def _read_file_kernel(spec):
    def read(filename):
        path = _path(np.asarray(filename, object)[()])
        try:
            with open(path, "rb") as f:
                return _strings(f.read(), ())
        except FileNotFoundError:
            raise NotFoundError(f"{path}; No such file or directory (op '{spec.name}')") from None
    return read


register("ReadFile", lambda s, d, a: [(TensorShape(()), _dt.string)], stateful=True, host=_read_file_kernel,
         source=True)
