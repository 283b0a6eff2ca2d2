"""Dtypes as first-class objects (`nnplug.float32`), mapping one-to-one onto NumPy dtypes."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._types import DTypeLike


class DType:
    """A tensor element type; compares equal to its NumPy dtype and its name."""

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.as_numpy_dtype = np.dtype(np_dtype).type
        self.np = np.dtype(np_dtype)

    @property
    def is_floating(self) -> bool:
        return self.np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.np.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.np.kind == "b"

    @property
    def as_datatype_enum(self) -> int:
        """TF1's DataType enum number of this type."""
        return next(number for number, dtype in _BY_ENUM.items() if dtype is self)

    @property
    def base_dtype(self) -> DType:
        return self

    def __repr__(self) -> str:
        return f"nnplug.{self.name}"

    def __eq__(self, other: object) -> bool:
        try:
            return self is as_dtype(other)
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.name)


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
bool_ = DType("bool", np.bool_)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
# Strings (serialized summaries): NumPy object arrays of bytes, as TF1 fetches them; made by host ops and
# kept on the host. Not in ALL: no kernel, feed or constant takes them.
string = DType("string", np.object_)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32, "bool_": bool_,
                 "string": string})
# TF1's DataType enum numbers (types.proto): `tf.constant(a, dtype=1)` is float32, as in TF1's tutorials.
_BY_ENUM = {1: float32, 2: float64, 3: int32, 4: uint8, 5: int16, 6: int8, 7: string, 9: int64, 10: bool_,
            19: float16}


def as_dtype(value: DTypeLike) -> DType:
    """Turn a DType, NumPy dtype, Python type or name into a DType, or raise naming the value."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if value is float:
        return float32
    if value is int:
        return int32
    if value is bool:
        return bool_
    if type(value) is int and value in _BY_ENUM:
        return _BY_ENUM[value]
    try:
        return _BY_NP[np.dtype(value)]
    except (TypeError, KeyError):
        names = ", ".join(d.name for d in ALL)
        raise TypeError(f"unsupported dtype {value!r}; nnplug supports {names}") from None


def infer_dtype(value: Any) -> DType:
    """TF1's rule for Python values: floats become float32, ints int32 (int64 past its range), bools bool;
    arrays keep theirs."""
    arr = np.asarray(value)
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        if arr.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
            return float32
        return as_dtype(arr.dtype)
    if arr.dtype.kind == "f":
        return float32
    if arr.dtype.kind in "iu":  # TF1 makes Python ints int64 when one does not fit int32
        fits = arr.size == 0 or (int(arr.min()) >= -2**31 and int(arr.max()) < 2**31)
        return int32 if fits else int64
    if arr.dtype.kind == "b":
        return bool_
    if arr.dtype.kind in "SU" or (arr.dtype.kind == "O" and arr.size and all(isinstance(v, (str, bytes))
                                                                          for v in arr.reshape(-1))):
        return string
    raise TypeError(f"cannot make a tensor from {type(value).__name__} value {value!r:.60}")


def as_strings(value: Any, what: str) -> np.ndarray:
    """str/bytes (or arrays of them) as the object array of bytes a string tensor holds (str as UTF-8)."""
    arr = np.asarray(value, dtype=object)
    flat = arr.reshape(-1)
    out = np.empty(flat.shape, dtype=object)
    for i, v in enumerate(flat):
        if isinstance(v, bytes):
            out[i] = v
        elif isinstance(v, (str, np.str_)):
            out[i] = str(v).encode("utf-8")
        elif isinstance(v, np.bytes_):
            out[i] = bytes(v)
        else:
            raise TypeError(f"{what} holds strings, not {type(v).__name__} values ({v!r:.40})")
    return out.reshape(arr.shape)
