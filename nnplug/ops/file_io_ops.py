"""`tf.write_file` / `tf.io.write_file`: a host op writing a scalar string to a file (read back with
`tf.read_file`, in reader_ops.py). Stateful, so it runs every time it is fetched and is never folded."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import NotFoundError
from ..graph import Operation, convert_to_tensor, make_op
from ..shapes import ShapeError, fmt
from .registry import register


def _write_file_kernel(spec):
    def write(filename, contents):
        path = os.fsdecode(bytes(np.asarray(filename, object).item()))
        try:
            with open(path, "wb") as f:
                f.write(bytes(np.asarray(contents, object).item()))
        except FileNotFoundError:
            raise NotFoundError(f"{path}: its directory does not exist (op '{spec.name}')") from None
        return ()
    return write


def _write_rule(shapes, dtypes, attrs):
    for what, s, d in zip(("filename", "contents"), shapes, dtypes):
        if d != _dt.string or s.unknown_rank or len(s) != 0:
            raise ShapeError(f"write_file: {what} must be a scalar string, got {d.name} of shape {fmt(s)}")
    return []


register("WriteFile", _write_rule, stateful=True, host=_write_file_kernel)


def write_file(filename: Any, contents: Any, name: str | None = None) -> Operation:
    """An op that writes `contents` (a scalar string) to the file `filename`, replacing it."""
    return make_op("WriteFile", [convert_to_tensor(filename, dtype=_dt.string),
                                 convert_to_tensor(contents, dtype=_dt.string)], {}, name=name or "WriteFile")
