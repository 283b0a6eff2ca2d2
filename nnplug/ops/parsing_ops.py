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


# -- decode_csv ------------------------------------------------------------------------------------------
_CSV_TYPES = ("int32", "int64", "float32", "float64", "string")


def decode_csv(records: TensorLike, record_defaults: Any, field_delim: str = ",", use_quote_delim: bool = True,
               name: str | None = None, na_value: str = "", select_cols: Any = None) -> list[Tensor]:
    """Each record (a line of CSV) split into its fields, one tensor per column shaped like `records`,
    typed by that column's default (a one-value list or tensor; an empty one makes the column required).
    An empty field, or one equal to `na_value`, takes the default; `select_cols` (ascending) picks
    columns. Quoted fields may hold the delimiter and doubled quotes unless `use_quote_delim` is False."""
    if not isinstance(record_defaults, (list, tuple)) or not record_defaults:
        raise ValueError("decode_csv: record_defaults must be a non-empty list, one default per column")
    delim = field_delim.encode() if isinstance(field_delim, str) else field_delim
    if not isinstance(delim, bytes) or len(delim) != 1:
        raise ValueError(f"decode_csv: field_delim must be one character, got {field_delim!r}")
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if len(select_cols) != len(record_defaults):
            raise ValueError(f"decode_csv: {len(select_cols)} select_cols for {len(record_defaults)} record_defaults; "
                             f"give one default per selected column")
        if any(c < 0 for c in select_cols) or any(b <= a for a, b in zip(select_cols, select_cols[1:])):
            raise ValueError(f"decode_csv: select_cols must be non-negative and strictly ascending, got {select_cols}")
    with name_scope(name or "DecodeCSV"):
        records = convert_to_tensor(records, dtype=_dt.string)
        defaults = []
        for i, d in enumerate(record_defaults):
            empty = isinstance(d, (list, tuple)) and not d
            t = d if isinstance(d, Tensor) else convert_to_tensor(np.zeros(0, np.float32) if empty else d)
            if t.dtype.name not in _CSV_TYPES:
                raise TypeError(f"decode_csv: record_defaults[{i}] is {t.dtype.name}; columns are "
                                f"{', '.join(_CSV_TYPES)}")
            if not t.shape.unknown_rank and len(t.shape) > 1 or t.shape.num_elements() not in (None, 0, 1):
                raise ValueError(f"decode_csv: record_defaults[{i}] must hold one value (or none: the column is "
                                 f"required), got shape {fmt(t.shape)}")
            defaults.append(t)
        na = na_value.encode() if isinstance(na_value, str) else na_value
        op = make_op("DecodeCSV", [records] + defaults,
                     {"delim": delim, "quote": bool(use_quote_delim), "na_value": na, "select_cols": select_cols},
                     name="DecodeCSV")
    return list(op.outputs)


def _csv_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string:
        raise ShapeError(f"decode_csv takes string records, got {dtypes[0].name}")
    return [(shapes[0], d) for d in dtypes[1:]]


def _csv_fields(record, delim, quote, where):
    """The fields of one record, quotes resolved."""
    fields, i, n = [], 0, len(record)
    while True:
        if quote and record[i:i + 1] == b'"':
            j, buf = i + 1, bytearray()
            while True:
                if j >= n:
                    raise InvalidArgumentError(f"Quoted field has to end with quote followed by delim or end "
                                               f"({where})")
                if record[j] == 0x22:
                    if record[j + 1:j + 2] == b'"':
                        buf.append(0x22)
                        j += 2
                        continue
                    j += 1
                    break
                buf.append(record[j])
                j += 1
            if j < n and record[j:j + 1] != delim:
                raise InvalidArgumentError(f"Quote inside a string has to be escaped by another quote ({where})")
            fields.append(bytes(buf))
            if j >= n:
                return fields
            i = j + 1
        else:
            j = record.find(delim, i)
            field = record[i:] if j < 0 else record[i:j]
            if quote and b'"' in field:
                raise InvalidArgumentError(f"Unquoted fields cannot have quotes inside: {field!r:.60} ({where})")
            fields.append(field)
            if j < 0:
                return fields
            i = j + 1


def _csv_kernel(spec):
    from .string_number_ops import parse_number
    attrs = spec.attrs
    delim, quote, na, select = attrs["delim"], attrs["quote"], attrs["na_value"], attrs["select_cols"]
    dtypes, op_name = spec.out_dtypes, spec.name

    def decode(records, *defaults):
        records = np.asarray(records, object)
        flat = records.reshape(-1)
        columns = [[] for _ in dtypes]
        for r, record in enumerate(flat):
            where = f"record {r}, op '{op_name}'"
            fields = _csv_fields(bytes(record), delim, quote, where)
            if select is None:
                if len(fields) != len(dtypes):
                    raise InvalidArgumentError(f"Expect {len(dtypes)} fields but have {len(fields)} in record {r} "
                                               f"(op '{op_name}')")
                picked = list(enumerate(fields))
            else:
                if len(fields) <= select[-1]:
                    raise InvalidArgumentError(f"Expect at least {select[-1] + 1} fields (select_cols) but have "
                                               f"{len(fields)} in record {r} (op '{op_name}')")
                picked = [(c, fields[c]) for c in select]
            for k, ((col, field), dtype, default) in enumerate(zip(picked, dtypes, defaults)):
                if field == b"" or field == na:
                    if np.size(default) == 0:
                        raise InvalidArgumentError(f"Field {col} is required but missing in record {r}! "
                                                   f"(op '{op_name}')")
                    columns[k].append(np.asarray(default).reshape(-1)[0])
                elif dtype == _dt.string:
                    columns[k].append(field)
                else:
                    v = parse_number(field, dtype)
                    if v is None:
                        raise InvalidArgumentError(f"Field {col} in record {r} is not a valid {dtype.name}: "
                                                   f"{field.decode(errors='replace')} (op '{op_name}')")
                    columns[k].append(v)
        out = []
        for values, dtype in zip(columns, dtypes):
            if dtype == _dt.string:
                arr = np.empty(len(values), object)
                arr[:] = [bytes(v) for v in values]
            else:
                arr = np.array(values, dtype.np).reshape(-1)
            out.append(arr.reshape(records.shape))
        return out[0] if len(out) == 1 else tuple(out)
    return decode


register("DecodeCSV", _csv_rule, host=_csv_kernel)
