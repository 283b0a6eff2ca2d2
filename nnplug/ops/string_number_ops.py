"""TF1's conversions between strings and numbers (`tf.string_to_number`, `tf.as_string`) and its string
hashes (`tf.string_to_hash_bucket_fast`: FarmHash Fingerprint64; `_strong`: keyed SipHash-2-4), bit for bit
as TensorFlow computes them; host ops like the rest of string_ops.py."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make
from ..lib.fingerprint import fingerprint64, siphash
from .registry import register
from .string_ops import _map, _obj, _same_shape, _strings, _unary
from .._types import DTypeLike, TensorLike


# -- numbers ---------------------------------------------------------------------------------------------
def string_to_number(string_tensor: TensorLike = None, out_type: DTypeLike = _dt.float32, name: str | None = None,
                     input: TensorLike = None) -> Tensor:  # noqa: A002
    """Each string parsed as a number of `out_type` (float32, float64, int32, int64); a string that is not
    one is an InvalidArgumentError naming it."""
    if (string_tensor is None) == (input is None):
        raise ValueError("string_to_number takes one of `string_tensor` and `input`")
    out_type = _dt.as_dtype(out_type)
    if out_type.name not in ("float32", "float64", "int32", "int64"):
        raise TypeError(f"string_to_number: out_type must be float32, float64, int32 or int64, got {out_type.name}")
    x = _strings(string_tensor if input is None else input, "string_to_number")
    return make("StringToNumber", [x], {"out_type": out_type}, name=name or "StringToNumber")


_INT = re.compile(rb"\s*[+-]?[0-9]+\s*")
_FLOAT = re.compile(rb"\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|inf(inity)?|nan)\s*", re.IGNORECASE)
_HEX_FLOAT = re.compile(rb"\s*[+-]?0[xX][0-9a-fA-F]+\s*")


def parse_number(s: bytes, dtype: _dt.DType) -> Any:
    """`s` as a number of `dtype`, or None where TF would refuse it (also for ints out of range)."""
    if dtype.is_integer:
        if not _INT.fullmatch(s):
            return None
        v = int(s)
        info = np.iinfo(dtype.np)
        return v if info.min <= v <= info.max else None
    if _FLOAT.fullmatch(s):
        return float(s)
    if _HEX_FLOAT.fullmatch(s):
        return float(int(s, 16))
    return None


def _to_number_host(spec):
    dtype, name = spec.attrs["out_type"], spec.name

    def convert(s):
        v = parse_number(s, dtype)
        if v is None:
            text = s.decode(errors="replace")
            raise InvalidArgumentError(f"StringToNumberOp could not correctly convert string: {text!r} "
                                       f"to {dtype.name} (op '{name}')")
        return v
    return lambda strings: _map(convert, strings, dtype.np)


register("StringToNumber", lambda shapes, dtypes, attrs: _same_shape(attrs["out_type"], "string_to_number")(
    shapes, dtypes, attrs), host=_to_number_host)


def string_to_hash_bucket_fast(input: TensorLike, num_buckets: int, name: str | None = None) -> Tensor:  # noqa: A002
    """Each string's FarmHash Fingerprint64 modulo `num_buckets` (TensorFlow's own buckets, bit for bit)."""
    return _hash(input, num_buckets, None, name or "StringToHashBucketFast")


def string_to_hash_bucket_strong(input: TensorLike, num_buckets: int, key: Sequence[int],  # noqa: A002
                                 name: str | None = None) -> Tensor:
    """Each string's SipHash-2-4 under the 128-bit `key` (two ints) modulo `num_buckets`: buckets an
    adversary who does not know the key cannot aim at (TensorFlow's own, bit for bit)."""
    key = list(key) if isinstance(key, (list, tuple)) else key
    if not isinstance(key, list) or len(key) != 2 or not all(isinstance(k, (int, np.integer)) for k in key):
        raise ValueError(f"string_to_hash_bucket_strong: key must be a list of two ints, got {key!r:.60}")
    return _hash(input, num_buckets, (int(key[0]), int(key[1])), name or "StringToHashBucketStrong")


def _hash(input, num_buckets, key, name):
    if not isinstance(num_buckets, (int, np.integer)) or isinstance(num_buckets, bool) or num_buckets < 1:
        raise ValueError(f"{name}: num_buckets must be a positive int, got {num_buckets!r}")
    op_type = "StringToHashBucketFast" if key is None else "StringToHashBucketStrong"
    return make(op_type, [_strings(input, name)], {"num_buckets": int(num_buckets), "key": key}, name=name)


def _hash_fn(attrs, name):
    n, key = attrs["num_buckets"], attrs["key"]
    if key is None:
        return lambda s: fingerprint64(s) % n
    return lambda s: siphash(key, s) % n


_unary("StringToHashBucketFast", _hash_fn, _dt.int64)
_unary("StringToHashBucketStrong", _hash_fn, _dt.int64)


def as_string(input: TensorLike, precision: int = -1, scientific: bool = False, shortest: bool = False,  # noqa: A002
              width: int = -1, fill: str = "", name: str | None = None) -> Tensor:
    """Numbers (and bools) as strings, printf-style as TF formats them: `precision` digits after the point
    for floats (default 6), `scientific` (%e) or `shortest` (%g) notation, padded to `width` with `fill`
    (a space, or '0')."""
    x = convert_to_tensor(input)
    name = name or "AsString"
    if x.dtype == _dt.string:
        raise TypeError(f"as_string takes numbers or bools, got the string tensor '{x.name}'")
    floating = x.dtype.is_floating
    if precision > -1 and not floating:
        raise ValueError(f"as_string: precision not supported for datatype {x.dtype.name}")
    if (scientific or shortest) and not floating:
        raise ValueError(f"as_string: scientific and shortest apply to floats, not {x.dtype.name}")
    if scientific and shortest:
        raise ValueError("as_string: cannot select both scientific and shortest notation")
    if len(fill) > 1:
        raise ValueError(f"as_string: fill string must be one or fewer characters, got {fill!r}")
    if fill not in ("", " ", "0"):
        raise ValueError(f"as_string: fill must be '', ' ' or '0', got {fill!r}")
    flags = ("0" if fill == "0" else "") + (str(width) if width > -1 else "")
    if x.dtype.name == "bool":
        spec = None
    elif floating:
        spec = "%" + flags + ("." + str(precision) if precision > -1 else "") + \
            ("g" if shortest else "e" if scientific else "f")
    else:
        spec = "%" + flags + "d"
    return make("AsString", [x], {"format": spec, "width": int(width)}, name=name)


def _as_string_host(spec):
    fmt_, width = spec.attrs["format"], spec.attrs["width"]

    def one(v):
        if fmt_ is None:
            return ("true" if v else "false").rjust(max(width, 0)).encode()
        return (fmt_ % v).encode()

    def convert(x):
        x = np.asarray(x)
        return _obj([one(v) for v in x.reshape(-1).tolist()], x.shape)
    return convert


register("AsString", lambda shapes, dtypes, attrs: [(shapes[0], _dt.string)], host=_as_string_host)
