"""More segment reductions and indexed writes: mean and sqrt_n segments as sums of one-hot products
(every backend runs them), products as host ops with TF1's gradient (zeros included), the sparse
segment reductions (a gather, then a segment sum), and scatters into tensors (`tensor_scatter_nd_*`)
and into Variables (`scatter_nd_*`, `scatter_mul/div/min/max`) as host ops computing the new value.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from . import elementwise as E
from .array_ops import gather, reshape
from .math_extra_ops import gather_nd, segment_sum, unsorted_segment_sum
from .math_ops import ones_like
from .registry import register
from .segment_ops import _scatter_rule, _segment_rule, _segments
from .shape_values import constant_value
from .._types import TensorLike


def _counts(data, ids, num, fn):
    ones = ones_like(reshape(convert_to_tensor(ids), [-1]), dtype=data.dtype)
    counts = unsorted_segment_sum(ones, reshape(ids, [-1]), num) if num is not None else segment_sum(ones, ids)
    rank = data.shape.ndims - convert_to_tensor(ids).shape.ndims
    return reshape(E.maximum(counts, E._full_like(counts, 1)), [-1] + [1] * rank)


def _num(num_segments, fn):
    value = num_segments if not isinstance(num_segments, Tensor) else constant_value(num_segments)
    if value is None:
        raise TypeError(f"{fn}: num_segments must be known when the graph is built")
    return int(value)


def unsorted_segment_mean(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                          name: str | None = None) -> Tensor:
    """The mean of data[i] over segment_ids[i] == k (0 for an empty segment)."""
    x, num = convert_to_tensor(data), _num(num_segments, "unsorted_segment_mean")
    with name_scope(name, "UnsortedSegmentMean"):
        return unsorted_segment_sum(x, segment_ids, num) / _counts(x, convert_to_tensor(segment_ids), num, "")


def unsorted_segment_sqrt_n(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                            name: str | None = None) -> Tensor:
    """The sum of each segment divided by the square root of its size (0 for an empty segment)."""
    x, num = convert_to_tensor(data), _num(num_segments, "unsorted_segment_sqrt_n")
    with name_scope(name, "UnsortedSegmentSqrtN"):
        return unsorted_segment_sum(x, segment_ids, num) / E.sqrt(_counts(x, convert_to_tensor(segment_ids), num, ""))


# -- products: host ops ---------------------------------------------------------------------------------
def _prod_host(spec):
    dtype = spec.out_dtype.np

    def prod(data, ids):
        rows, flat, num, keep = _segments(spec, data, ids)
        out = np.ones((num,) + rows.shape[1:], dtype)
        np.multiply.at(out, flat[keep], rows[keep])
        return out
    return prod


def _others(rows, flat, keep, num):
    """For each row, the product of the other rows of its segment (no division: zeros are exact)."""
    others = np.zeros_like(rows)
    for k in range(num):
        members = np.nonzero(keep & (flat == k))[0]
        block = rows[members]
        for j, i in enumerate(members):
            others[i] = np.prod(np.delete(block, j, axis=0), axis=0)
    return others


def _prod_grad_host(spec):
    dtype = spec.out_dtype.np

    def grad(g, data, ids):
        rows, flat, num, keep = _segments(spec, data, ids)
        safe = np.where(keep, flat, 0)
        mask = keep.reshape((-1,) + (1,) * (rows.ndim - 1))
        return (g[safe] * _others(rows, flat, keep, num) * mask).reshape(data.shape).astype(dtype)
    return grad


def _grad_prod(op, g):
    return [make("SegmentProdGrad", [g, op.inputs[0], op.inputs[1]], dict(op.attrs)), None]


for _op in ("SegmentProd", "UnsortedSegmentProd"):
    register(_op, _segment_rule, host=_prod_host, grad=_grad_prod)
register("SegmentProdGrad", lambda s, d, a: [(s[1], d[1])], host=_prod_grad_host)


def unsorted_segment_prod(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                          name: str | None = None) -> Tensor:
    """The product of data[i] over segment_ids[i] == k (1 for an empty segment; negative ids dropped)."""
    num = _num(num_segments, "unsorted_segment_prod")
    attrs = {"fn": "unsorted_segment_prod", "sorted": False, "num_segments": num}
    return make("UnsortedSegmentProd", [convert_to_tensor(data), convert_to_tensor(segment_ids)], attrs,
                name=name or "UnsortedSegmentProd")


def segment_prod(data: TensorLike, segment_ids: TensorLike, name: str | None = None) -> Tensor:
    """The product of each run of equal, sorted segment ids (1 for an id without rows)."""
    ids = convert_to_tensor(segment_ids)
    value = constant_value(ids)
    num = int(np.max(value)) + 1 if value is not None and np.size(value) else None
    attrs = {"fn": "segment_prod", "sorted": True, "num_segments": num}
    return make("SegmentProd", [convert_to_tensor(data), ids], attrs, name=name or "SegmentProd")


# -- sparse segment reductions: a gather, then a segment sum -----------------------------------------
def _sparse_segment(data, indices, segment_ids, num_segments, scale, name, default):
    x = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids)
    with name_scope(name, default):
        rows = gather(x, indices)
        num = None if num_segments is None else _num(num_segments, default)
        total = segment_sum(rows, ids) if num is None else unsorted_segment_sum(rows, ids, num)
        if scale is None:
            return total
        counts = _counts(rows, ids, num, default)
        return total / (counts if scale == "mean" else E.sqrt(counts))


def sparse_segment_sum(data: TensorLike, indices: TensorLike, segment_ids: TensorLike, name: str | None = None,
                       num_segments: int | TensorLike | None = None) -> Tensor:
    """segment_sum(gather(data, indices), segment_ids)."""
    return _sparse_segment(data, indices, segment_ids, num_segments, None, name, "SparseSegmentSum")


def sparse_segment_mean(data: TensorLike, indices: TensorLike, segment_ids: TensorLike, name: str | None = None,
                        num_segments: int | TensorLike | None = None) -> Tensor:
    """segment_mean(gather(data, indices), segment_ids) (0 for an empty segment)."""
    return _sparse_segment(data, indices, segment_ids, num_segments, "mean", name, "SparseSegmentMean")


def sparse_segment_sqrt_n(data: TensorLike, indices: TensorLike, segment_ids: TensorLike, name: str | None = None,
                          num_segments: int | TensorLike | None = None) -> Tensor:
    """The segment sums of gather(data, indices), each divided by the square root of its size."""
    return _sparse_segment(data, indices, segment_ids, num_segments, "sqrt_n", name, "SparseSegmentSqrtN")


# -- tensor_scatter_nd_*: a copy of the tensor with the updates written at the indices ------------------
_COMBINE = {"update": None, "add": np.add, "sub": np.subtract, "min": np.minimum, "max": np.maximum,
            "mul": np.multiply, "div": np.true_divide}


def _scatter_nd_rule(shapes, dtypes, attrs):
    t, idx, upd = shapes
    if not dtypes[1].is_integer or dtypes[2] != dtypes[0]:
        raise ShapeError(f"{attrs['fn']}: indices must be integers and updates of the tensor's dtype "
                         f"{dtypes[0].name}, got {dtypes[1].name} and {dtypes[2].name}")
    if len(idx) >= 1 and idx[-1] is not None:
        want = list(idx[:-1]) + list(t[idx[-1]:])
        if idx[-1] > len(t) or len(upd) != len(want) or any(
                a is not None and b is not None and a != b for a, b in zip(upd, want)):
            raise ShapeError(f"{attrs['fn']}: updates of shape {fmt(upd)} must have shape indices.shape[:-1] + "
                             f"tensor.shape[indices.shape[-1]:] = {fmt(TensorShape(want))}")
    return [(t, dtypes[0])]


def _nd_positions(spec, shape, idx):
    k = idx.shape[-1]
    flat = idx.reshape(-1, k).astype(np.int64)
    bad = np.nonzero(np.any((flat < 0) | (flat >= np.asarray(shape[:k])), axis=1))[0]
    if bad.size:
        raise InvalidArgumentError(f"{spec.op_type} op '{spec.name}': index {flat[bad[0]].tolist()} is out of bounds "
                                   f"for shape {list(shape)}")
    return tuple(flat.T), flat.shape[0], k


def _scatter_nd_host(spec):
    combine = _COMBINE[spec.attrs["mode"]]

    def scatter(tensor, indices, updates):
        pos, n, k = _nd_positions(spec, tensor.shape, indices)
        out = np.array(tensor, copy=True)
        upd = np.asarray(updates).reshape((n,) + tensor.shape[k:])
        if combine is None:
            out[pos] = upd
        else:
            combine.at(out, pos, upd)
        return out
    return scatter


def _grad_scatter_nd(op, g):
    mode, (t, idx, upd), out = op.attrs["mode"], op.inputs, op.outputs[0]
    if mode == "update":  # written places take nothing from the tensor
        hole = tensor_scatter_nd_update(g, idx, E._full_like(upd, 0))
        return [hole, None, gather_nd(g, idx)]
    if mode in ("add", "sub"):
        return [g, None, gather_nd(g, idx) if mode == "add" else -gather_nd(g, idx)]
    if mode in ("min", "max"):  # the gradient goes where the result came from
        kept = E.cast(E.equal(out, t), g.dtype)
        return [g * kept, None, gather_nd(g, idx) * E.cast(E.equal(gather_nd(out, idx), upd), g.dtype)]
    return [None, None, None]


register("TensorScatterNd", _scatter_nd_rule, host=_scatter_nd_host, grad=_grad_scatter_nd)


def _tensor_scatter(mode, tensor, indices, updates, name):
    t = convert_to_tensor(tensor)
    fn = f"tensor_scatter_nd_{mode}"
    return make("TensorScatterNd", [t, convert_to_tensor(indices), convert_to_tensor(updates, dtype=t.dtype)],
                {"mode": mode, "fn": fn}, name=name or f"TensorScatter{mode.capitalize()}")


def tensor_scatter_nd_update(tensor: TensorLike, indices: TensorLike, updates: TensorLike,
                             name: str | None = None) -> Tensor:
    """A copy of `tensor` with updates written at indices (the last axis of indices indexes its first axes)."""
    return _tensor_scatter("update", tensor, indices, updates, name)


def tensor_scatter_nd_add(tensor: TensorLike, indices: TensorLike, updates: TensorLike,
                          name: str | None = None) -> Tensor:
    """A copy of `tensor` with updates added at indices (duplicates add up)."""
    return _tensor_scatter("add", tensor, indices, updates, name)


def tensor_scatter_nd_sub(tensor: TensorLike, indices: TensorLike, updates: TensorLike,
                          name: str | None = None) -> Tensor:
    """A copy of `tensor` with updates subtracted at indices."""
    return _tensor_scatter("sub", tensor, indices, updates, name)


def tensor_scatter_nd_min(tensor: TensorLike, indices: TensorLike, updates: TensorLike,
                          name: str | None = None) -> Tensor:
    """A copy of `tensor` holding the minimum of it and the updates at indices."""
    return _tensor_scatter("min", tensor, indices, updates, name)


def tensor_scatter_nd_max(tensor: TensorLike, indices: TensorLike, updates: TensorLike,
                          name: str | None = None) -> Tensor:
    """A copy of `tensor` holding the maximum of it and the updates at indices."""
    return _tensor_scatter("max", tensor, indices, updates, name)


tensor_scatter_update, tensor_scatter_add, tensor_scatter_sub = (
    tensor_scatter_nd_update, tensor_scatter_nd_add, tensor_scatter_nd_sub)
tensor_scatter_min, tensor_scatter_max = tensor_scatter_nd_min, tensor_scatter_nd_max


# -- on Variables ---------------------------------------------------------------------------------------
def _variable(ref, fn):
    from ..variables import Variable
    if not isinstance(ref, Variable):
        raise TypeError(f"{fn} updates a Variable in place, got {ref!r:.80}")
    return ref


def _assign_nd(mode, ref, indices, updates, name):
    ref = _variable(ref, f"scatter_nd_{mode}")
    with ref.graph.name_scope(name or f"ScatterNd{mode.capitalize()}"):
        return ref.assign(_tensor_scatter(mode, ref.value(), indices, updates, None))


def scatter_nd_update(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = True,
                      name: str | None = None) -> Tensor:
    """ref[indices[i]] = updates[i] (n-dimensional indices); returns the updated value."""
    return _assign_nd("update", ref, indices, updates, name)


def scatter_nd_add(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                   name: str | None = None) -> Tensor:
    """ref[indices[i]] += updates[i]; returns the updated value."""
    return _assign_nd("add", ref, indices, updates, name)


def scatter_nd_sub(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                   name: str | None = None) -> Tensor:
    """ref[indices[i]] -= updates[i]; returns the updated value."""
    return _assign_nd("sub", ref, indices, updates, name)


_ROW_MODES = {"ScatterMul": "mul", "ScatterDiv": "div", "ScatterMin": "min", "ScatterMax": "max"}


def _row_scatter_host(spec):
    combine = _COMBINE[_ROW_MODES[spec.op_type]]

    def scatter(ref, indices, updates):
        flat = np.asarray(indices).reshape(-1).astype(np.int64)
        bad = np.nonzero((flat < 0) | (flat >= ref.shape[0]))[0]
        if bad.size:
            raise InvalidArgumentError(f"{spec.op_type} op '{spec.name}': index {int(flat[bad[0]])} is not in "
                                       f"[0, {ref.shape[0]})")
        out = np.array(ref, copy=True)
        combine.at(out, flat, np.asarray(updates).reshape((flat.size,) + ref.shape[1:]).astype(out.dtype))
        return out
    return scatter


for _op in _ROW_MODES:
    register(_op, _scatter_rule, host=_row_scatter_host)


def _assign_rows(op_type, fn, ref, indices, updates, name):
    ref = _variable(ref, fn)
    with ref.graph.name_scope(name or op_type):
        new = make(op_type, [ref.value(), convert_to_tensor(indices), convert_to_tensor(updates, dtype=ref.dtype)],
                   {"fn": fn}, name=op_type)
        return ref.assign(new)


def scatter_mul(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] *= updates along ref's first axis; returns the updated value."""
    return _assign_rows("ScatterMul", "scatter_mul", ref, indices, updates, name)


def scatter_div(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] /= updates along ref's first axis; returns the updated value."""
    return _assign_rows("ScatterDiv", "scatter_div", ref, indices, updates, name)


def scatter_min(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] = min(ref[indices], updates); returns the updated value."""
    return _assign_rows("ScatterMin", "scatter_min", ref, indices, updates, name)


def scatter_max(ref: Any, indices: TensorLike, updates: TensorLike, use_locking: bool = False,
                name: str | None = None) -> Tensor:
    """ref[indices] = max(ref[indices], updates); returns the updated value."""
    return _assign_rows("ScatterMax", "scatter_max", ref, indices, updates, name)
