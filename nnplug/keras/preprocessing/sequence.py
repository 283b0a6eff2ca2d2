"""`keras.preprocessing.sequence.pad_sequences`: variable-length sequences -> one [samples, maxlen, ...]
array, as Keras 2 pads and truncates; a value the dtype cannot hold exactly is an error, not a wrap."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

_SIDES = ("pre", "post")


def _exact(values: Any, dtype: np.dtype, what: str) -> np.ndarray:
    """`values` as `dtype`, refusing what the cast would change (1.5 or 300 into int8, -1 into uint8)."""
    arr = np.asarray(values)
    if dtype.kind in "OUS" or arr.dtype.kind in "OUS" or arr.size == 0:
        return arr.astype(dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        out = arr.astype(dtype)
        same = np.array_equal(out.astype(np.float64), arr.astype(np.float64), equal_nan=dtype.kind in "fc")
    if dtype.kind in "iub" and not same:
        raise ValueError(f"pad_sequences: {what} holds values that dtype {dtype} cannot hold exactly "
                         f"(e.g. {arr.reshape(-1)[0]!r}); pass a wider or float dtype")
    return out


def pad_sequences(sequences: Sequence[Sequence[Any]], maxlen: int | None = None, dtype: DTypeLike = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """[samples, maxlen (default: the longest), *item shape] of `dtype`: shorter sequences padded with `value`
    before ('pre') or after ('post'), longer ones cut at the start ('pre') or the end ('post')."""
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {side!r:.40}")
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise ValueError(f"pad_sequences: sequences must be a list of sequences, got {type(sequences).__name__}")
    lengths, item_shape = [], None
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__") or isinstance(s, (str, bytes)):
            raise ValueError(f"pad_sequences: sequences[{i}] is not a sequence: {s!r:.40}")
        lengths.append(len(s))
        if item_shape is None and len(s):
            item_shape = np.asarray(s).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be None or an int >= 0, got {maxlen!r:.40}")
    dtype = np.dtype(dtype)
    if isinstance(value, str) and dtype.kind not in "OUS":
        raise ValueError(f"pad_sequences: value {value!r:.40} is a string but dtype is {dtype}; pass "
                         f"dtype=object or a string dtype")
    out = np.empty((len(lengths), int(maxlen)) + tuple(item_shape), dtype=dtype)
    out[...] = _exact(value, dtype, "value")
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        kept = _exact(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype, f"sequences[{i}]")
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"pad_sequences: sequences[{i}] has items of shape {kept.shape[1:]}, the first "
                             f"non-empty one {tuple(item_shape)}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out
