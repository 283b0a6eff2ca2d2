"""TF1's smaller top-level names: array reshuffles built from gathers, pads, reshapes and transposes (so
every backend runs them and autodiff differentiates them), and the integer bookkeeping ops TF has no
gradient for (searchsorted, unravel_index, invert_permutation, histograms, bitcast) as host ops.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import GraphKeys, Tensor, constant, convert_to_tensor, get_default_graph, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from . import elementwise as E
from .array_ops import gather, reshape, transpose, zeros
from .manip_ops import pad
from .math_ops import divide, floordiv
from .registry import register
from .shape_values import constant_value
from .._types import DTypeLike, TensorLike


def _static(value, what, fn):
    """A value that must be known when the graph is built, as a NumPy array."""
    v = constant_value(value) if isinstance(value, Tensor) else value
    if v is None:
        raise TypeError(f"{fn}: {what} must be known when the graph is built")
    return np.asarray(v)


def _known_shape(x, fn):
    if not x.shape.is_fully_defined():
        raise ShapeError(f"{fn}: the shape of '{x.name}' must be fully known, got {fmt(x.shape)}")
    return [int(d) for d in x.shape]


# -- aliases --------------------------------------------------------------------------------------
floor_div = floordiv
realdiv = divide
rint = E.round  # Round is rint: halves to even, as tf.rint


def truncatemod(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """The remainder of the division rounded toward zero (C's fmod): its sign is the dividend's."""
    x, y = E.pair(x, y)
    with name_scope(name, "TruncateMod"):
        if x.dtype.is_integer:
            return x - E.truncatediv(x, y) * y
        q = x / y
        return x - y * E._where(q < 0, E.ceil(q), E.floor(q))


def div_no_nan(x: TensorLike, y: TensorLike, name: str | None = None) -> Tensor:
    """x / y, and 0 where y is 0 (also for x 0 or inf); the gradient is zero there too."""
    x, y = E.pair(x, y)
    with name_scope(name, "div_no_nan"):
        zero = E.equal(y, E._full_like(y, 0))
        safe = E._where(zero, E._full_like(y, 1), y)
        return E._where(zero, E._full_like(x * y, 0), x / safe)


# -- repeat, broadcast_to, tuple ----------------------------------------------------------------------
def repeat(input: TensorLike, repeats: int | Sequence[int] | TensorLike, axis: int | None = None,  # noqa: A002
           name: str | None = None) -> Tensor:
    """np.repeat: each element (along `axis`; of the flattened input when None) `repeats` times. The
    repeats and the axis size must be known when the graph is built: it is one gather."""
    x = convert_to_tensor(input)
    reps = _static(repeats, "repeats", "repeat").astype(np.int64)
    with name_scope(name, "Repeat"):
        if axis is None:
            x, axis = reshape(x, [-1]), 0
        if x.shape.ndims is None:
            raise ShapeError(f"repeat: the rank of '{x.name}' must be known")
        axis = axis + x.shape.ndims if axis < 0 else axis
        if not 0 <= axis < x.shape.ndims or x.shape[axis] is None:
            raise ShapeError(f"repeat: axis {axis} of '{x.name}' (shape {fmt(x.shape)}) must exist and be known")
        n = int(x.shape[axis])
        if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, n)) or np.any(reps < 0):
            raise ValueError(f"repeat: repeats must be a non-negative scalar or {n} of them for axis {axis} of "
                             f"'{x.name}', got {reps.tolist()}")
        index = np.repeat(np.arange(n), np.broadcast_to(reps.reshape(-1), (n,)))
        return gather(x, constant(index.astype(np.int32)), axis=axis)


def broadcast_to(input: TensorLike, shape: Sequence[int] | TensorLike, name: str | None = None) -> Tensor:  # noqa: A002
    """`input` broadcast to `shape` (NumPy's rules; known when the graph is built); its gradient sums back."""
    x = convert_to_tensor(input)
    target = [int(d) for d in _static(shape, "shape", "broadcast_to").reshape(-1)]
    if x.shape.ndims is not None:
        have = list(x.shape)
        if len(have) > len(target) or any(
                d is not None and d != 1 and d != t for d, t in zip(have[::-1], target[::-1])):
            raise ValueError(f"broadcast_to: '{x.name}' of shape {fmt(x.shape)} cannot be broadcast to {target}")
    with name_scope(name, "BroadcastTo"):
        if x.dtype == _dt.bool_:
            return E.logical_or(x, zeros(target, dtype=_dt.bool_))
        return x + zeros(target, dtype=x.dtype)


def tuple_(tensors: Sequence[Any], name: str | None = None, control_inputs: Sequence[Any] | None = None) -> list[Any]:
    """The tensors again, each available only once all of them (and `control_inputs`) are computed."""
    from ..graph import control_dependencies
    from ..variables import group
    from .array_ops import identity
    with name_scope(name, "tuple"):
        real = [t for t in tensors if t is not None]
        gate = group(*(real + list(control_inputs or [])))
        with control_dependencies([gate]):
            return [None if t is None else identity(t) for t in tensors]


def is_tensor(x: Any) -> bool:
    """True for nnplug's tensor kinds (Tensor, Variable, SparseTensor, IndexedSlices)."""
    from ..sparse import SparseTensor
    from ..variables import Variable
    from .indexed_slices import IndexedSlices
    return isinstance(x, (Tensor, Variable, SparseTensor, IndexedSlices))


# -- collections and variables ---------------------------------------------------------------------
def get_collection_ref(key: str) -> list[Any]:
    """The default graph's list under `key` itself (appending to it adds to the collection)."""
    return get_default_graph().get_collection_ref(key)


def moving_average_variables(scope: str | None = None) -> list[Any]:
    """The variables ExponentialMovingAverage.apply keeps averages of."""
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def get_local_variable(name: str, *args: Any, **kwargs: Any) -> Any:
    """get_variable for a local (not trained, not saved with the globals) variable, as TF1."""
    from ..variables import get_variable
    kwargs["trainable"] = False
    kwargs["collections"] = list(kwargs.get("collections") or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, *args, **kwargs)


class AggregationMethod:
    """How gradients() adds up the gradients of a tensor used more than once; nnplug always adds them
    with one AddN, which every method names a valid choice for."""
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


# -- batch_gather, space_to_batch_nd, batch_to_space_nd: gathers, pads, reshapes -------------------------
def batch_gather(params: TensorLike, indices: TensorLike, name: str | None = None) -> Tensor:
    """out[b..., k] = params[b..., indices[b..., k]]: a gather per batch entry, as one flat gather."""
    p, idx = convert_to_tensor(params), convert_to_tensor(indices)
    if idx.shape.ndims is None or idx.shape.ndims < 1:
        raise ShapeError(f"batch_gather: indices '{idx.name}' need a known rank of at least 1, got {fmt(idx.shape)}")
    nb = idx.shape.ndims - 1
    pshape, ishape = _known_shape(p, "batch_gather"), _known_shape(idx, "batch_gather")
    if len(pshape) <= nb or pshape[:nb] != ishape[:nb]:
        raise ShapeError(f"batch_gather: params {fmt(p.shape)} and indices {fmt(idx.shape)} must share the batch "
                         f"dimensions {ishape[:nb]}")
    with name_scope(name, "BatchGather"):
        batch, n, rest = int(np.prod(ishape[:nb], dtype=np.int64)), pshape[nb], pshape[nb + 1:]
        offsets = constant((np.arange(batch) * n).reshape([batch, 1]).astype(idx.dtype.np))
        flat_idx = reshape(idx, [batch, -1]) + offsets
        rows = gather(reshape(p, [batch * n] + rest), reshape(flat_idx, [-1]))
        return reshape(rows, ishape + rest)


def _blocks(block_shape, pads, fn):
    block = _static(block_shape, "block_shape", fn).astype(np.int64).reshape(-1)
    p = _static(pads, "paddings" if fn == "space_to_batch_nd" else "crops", fn).astype(np.int64).reshape(-1, 2)
    if p.shape[0] != block.size or np.any(block < 1) or np.any(p < 0):
        raise ValueError(f"{fn}: block_shape {block.tolist()} must be positive with one [begin, end] pair of "
                         f"non-negative {'paddings' if fn == 'space_to_batch_nd' else 'crops'} each, got {p.tolist()}")
    return [int(b) for b in block], p.tolist()


def space_to_batch_nd(input: TensorLike, block_shape: Sequence[int] | TensorLike,  # noqa: A002
                      paddings: Sequence[Sequence[int]] | TensorLike, name: str | None = None) -> Tensor:
    """Pads the spatial axes, cuts them into blocks and moves the blocks' offsets into the batch axis."""
    x = convert_to_tensor(input)
    block, pads = _blocks(block_shape, paddings, "space_to_batch_nd")
    shape = _known_shape(x, "space_to_batch_nd")
    m, rest = len(block), shape[1 + len(block):]
    with name_scope(name, "SpaceToBatchND"):
        padded = pad(x, [[0, 0]] + pads + [[0, 0]] * len(rest))
        sizes = [shape[1 + i] + pads[i][0] + pads[i][1] for i in range(m)]
        for i in range(m):
            if sizes[i] % block[i]:
                raise ValueError(f"space_to_batch_nd: padded size {sizes[i]} of axis {i + 1} of '{x.name}' is not a "
                                 f"multiple of its block {block[i]}")
        split = [shape[0]] + [v for i in range(m) for v in (sizes[i] // block[i], block[i])] + rest
        y = reshape(padded, split)
        perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(range(1 + 2 * m, len(split)))
        y = transpose(y, perm)
        return reshape(y, [shape[0] * int(np.prod(block))] + [sizes[i] // block[i] for i in range(m)] + rest)


def batch_to_space_nd(input: TensorLike, block_shape: Sequence[int] | TensorLike,  # noqa: A002
                      crops: Sequence[Sequence[int]] | TensorLike, name: str | None = None) -> Tensor:
    """The inverse of space_to_batch_nd: blocks back from the batch axis into space, then cropped."""
    from .manip_ops import slice as slice_
    x = convert_to_tensor(input)
    block, crop = _blocks(block_shape, crops, "batch_to_space_nd")
    shape = _known_shape(x, "batch_to_space_nd")
    m, prod = len(block), int(np.prod(block))
    if shape[0] % prod:
        raise ValueError(f"batch_to_space_nd: the batch {shape[0]} of '{x.name}' is not a multiple of the blocks' "
                         f"product {prod}")
    batch, spatial, rest = shape[0] // prod, shape[1:1 + m], shape[1 + m:]
    with name_scope(name, "BatchToSpaceND"):
        y = reshape(x, block + [batch] + spatial + rest)
        perm = [m] + [v for i in range(m) for v in (m + 1 + i, i)] + list(range(2 * m + 1, 2 * m + 1 + len(rest)))
        y = reshape(transpose(y, perm), [batch] + [spatial[i] * block[i] for i in range(m)] + rest)
        full = [spatial[i] * block[i] for i in range(m)]
        if any(c[0] + c[1] > f for c, f in zip(crop, full)):
            raise ValueError(f"batch_to_space_nd: crops {crop} exceed the sizes {full} of '{x.name}'")
        return slice_(y, [0] + [c[0] for c in crop] + [0] * len(rest),
                      [batch] + [f - c[0] - c[1] for f, c in zip(full, crop)] + rest)


# -- host ops: searchsorted, unravel_index, invert_permutation, histograms, bitcast, ensure_shape -----------
def _host_op(name, rule, kernel, grad=None, stateful=False):
    """Register a host op whose kernel is kernel(spec, *arrays); NumPy errors name the op."""
    def host(spec):
        def run(*arrays):
            return kernel(spec, *arrays)
        return run
    register(name, rule, grad=grad, host=host, stateful=stateful)


def _searchsorted_rule(shapes, dtypes, attrs):
    seq, vals = shapes
    if len(seq) < 1 or len(seq) != len(vals) or any(
            a is not None and b is not None and a != b for a, b in zip(seq[:-1], vals[:-1])):
        raise ShapeError(f"searchsorted: sorted_sequence {fmt(seq)} and values {fmt(vals)} must have the same "
                         f"rank and leading dimensions")
    return [(vals, attrs["out_type"])]


def _searchsorted(spec, seq, vals):
    side = spec.attrs["side"]
    s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
    out = np.stack([np.searchsorted(a, b, side=side) for a, b in zip(s2, v2)]) if s2.shape[0] else v2.astype(int)
    return out.reshape(vals.shape).astype(spec.out_dtype.np)


_host_op("SearchSorted", _searchsorted_rule, _searchsorted)


def searchsorted(sorted_sequence: TensorLike, values: TensorLike, side: str = "left",
                 out_type: DTypeLike = _dt.int32, name: str | None = None) -> Tensor:
    """For each row of `values`, where each would be inserted into the same row of `sorted_sequence` to
    keep it sorted (the first such place for side='left', the last for 'right')."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    seq = convert_to_tensor(sorted_sequence)
    vals = convert_to_tensor(values, dtype=seq.dtype)
    return make("SearchSorted", [seq, vals], {"side": side, "out_type": _dt.as_dtype(out_type)}, name=name)


def _unravel_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_integer or not dtypes[1].is_integer or len(shapes[1]) != 1:
        raise ShapeError(f"unravel_index: indices and dims must be integers and dims a vector, got {dtypes[0].name} "
                         f"{fmt(shapes[0])} and {dtypes[1].name} {fmt(shapes[1])}")
    return [(TensorShape([shapes[1][0]] + list(shapes[0])), dtypes[0])]


def _unravel(spec, indices, dims):
    size = int(np.prod(dims))
    flat = np.asarray(indices).reshape(-1)
    bad = np.nonzero((flat < 0) | (flat >= size))[0]
    if bad.size:
        raise InvalidArgumentError(f"UnravelIndex op '{spec.name}': index {int(flat[bad[0]])} is not in [0, {size}) "
                                   f"for dims {np.asarray(dims).tolist()}")
    return np.stack(np.unravel_index(indices, tuple(int(d) for d in dims))).astype(spec.out_dtype.np).reshape(
        spec.out_shape)


_host_op("UnravelIndex", _unravel_rule, _unravel)


def unravel_index(indices: TensorLike, dims: TensorLike, name: str | None = None) -> Tensor:
    """The coordinates of flat `indices` in an array of shape `dims`: shape (len(dims),) + indices.shape."""
    idx = convert_to_tensor(indices)
    return make("UnravelIndex", [idx, convert_to_tensor(dims, dtype=idx.dtype)], name=name)


def _invert_rule(shapes, dtypes, attrs):
    if len(shapes[0]) != 1 or not dtypes[0].is_integer:
        raise ShapeError(f"invert_permutation needs an integer vector, got {dtypes[0].name} {fmt(shapes[0])}")
    return [(shapes[0], dtypes[0])]


def _invert(spec, x):
    n = x.size
    if sorted(x.tolist()) != list(range(n)):
        raise InvalidArgumentError(f"InvertPermutation op '{spec.name}': {x.tolist()!r:.80} is not a permutation of "
                                   f"0..{n - 1}")
    out = np.empty_like(x)
    out[x] = np.arange(n, dtype=x.dtype)
    return out


_host_op("InvertPermutation", _invert_rule, _invert)


def invert_permutation(x: TensorLike, name: str | None = None) -> Tensor:
    """y with y[x[i]] = i: the inverse of the permutation x."""
    return make("InvertPermutation", [convert_to_tensor(x)], name=name)


def _histogram_rule(shapes, dtypes, attrs):
    if dtypes[1] != dtypes[0] or tuple(shapes[1]) not in ((2,), (None,)):
        raise ShapeError(f"histogram_fixed_width: value_range must be 2 values of the values' dtype, got "
                         f"{dtypes[1].name} {fmt(shapes[1])}")
    return [(shapes[0] if attrs["bins_only"] else TensorShape([attrs["nbins"]]), attrs["dtype"])]


def _histogram(spec, values, value_range):
    lo, hi = float(value_range[0]), float(value_range[1])
    if not hi > lo:
        raise InvalidArgumentError(f"HistogramFixedWidth op '{spec.name}': value_range [{lo}, {hi}] must be increasing")
    n = spec.attrs["nbins"]
    scaled = (np.asarray(values, np.float64) - lo) / (hi - lo)
    bins = np.clip(np.floor(scaled * n), 0, n - 1).astype(np.int64)  # outside the range: the edge bins
    if spec.attrs["bins_only"]:
        return bins.astype(spec.out_dtype.np)
    return np.bincount(bins.reshape(-1), minlength=n).astype(spec.out_dtype.np)


_host_op("HistogramFixedWidth", _histogram_rule, _histogram)


def _histogram_op(values, value_range, nbins, dtype, name, bins_only):
    x = convert_to_tensor(values)
    n = int(_static(nbins, "nbins", "histogram_fixed_width"))
    if n < 1:
        raise ValueError(f"histogram_fixed_width: nbins must be positive, got {n}")
    return make("HistogramFixedWidth", [x, convert_to_tensor(value_range, dtype=x.dtype)],
                {"nbins": n, "dtype": _dt.as_dtype(dtype), "bins_only": bins_only}, name=name)


def histogram_fixed_width(values: TensorLike, value_range: TensorLike, nbins: int | TensorLike = 100,
                          dtype: DTypeLike = _dt.int32, name: str | None = None) -> Tensor:
    """Counts of `values` in `nbins` equal bins over value_range; values outside go to the edge bins."""
    return _histogram_op(values, value_range, nbins, dtype, name, bins_only=False)


def histogram_fixed_width_bins(values: TensorLike, value_range: TensorLike, nbins: int | TensorLike = 100,
                               dtype: DTypeLike = _dt.int32, name: str | None = None) -> Tensor:
    """The bin (as histogram_fixed_width counts them) of each value, shaped like `values`."""
    return _histogram_op(values, value_range, nbins, dtype, name, bins_only=True)


def _bitcast_rule(shapes, dtypes, attrs):
    src, dst, s = dtypes[0].np.itemsize, attrs["type"].np.itemsize, list(shapes[0])
    if src == dst:
        return [(TensorShape(s), attrs["type"])]
    if src > dst:
        return [(TensorShape(s + [src // dst]), attrs["type"])]
    if not s or s[-1] not in (None, dst // src):
        raise ShapeError(f"bitcast from {dtypes[0].name} to {attrs['type'].name}: the last dimension of "
                         f"{fmt(shapes[0])} must be {dst // src}")
    return [(TensorShape(s[:-1]), attrs["type"])]


_host_op("Bitcast", _bitcast_rule,
         lambda spec, x: np.ascontiguousarray(x).view(spec.out_dtype.np).reshape(spec.out_shape))


def bitcast(input: TensorLike, type: DTypeLike, name: str | None = None) -> Tensor:  # noqa: A002 - TF1's names
    """The same bytes read as `type`: a wider source gains a last axis, a narrower loses it."""
    dtype = _dt.as_dtype(type)
    if dtype == _dt.bool_ or dtype == _dt.string:
        raise TypeError(f"bitcast: cannot reinterpret as {dtype.name}")
    return make("Bitcast", [convert_to_tensor(input)], {"type": dtype}, name=name)


def _ensure_rule(shapes, dtypes, attrs):
    want, have = attrs["shape"], shapes[0]
    if not want.unknown_rank and not have.unknown_rank:
        if len(want) != len(have) or any(a is not None and b is not None and a != b for a, b in zip(want, have)):
            raise ShapeError(f"ensure_shape: shape {fmt(have)} is not compatible with {fmt(want)}")
        return [(TensorShape([a if a is not None else b for a, b in zip(want, have)]), dtypes[0])]
    return [(want if have.unknown_rank else have, dtypes[0])]


register("EnsureShape", _ensure_rule, host=lambda spec: (lambda x: x), grad=lambda op, g: [g])


def ensure_shape(x: TensorLike, shape: Any, name: str | None = None) -> Tensor:
    """x, with its static shape merged with `shape`; an incompatible one is an error naming both."""
    x = convert_to_tensor(x)
    want = TensorShape(shape)
    try:
        return make("EnsureShape", [x], {"shape": want}, name=name)
    except ShapeError as e:
        raise ValueError(f"ensure_shape of '{x.name}': {e}") from None
