"""Indexed writes and segment reductions on the host: scatter_nd, the value a Variable's scatter_update /
scatter_add / scatter_sub assigns, dynamic_partition and dynamic_stitch, and the mean / max / min segment
reductions (sorted and unsorted). Their sizes or their indexing depend on index values, which only the
host reads; each has TF1's gradient, built from the same host ops and gathers.

Bad indices are InvalidArgumentErrors naming the op and the index, as TF1 on the CPU.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, make_op
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import gather, zeros
from .registry import register
from .shape_values import constant_value
from .._types import TensorLike


def _integer(dtype, what, fn):
    if not dtype.is_integer:
        raise ShapeError(f"{fn}: {what} must be integers, got {dtype.name}")


# -- scatter_nd: the gradient op of gather_nd, given the output's shape ---------------------------------
def scatter_nd(indices: TensorLike, updates: TensorLike, shape: Sequence[int] | TensorLike,
               name: str | None = None) -> Tensor:
    """A zero tensor of `shape` with `updates` added at `indices` (the last axis of indices indexes the
    first axes of the output; duplicates add up), as TF1. `shape` must be known when the graph is built."""
    indices, updates = convert_to_tensor(indices), convert_to_tensor(updates)
    value = shape if not isinstance(shape, Tensor) else constant_value(shape)
    if value is None:
        raise TypeError(f"scatter_nd of '{updates.name}': shape must be known when the graph is built")
    target = zeros([int(d) for d in np.asarray(value).reshape(-1)], dtype=updates.dtype)
    return make("GatherNdGrad", [updates, indices, target], name=name or "ScatterNd")


# -- the new value of a Variable's scatter ops -----------------------------------------------------------
SCATTER_MODES = {"ScatterUpdate": None, "ScatterAdd": np.add, "ScatterSub": np.subtract}


def _scatter_rule(shapes, dtypes, attrs):
    ref, idx, upd = shapes
    _integer(dtypes[1], "indices", attrs["fn"])
    want = TensorShape(tuple(idx) + tuple(ref[1:]))
    if len(upd) != len(want) or any(a is not None and b is not None and a != b for a, b in zip(upd, want)):
        raise ShapeError(f"{attrs['fn']}: updates of shape {fmt(upd)} must have shape indices.shape + "
                         f"ref.shape[1:] = {fmt(want)}")
    if dtypes[2] != dtypes[0]:
        raise ShapeError(f"{attrs['fn']}: updates are {dtypes[2].name}, the variable {dtypes[0].name}")
    return [(ref, dtypes[0])]


def _checked_rows(name, n, idx):
    flat = np.asarray(idx).reshape(-1).astype(np.int64)
    bad = np.nonzero((flat < 0) | (flat >= n))[0]
    if bad.size:
        raise InvalidArgumentError(f"{name}: index {int(flat[bad[0]])} is not in [0, {n})")
    return flat


def _scatter_host(spec):
    combine, name = SCATTER_MODES[spec.op_type], f"{spec.op_type} op '{spec.name}'"

    def scatter(ref, indices, updates):
        rows = _checked_rows(name, ref.shape[0], indices)
        out = np.array(ref, copy=True)
        upd = np.asarray(updates).reshape((rows.size,) + ref.shape[1:])
        if combine is None:
            out[rows] = upd
        else:
            combine.at(out, rows, upd)
        return out
    return scatter


for _op in SCATTER_MODES:
    register(_op, _scatter_rule, host=_scatter_host)


def scattered_value(op_type: str, ref: Tensor, indices: TensorLike, updates: TensorLike, fn: str) -> Tensor:
    """The value `ref` would hold after the scatter (what its Variable's assign writes back)."""
    indices = convert_to_tensor(indices)
    updates = convert_to_tensor(updates, dtype=ref.dtype)
    return make(op_type, [ref, indices, updates], {"fn": fn}, name=op_type)


# -- dynamic_partition, dynamic_stitch -----------------------------------------------------------------
def _partition_rule(shapes, dtypes, attrs):
    data, parts = shapes
    _integer(dtypes[1], "partitions", "dynamic_partition")
    k = len(parts)
    if len(data) < k or any(a is not None and b is not None and a != b for a, b in zip(data, parts)):
        raise ShapeError(f"dynamic_partition: data of shape {fmt(data)} must start with the partitions' shape "
                         f"{fmt(parts)}")
    return [(TensorShape([None] + list(data[k:])), dtypes[0])] * attrs["num_partitions"]


def _partition_host(spec):
    num, name = spec.attrs["num_partitions"], f"DynamicPartition op '{spec.name}'"

    def partition(data, partitions):
        p = np.asarray(partitions).reshape(-1)
        rows = data.reshape((p.size,) + data.shape[partitions.ndim:])
        bad = np.nonzero((p < 0) | (p >= num))[0]
        if bad.size:
            raise InvalidArgumentError(f"{name}: partitions[{int(bad[0])}] = {int(p[bad[0]])} is not in [0, {num})")
        return tuple(rows[p == i] for i in range(num))
    return partition


def _partition_grad_host(spec):
    shape, dtype = tuple(spec.out_shape), spec.out_dtype.np

    def scatter(partitions, data, *grads):
        out = np.zeros(shape, dtype)
        p = np.asarray(partitions)
        for i, g in zip(spec.attrs["parts"], grads):
            out[p == i] = g
        return out
    return scatter


def _grad_partition(op, *grads):
    """The rows of each part's gradient back where they came from; parts without one stay zero (only the
    host sees their sizes, so no zeros are made for them)."""
    parts = tuple(i for i, g in enumerate(grads) if g is not None)
    given = [grads[i] for i in parts]
    return [make("DynamicPartitionGrad", [op.inputs[1], op.inputs[0], *given], {"parts": parts}), None]


register("DynamicPartition", _partition_rule, host=_partition_host, grad=_grad_partition)
register("DynamicPartitionGrad", lambda s, d, a: [(s[1], d[1])], host=_partition_grad_host, shape_inputs=(1,))


def dynamic_partition(data: TensorLike, partitions: TensorLike, num_partitions: int,
                      name: str | None = None) -> list[Tensor]:
    """num_partitions tensors: output i holds the rows of `data` whose `partitions` entry is i, in order."""
    n = int(num_partitions)
    if n < 1:
        raise ValueError(f"dynamic_partition: num_partitions must be at least 1, got {num_partitions}")
    op = make_op("DynamicPartition", [convert_to_tensor(data), convert_to_tensor(partitions)],
                 {"num_partitions": n}, name=name)
    return list(op.outputs)


def _stitch_rule(shapes, dtypes, attrs):
    half = len(shapes) // 2
    rest = None
    for idx, d, dt in zip(shapes[:half], shapes[half:], dtypes[:half]):
        _integer(dt, "indices", "dynamic_stitch")
        k = len(idx)
        if len(d) < k or any(a is not None and b is not None and a != b for a, b in zip(d, idx)):
            raise ShapeError(f"dynamic_stitch: data of shape {fmt(d)} must start with its indices' shape {fmt(idx)}")
        tail = list(d[k:])
        if rest is not None and len(rest) != len(tail):
            raise ShapeError(f"dynamic_stitch: the data's inner shapes differ ({fmt(rest)} and {fmt(tail)})")
        rest = tail if rest is None else [a if a is not None else b for a, b in zip(rest, tail)]
    if len(set(d.name for d in dtypes[half:])) > 1:
        raise ShapeError("dynamic_stitch: the data tensors have different dtypes")
    return [(TensorShape([attrs.get("size")] + rest), dtypes[half])]


def _stitch_host(spec):
    dtype = spec.out_dtype.np

    def stitch(*arrays):
        half = len(arrays) // 2
        idx = [np.asarray(i).reshape(-1).astype(np.int64) for i in arrays[:half]]
        if any(i.size and i.min() < 0 for i in idx):
            raise InvalidArgumentError(f"DynamicStitch op '{spec.name}': indices must be non-negative")
        size = max((int(i.max()) + 1 for i in idx if i.size), default=0)
        inner = arrays[half].shape[arrays[0].ndim:]
        out = np.zeros((size,) + inner, dtype)
        for i, d in zip(idx, arrays[half:]):
            out[i] = np.asarray(d).reshape((i.size,) + inner)  # later tensors win, as TF1
        return out
    return stitch


def _grad_stitch(op, g):
    half = len(op.inputs) // 2
    return [None] * half + [gather(g, i) for i in op.inputs[:half]]


register("DynamicStitch", _stitch_rule, host=_stitch_host, grad=_grad_stitch)


def dynamic_stitch(indices: Sequence[TensorLike], data: Sequence[TensorLike], name: str | None = None) -> Tensor:
    """merged[indices[m][i]] = data[m][i]: interleaves the data tensors into one (dynamic_partition's inverse)."""
    indices, data = [convert_to_tensor(i) for i in indices], [convert_to_tensor(d) for d in data]
    if len(indices) != len(data) or not indices:
        raise ValueError(f"dynamic_stitch needs as many indices as data tensors (at least one), got "
                         f"{len(indices)} and {len(data)}")
    values = [constant_value(i) for i in indices]  # constant indices give the output's size now
    size = None
    if all(v is not None for v in values):
        size = max((int(np.max(v)) + 1 for v in values if np.size(v)), default=0)
    return make("DynamicStitch", indices + data, {"size": size}, name=name or "DynamicStitch")


# -- segment reductions --------------------------------------------------------------------------------
SEGMENT_OPS = {  # op type: (reduction, sorted ids and output sized by them)
    "SegmentMean": ("mean", True), "SegmentMax": ("max", True), "SegmentMin": ("min", True),
    "UnsortedSegmentMax": ("max", False), "UnsortedSegmentMin": ("min", False),
}


def _segment_rule(shapes, dtypes, attrs):
    data, ids = shapes
    _integer(dtypes[1], "segment_ids", attrs["fn"])
    k = len(ids)
    if attrs["sorted"] and k != 1:
        raise ShapeError(f"{attrs['fn']}: segment_ids must be a vector, got shape {fmt(ids)}")
    if len(data) < k or any(a is not None and b is not None and a != b for a, b in zip(data, ids)):
        raise ShapeError(f"{attrs['fn']}: data of shape {fmt(data)} must start with segment_ids' shape {fmt(ids)}")
    return [(TensorShape([attrs["num_segments"]] + list(data[k:])), dtypes[0])]


def _segments(spec, data, ids):
    """(rows of data, their segment ids, number of segments, which rows count), checked as TF1 checks."""
    name, fn = f"{spec.op_type} op '{spec.name}'", spec.attrs["fn"]
    flat = np.asarray(ids).reshape(-1).astype(np.int64)
    rows = data.reshape((flat.size,) + data.shape[np.ndim(ids):])
    if spec.attrs["sorted"]:
        if flat.size and (flat[0] < 0 or np.any(np.diff(flat) < 0)):
            raise InvalidArgumentError(f"{name} ({fn}): segment_ids must be sorted and non-negative, got "
                                       f"{flat.tolist()!r:.80}")
        num = int(flat[-1]) + 1 if flat.size else 0
        return rows, flat, num, np.ones(flat.size, bool)
    num = spec.attrs["num_segments"]
    if flat.size and flat.max() >= num:
        raise InvalidArgumentError(f"{name} ({fn}): segment id {int(flat.max())} is not below num_segments {num}")
    return rows, flat, num, flat >= 0  # negative ids are dropped


def _segment_host(spec):
    kind, sorted_ids = SEGMENT_OPS[spec.op_type]
    dtype = spec.out_dtype.np

    def reduce(data, ids):
        rows, flat, num, keep = _segments(spec, data, ids)
        rows, flat = rows[keep], flat[keep]
        counts = np.bincount(flat, minlength=num).reshape((num,) + (1,) * (rows.ndim - 1))
        if kind == "mean":
            out = np.zeros((num,) + rows.shape[1:], np.float64)
            np.add.at(out, flat, rows)
            return (out / np.maximum(counts, 1)).astype(dtype)
        info = np.finfo(dtype) if np.dtype(dtype).kind == "f" else np.iinfo(dtype)
        out = np.full((num,) + rows.shape[1:], info.min if kind == "max" else info.max, dtype)
        (np.maximum if kind == "max" else np.minimum).at(out, flat, rows)
        return np.where(counts > 0, out, 0).astype(dtype) if sorted_ids else out
    return reduce


def _segment_grad_host(spec):
    kind = SEGMENT_OPS[spec.attrs["forward"]][0]
    dtype = spec.out_dtype.np

    def grad(g, data, ids, out):
        rows, flat, num, keep = _segments(spec, data, ids)
        safe = np.where(keep, flat, 0)
        picked = g[safe] * keep.reshape((-1,) + (1,) * (rows.ndim - 1))
        if kind == "mean":
            counts = np.bincount(flat[keep], minlength=num)[safe]
            share = picked / np.maximum(counts, 1).reshape((-1,) + (1,) * (rows.ndim - 1))
        else:  # the gradient goes to the extreme elements, shared equally among ties (TF1's rule)
            hit = (rows == out[safe]) & keep.reshape((-1,) + (1,) * (rows.ndim - 1))
            ties = np.zeros((num,) + rows.shape[1:], np.int64)
            np.add.at(ties, flat[keep], hit[keep])
            share = np.where(hit, picked / np.maximum(ties[safe], 1), 0)
        return share.reshape(data.shape).astype(dtype)
    return grad


def _grad_segment(op, g):
    attrs = dict(op.attrs, forward=op.type)
    return [make("SegmentReductionGrad", [g, op.inputs[0], op.inputs[1], op.outputs[0]], attrs), None]


for _op in SEGMENT_OPS:
    register(_op, _segment_rule, host=_segment_host, grad=_grad_segment)
register("SegmentReductionGrad", lambda s, d, a: [(s[1], d[1])], host=_segment_grad_host)


def _segment(op_type, fn, data, segment_ids, num_segments, name):
    data, ids = convert_to_tensor(data), convert_to_tensor(segment_ids)
    sorted_ids = SEGMENT_OPS[op_type][1]
    if sorted_ids:  # constant ids give the output's size when the graph is built
        value = constant_value(ids)
        num_segments = int(np.max(value)) + 1 if value is not None and np.size(value) else None
    else:
        value = num_segments if not isinstance(num_segments, Tensor) else constant_value(num_segments)
        if value is None:
            raise TypeError(f"{fn}: num_segments must be known when the graph is built")
        num_segments = int(value)
    attrs = {"fn": fn, "sorted": sorted_ids, "num_segments": num_segments}
    return make(op_type, [data, ids], attrs, name=name or op_type)


def segment_mean(data: TensorLike, segment_ids: TensorLike, name: str | None = None) -> Tensor:
    """The mean of each run of equal, sorted segment ids (an id without rows gives 0)."""
    return _segment("SegmentMean", "segment_mean", data, segment_ids, None, name)


def segment_max(data: TensorLike, segment_ids: TensorLike, name: str | None = None) -> Tensor:
    """The maximum of each run of equal, sorted segment ids (an id without rows gives 0)."""
    return _segment("SegmentMax", "segment_max", data, segment_ids, None, name)


def segment_min(data: TensorLike, segment_ids: TensorLike, name: str | None = None) -> Tensor:
    """The minimum of each run of equal, sorted segment ids (an id without rows gives 0)."""
    return _segment("SegmentMin", "segment_min", data, segment_ids, None, name)


def unsorted_segment_max(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                         name: str | None = None) -> Tensor:
    """out[k] = the maximum of data[i] with segment_ids[i] == k (the dtype's lowest value where none;
    negative ids are dropped)."""
    return _segment("UnsortedSegmentMax", "unsorted_segment_max", data, segment_ids, num_segments, name)


def unsorted_segment_min(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                         name: str | None = None) -> Tensor:
    """out[k] = the minimum of data[i] with segment_ids[i] == k (the dtype's highest value where none)."""
    return _segment("UnsortedSegmentMin", "unsorted_segment_min", data, segment_ids, num_segments, name)
