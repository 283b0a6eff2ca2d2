"""TFRecord files, byte for byte as TensorFlow writes them: each record is its length (uint64, little
endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data; a file may be
ZLIB- or GZIP-compressed as a whole. Reading checks both checksums and refuses a length longer than what
is left of the file before allocating anything, naming the file and the record's offset."""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import DataLossError
from .._types import StrPath

_INSTALL = 'pip install "nnplug[tfrecord]"'
_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_CHUNK = 1 << 24  # a compressed record is read this much at a time, so a bogus length allocates no more
_WBITS = {"ZLIB": zlib.MAX_WBITS, "GZIP": 16 + zlib.MAX_WBITS}


def _crc32c() -> Any:
    try:
        import google_crc32c
    except ImportError as e:
        raise ImportError(f"TFRecord files need the google-crc32c package for their checksums, which is not "
                          f"installed ({e}): {_INSTALL}") from e
    return google_crc32c


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C, rotated right by 15 bits, plus a constant (mod 2**32)."""
    crc = _crc32c().value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


class TFRecordCompressionType:
    NONE = 0
    ZLIB = 1
    GZIP = 2


class TFRecordOptions:
    """How a TFRecord file is compressed: compression_type None/'' (none), 'ZLIB' or 'GZIP' (or a
    TFRecordCompressionType); compression_level for writing (zlib's 0-9, default 6)."""

    compression_type_map = {TFRecordCompressionType.ZLIB: "ZLIB", TFRecordCompressionType.GZIP: "GZIP",
                            TFRecordCompressionType.NONE: ""}

    def __init__(self, compression_type: str | int | None = None, flush_mode: Any = None,
                 input_buffer_size: int | None = None, output_buffer_size: int | None = None,
                 window_bits: int | None = None, compression_level: int | None = None,
                 compression_method: Any = None, mem_level: int | None = None,
                 compression_strategy: Any = None) -> None:
        self.compression_type = compression_name(compression_type)
        self.compression_level = -1 if compression_level is None else int(compression_level)

    @classmethod
    def get_compression_type_string(cls, options: TFRecordOptions | str | int | None) -> str:
        return compression_name(options)


def compression_name(options: TFRecordOptions | str | int | None) -> str:
    """'' (none), 'ZLIB' or 'GZIP' from any of the ways TF1 programs say it."""
    if isinstance(options, TFRecordOptions):
        return options.compression_type
    if options is None:
        return ""
    if isinstance(options, int):
        if options not in TFRecordOptions.compression_type_map:
            raise ValueError(f"unknown TFRecord compression type {options}")
        return TFRecordOptions.compression_type_map[options]
    name = str(options).upper()
    if name not in ("", "ZLIB", "GZIP"):
        raise ValueError(f"unknown TFRecord compression type {options!r}: expected '', 'ZLIB' or 'GZIP'")
    return name


def frame(record: bytes) -> bytes:
    """One record as it lies in a TFRecord file."""
    length = _LENGTH.pack(len(record))
    return b"".join((length, _CRC.pack(masked_crc32c(length)), record, _CRC.pack(masked_crc32c(record))))


class TFRecordWriter:
    """Writes records to a TFRecord file (`with TFRecordWriter(path) as w: w.write(example.SerializeToString())`);
    each write puts one whole record."""

    def __init__(self, path: StrPath, options: TFRecordOptions | str | int | None = None) -> None:
        self._path = os.fspath(path)
        kind = compression_name(options)
        level = options.compression_level if isinstance(options, TFRecordOptions) else -1
        self._compress = zlib.compressobj(level, zlib.DEFLATED, _WBITS[kind]) if kind else None
        _crc32c()  # fail before creating the file
        self._file = open(self._path, "wb")

    def write(self, record: bytes) -> None:
        if self._file is None:
            raise ValueError(f"TFRecordWriter of '{self._path}' is closed")
        if not isinstance(record, (bytes, bytearray, memoryview)):
            raise TypeError(f"TFRecordWriter.write takes bytes (a serialized Example), got {type(record).__name__}")
        data = frame(bytes(record))
        self._file.write(self._compress.compress(data) if self._compress else data)

    def flush(self) -> None:
        if self._file is not None:
            if self._compress:
                self._file.write(self._compress.flush(zlib.Z_SYNC_FLUSH))
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            if self._compress:
                self._file.write(self._compress.flush())
            self._file.close()
            self._file = None

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Inflated:
    """A compressed file read as its uncompressed bytes, `read(n)` at a time."""

    def __init__(self, f: BinaryIO, kind: str, path: str) -> None:
        self._f, self._path = f, path
        self._z = zlib.decompressobj(_WBITS[kind])
        self._pending = b""

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n and not self._z.eof:
            data = self._z.unconsumed_tail or self._f.read(1 << 16)
            if not data:
                break
            try:
                out += self._z.decompress(data, n - len(out))
            except zlib.error as e:
                raise DataLossError(f"'{self._path}' is not valid compressed data ({e})") from None
        return bytes(out)


def read_records(path: StrPath, options: TFRecordOptions | str | int | None = None) -> Iterator[tuple[int, bytes]]:
    """(offset, data) of each record of a TFRecord file, checked (DataLossError naming the file and offset)."""
    path = os.fspath(path)
    kind = compression_name(options)
    checksum = masked_crc32c
    with open(path, "rb") as f:
        size = None if kind else os.fstat(f.fileno()).st_size
        source = _Inflated(f, kind, path) if kind else f
        offset = 0
        while True:
            head = source.read(12)
            if not head:
                return
            if len(head) < 12:
                raise DataLossError(f"truncated record at offset {offset} of TFRecord file '{path}': its header "
                                    f"has {len(head)} of 12 bytes")
            length_bytes = head[:8]
            if _CRC.unpack(head[8:])[0] != checksum(length_bytes):
                raise DataLossError(f"corrupted record at offset {offset} of TFRecord file '{path}': the checksum "
                                    f"of its length does not match")
            (length,) = _LENGTH.unpack(length_bytes)
            if size is not None and length + 4 > size - offset - 12:
                raise DataLossError(f"truncated record at offset {offset} of TFRecord file '{path}': it claims "
                                    f"{length} bytes, but only {max(size - offset - 16, 0)} follow")
            data = _read_exactly(source, length + 4, path, offset)
            if _CRC.unpack(data[-4:])[0] != checksum(data[:-4]):
                raise DataLossError(f"corrupted record at offset {offset} of TFRecord file '{path}': the checksum "
                                    f"of its {length} data bytes does not match")
            yield offset, data[:-4]
            offset += 16 + length


def _read_exactly(source, n, path, offset):
    parts, got = [], 0
    while got < n:
        part = source.read(min(n - got, _CHUNK))
        if not part:
            raise DataLossError(f"truncated record at offset {offset} of TFRecord file '{path}': it claims "
                                f"{n - 4} bytes, but the file ends after {got} of them (with its checksum)")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def tf_record_iterator(path: StrPath, options: TFRecordOptions | str | int | None = None) -> Iterator[bytes]:
    """The records of a TFRecord file, as bytes."""
    for _, data in read_records(path, options):
        yield data
