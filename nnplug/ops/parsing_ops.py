"""TF1's parsing ops: `parse_single_example` / `parse_example` (serialized tf.train.Example protos into
dense tensors for FixedLenFeature, SparseTensors for VarLenFeature) and `decode_raw` (the bytes of a string
as numbers). Both are host ops, as in TF1, and source ops (OpDef.source) with an input: the Session runs
them before the plan when their input is at hand (fed, read by a reader or a dequeue), so the sizes that
follow from the strings' contents (a VarLenFeature's length, decode_raw's) are known when the plan is
compiled."""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .registry import register
from .._types import DTypeLike, Shape, TensorLike


class FixedLenFeature(namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A feature with exactly prod(shape) values in every example (or `default_value` where it is missing)."""

    def __new__(cls, shape: Shape, dtype: DTypeLike, default_value: Any = None) -> FixedLenFeature:
        return super().__new__(cls, shape, dtype, default_value)


class VarLenFeature(namedtuple("VarLenFeature", ["dtype"])):
    """A feature of any number of values: parsed into a SparseTensor."""


_KINDS = {"float32": "float_list", "int64": "int64_list", "string": "bytes_list"}
_TYPE_NAMES = {"float_list": "float", "int64_list": "int64", "bytes_list": "string"}


def _kind(dtype, key):
    dtype = _dt.as_dtype(dtype)
    if dtype.name not in _KINDS:
        raise ValueError(f"feature '{key}': tf.train.Example holds float32, int64 or string values, not {dtype.name}")
    return dtype


def _specs(features):
    """(dense [(key, dtype, shape, default array or None)], sparse [(key, dtype)]), in sorted key order."""
    if not isinstance(features, Mapping) or not features:
        raise ValueError(f"parse_example takes a non-empty dict of FixedLenFeature/VarLenFeature, got {features!r:.80}")
    dense, sparse = [], []
    for key in sorted(features):
        f = features[key]
        if isinstance(f, FixedLenFeature):
            dtype, shape = _kind(f.dtype, key), TensorShape(f.shape)
            if shape.unknown_rank or None in tuple(shape):
                raise ValueError(f"FixedLenFeature '{key}' needs a fully known shape, got {fmt(shape)}")
            default = None
            if f.default_value is not None:
                default = np.asarray(f.default_value, dtype.np)
                if default.size == 1 and shape.num_elements() != 1:
                    default = np.full(tuple(shape), default.reshape(()), dtype.np)
                if default.size != shape.num_elements():
                    raise ValueError(f"FixedLenFeature '{key}': default_value of {default.size} values does not "
                                     f"fit shape {fmt(shape)}")
                default = default.reshape(tuple(shape))
            dense.append((key, dtype, tuple(shape), default))
        elif isinstance(f, VarLenFeature):
            sparse.append((key, _kind(f.dtype, key)))
        else:
            raise TypeError(f"feature '{key}' is a {type(f).__name__}; parse_example takes FixedLenFeature and "
                            f"VarLenFeature")
    return dense, sparse


def parse_example(serialized: TensorLike, features: Mapping[str, Any], name: str | None = None,
                  example_names: Any = None) -> dict[str, Any]:
    """A batch (a vector of serialized Examples) parsed: FixedLenFeature keys give (batch,) + shape
    tensors, VarLenFeature keys SparseTensors of dense shape (batch, longest)."""
    return _parse(serialized, features, name or "ParseExample", batched=True)


def parse_single_example(serialized: TensorLike, features: Mapping[str, Any], name: str | None = None,
                         example_names: Any = None) -> dict[str, Any]:
    """One serialized Example (a scalar string) parsed: FixedLenFeature keys give tensors of their shape,
    VarLenFeature keys 1-D SparseTensors."""
    return _parse(serialized, features, name or "ParseSingleExample", batched=False)


def _parse(serialized, features, name, batched):
    from ..sparse import SparseTensor
    dense, sparse = _specs(features)
    with name_scope(name):
        serialized = convert_to_tensor(serialized, dtype=_dt.string)
        op = make_op("ParseExample", [serialized], {"dense": dense, "sparse": sparse, "batched": batched},
                     name="ParseExample")
    out = {key: t for (key, *_), t in zip(dense, op.outputs)}
    rest = op.outputs[len(dense):]
    for i, (key, _) in enumerate(sparse):
        indices, values, shape = rest[3 * i: 3 * i + 3]
        out[key] = SparseTensor(indices, values, shape)
    return {k: out[k] for k in features}


def _parse_rule(shapes, dtypes, attrs):
    shape, batched = shapes[0], attrs["batched"]
    want = 1 if batched else 0
    if not shape.unknown_rank and len(shape) != want:
        raise ShapeError(f"{'parse_example takes a vector' if batched else 'parse_single_example takes a scalar'} "
                         f"of serialized Examples, got shape {fmt(shape)}")
    lead = (shape[0] if not shape.unknown_rank else None,) if batched else ()
    out = [(TensorShape(lead + s), d) for _, d, s, _ in attrs["dense"]]
    rank = 2 if batched else 1
    for _, d in attrs["sparse"]:
        out += [(TensorShape((None, rank)), _dt.int64), (TensorShape((None,)), d), (TensorShape((rank,)), _dt.int64)]
    return out


def _values(example, key, dtype, op_name, index):
    """The values of feature `key` in one Example (None when it is missing), checked against `dtype`."""
    features = example.features.feature
    if key not in features:
        return None
    feature = features[key]
    kind = feature.WhichOneof("kind")
    if kind is None:
        return np.zeros(0, dtype.np)
    if kind != _KINDS[dtype.name]:
        raise InvalidArgumentError(f"Key: {key}, Index: {index}. Data types don't match. Data type: "
                                   f"{_TYPE_NAMES[kind]} but expected type: {_TYPE_NAMES[_KINDS[dtype.name]]} "
                                   f"(op '{op_name}')")
    values = getattr(feature, kind).value
    if dtype == _dt.string:
        out = np.empty(len(values), object)
        out[:] = list(values)
        return out
    return np.asarray(values, dtype.np)


def _parse_kernel(spec):
    from ..lib.example_proto import message_class
    example_class = message_class("Example")
    dense, sparse, batched, op_name = spec.attrs["dense"], spec.attrs["sparse"], spec.attrs["batched"], spec.name

    def parse(serialized):
        strings = np.asarray(serialized, object).reshape(-1)
        examples = []
        for i, s in enumerate(strings):
            try:
                examples.append(example_class.FromString(bytes(s)))
            except Exception as e:  # noqa: BLE001 - protobuf's DecodeError
                raise InvalidArgumentError(f"Could not parse example input {i} of op '{op_name}': not a "
                                           f"serialized tf.train.Example ({e})") from None
        out = []
        for key, dtype, shape, default in dense:
            rows = []
            for i, ex in enumerate(examples):
                v = _values(ex, key, dtype, op_name, i)
                if v is None:
                    if default is None:
                        raise InvalidArgumentError(f"Feature: {key} (data type: {_TYPE_NAMES[_KINDS[dtype.name]]}) "
                                                   f"is required but could not be found (example {i}, op "
                                                   f"'{op_name}')")
                    v = default
                if v.size != int(np.prod(shape)):
                    raise InvalidArgumentError(f"Key: {key}, Index: {i}. Number of {_TYPE_NAMES[_KINDS[dtype.name]]} "
                                               f"values != expected. values size: {v.size} but output shape: "
                                               f"{list(shape)} (op '{op_name}')")
                rows.append(v.reshape(shape))
            out.append(np.stack(rows) if batched else rows[0])
        for key, dtype in sparse:
            parts = [_values(ex, key, dtype, op_name, i) for i, ex in enumerate(examples)]
            parts = [np.zeros(0, dtype.np) if p is None else p for p in parts]
            longest = max((len(p) for p in parts), default=0)
            values = np.concatenate(parts) if parts else np.zeros(0, dtype.np)
            positions = np.concatenate([np.arange(len(p)) for p in parts]).astype(np.int64) if parts else \
                np.zeros(0, np.int64)
            if batched:
                rows = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts])
                out += [np.stack([rows, positions], axis=1), values, np.array([len(parts), longest], np.int64)]
            else:
                out += [positions.reshape(-1, 1), values, np.array([longest], np.int64)]
        return out[0] if len(out) == 1 else tuple(out)
    return parse


def decode_raw(input_bytes: TensorLike, out_type: DTypeLike, little_endian: bool = True,
               name: str | None = None) -> Tensor:
    """The bytes of each string as a vector of `out_type` numbers (all strings of one length)."""
    out_type = _dt.as_dtype(out_type)
    if out_type == _dt.string or out_type.name == "bool":
        raise TypeError(f"decode_raw decodes numbers, not {out_type.name}")
    return make("DecodeRaw", [convert_to_tensor(input_bytes, dtype=_dt.string)],
                {"out_type": out_type, "little_endian": bool(little_endian)}, name=name or "DecodeRaw")


def _decode_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string:
        raise ShapeError(f"decode_raw takes strings, got {dtypes[0].name}")
    shape = shapes[0]
    return [(TensorShape(None) if shape.unknown_rank else TensorShape(tuple(shape) + (None,)), attrs["out_type"])]


def _decode_kernel(spec):
    out, name = spec.attrs["out_type"].np, spec.name
    wire = np.dtype(out).newbyteorder("<" if spec.attrs["little_endian"] else ">")

    def decode(strings):
        strings = np.asarray(strings, object)
        flat = [bytes(s) for s in strings.reshape(-1)]
        sizes = {len(s) for s in flat}
        if len(sizes) > 1:
            first = len(flat[0])
            bad = next(i for i, s in enumerate(flat) if len(s) != first)
            raise InvalidArgumentError(f"DecodeRaw requires input strings to all be the same size, but element "
                                       f"{bad} has size {len(flat[bad])} != {first} (op '{name}')")
        size = sizes.pop() if sizes else 0
        if size % wire.itemsize:
            raise InvalidArgumentError(f"Input to DecodeRaw has length {size} that is not a multiple of "
                                       f"{wire.itemsize}, the size of {np.dtype(out).name} (op '{name}')")
        data = np.frombuffer(b"".join(flat), wire).astype(out)
        return data.reshape(strings.shape + (size // wire.itemsize,))
    return decode


register("ParseExample", _parse_rule, host=_parse_kernel, source=True)
register("DecodeRaw", _decode_rule, host=_decode_kernel, source=True)
