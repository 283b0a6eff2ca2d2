"""TF1 math and nn functions that are compositions of existing ops (no kernels of their own): the `to_*`
casts, `scalar_mul`, log_sigmoid, reduce_logsumexp, swish/crelu/xw_plus_b, zero_fraction, two losses,
cumulative sums and products, meshgrid, diagonals, segment sums and two-operand einsum. Last, the host
ops for what has no such composition (value-dependent sizes, indexing by index vectors, matrix inverses,
shuffles): `unique`, `bincount`, `gather_nd` (with its scatter-add gradient), `matrix_inverse`, `random_shuffle`.

Shape-dependent ones (cumsum, diag, segment sums) need the axis they work on known when the graph is built,
and say so naming the tensor otherwise.
"""
from __future__ import annotations

import collections
import math
import re
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt, normalize_axis
from . import elementwise as E
from .array_ops import expand_dims, one_hot, reshape, squeeze, stop_gradient, transpose
from .manip_ops import concat, tile
from .math_ops import matmul, reduce_max, reduce_mean, reduce_prod, reduce_sum, zeros_like
from .shape_values import constant_value
from .nn_ops import bias_add
from .registry import register
from .._types import Axis, DTypeLike, TensorLike

UniqueResult = collections.namedtuple("Unique", ["y", "idx"])  # type: ignore[name-match]  # TF1's name


# -- casts and scaling ---------------------------------------------------------------------------
def to_float(x: TensorLike, name: str = "ToFloat") -> Tensor:
    return E.cast(x, _dt.float32, name=name)


def to_double(x: TensorLike, name: str = "ToDouble") -> Tensor:
    return E.cast(x, _dt.float64, name=name)


def to_int32(x: TensorLike, name: str = "ToInt32") -> Tensor:
    return E.cast(x, _dt.int32, name=name)


def to_int64(x: TensorLike, name: str = "ToInt64") -> Tensor:
    return E.cast(x, _dt.int64, name=name)


def scalar_mul(scalar: TensorLike, x: TensorLike, name: str | None = None) -> Tensor:
    """scalar * x for a Python number or a rank-0 tensor `scalar`."""
    x = convert_to_tensor(x)
    s = convert_to_tensor(scalar, dtype=x.dtype)
    if s.shape.ndims not in (None, 0):
        raise ShapeError(f"scalar_mul: the scalar '{s.name}' has shape {fmt(s.shape)}, not ()")
    return E.multiply(s, x, name=name)


# -- tf.nn ---------------------------------------------------------------------------------------
def swish(features: TensorLike, name: str | None = None) -> Tensor:
    """x * sigmoid(x) (TF1's tf.nn.swish, beta = 1)."""
    x = convert_to_tensor(features)
    with name_scope(name, "swish"):
        return x * E.sigmoid(x)


def crelu(features: TensorLike, axis: int = -1, name: str | None = None) -> Tensor:
    """concat([relu(x), relu(-x)], axis): twice as many channels."""
    x = convert_to_tensor(features)
    with name_scope(name, "CRelu"):
        return concat([E.relu(x), E.relu(-x)], axis)


def xw_plus_b(x: TensorLike, weights: TensorLike, biases: TensorLike, name: str | None = None) -> Tensor:
    """matmul(x, weights) + biases."""
    with name_scope(name, "xw_plus_b"):
        return bias_add(matmul(x, weights), biases)


def zero_fraction(value: TensorLike, name: str | None = None) -> Tensor:
    """The fraction of elements of `value` that are zero (a float32 scalar)."""
    x = convert_to_tensor(value)
    with name_scope(name, "zero_fraction"):
        return reduce_mean(E.cast(E.equal(x, zeros_like(x)), _dt.float32))


def weighted_cross_entropy_with_logits(targets: TensorLike | None = None, logits: TensorLike | None = None,
                                       pos_weight: TensorLike | None = None, name: str | None = None,
                                       labels: TensorLike | None = None) -> Tensor:
    """Sigmoid cross-entropy with the positive term weighted by pos_weight (TF1's stable form:
    (1 - z) x + (1 + (q - 1) z) (log(1 + exp(-|x|)) + max(-x, 0)))."""
    if targets is None:
        targets = labels
    if targets is None or logits is None or pos_weight is None:
        raise ValueError("weighted_cross_entropy_with_logits needs targets, logits and pos_weight")
    x = convert_to_tensor(logits)
    z = convert_to_tensor(targets, dtype=x.dtype)
    q = convert_to_tensor(pos_weight, dtype=x.dtype)
    with name_scope(name, "logistic_loss"):
        log_weight = 1.0 + (q - 1.0) * z
        return (1.0 - z) * x + log_weight * (E.log1p(E.exp(-E.abs(x))) + E.relu(-x))


def log_poisson_loss(targets: TensorLike, log_input: TensorLike, compute_full_loss: bool = False,
                     name: str | None = None) -> Tensor:
    """exp(c) - z c, plus Stirling's approximation z log z - z + log(2 pi z) / 2 where z > 1 when
    compute_full_loss (TF1's definition)."""
    c = convert_to_tensor(log_input)
    z = convert_to_tensor(targets, dtype=c.dtype)
    with name_scope(name, "log_poisson_loss"):
        loss = E.exp(c) - z * c
        if not compute_full_loss:
            return loss
        safe = E.maximum(z, 1.0)  # the log is taken only where it is used
        stirling = safe * E.log(safe) - safe + 0.5 * E.log(2.0 * math.pi * safe)
        return loss + E._where(E.greater(z, 1.0), stirling, zeros_like(z))


def log_sigmoid(x: TensorLike, name: str | None = None) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    x = convert_to_tensor(x)
    with name_scope(name, "LogSigmoid"):
        return -E.softplus(-x)


def reduce_logsumexp(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False,
                     name: str | None = None, reduction_indices: Axis = None,
                     keep_dims: bool | None = None) -> Tensor:
    """log(sum(exp(x))) over `axis`, computed around the maximum so large values do not overflow; an
    all -inf slice gives -inf, as TF1."""
    x = convert_to_tensor(input_tensor)
    axis = reduction_indices if axis is None else axis
    keepdims = bool(keep_dims) if keep_dims is not None else keepdims
    with name_scope(name, "ReduceLogSumExp"):
        top = reduce_max(x, axis=axis, keepdims=True)
        top = stop_gradient(E._where(E.is_finite(top), top, zeros_like(top)))
        out = E.log(reduce_sum(E.exp(x - top), axis=axis, keepdims=True)) + top
        return out if keepdims else squeeze_axes(out, x, axis)


def squeeze_axes(out: Tensor, x: Tensor, axis: Axis) -> Tensor:
    """`out` (reduced with keepdims) without the reduced axes."""
    if axis is None:
        return reshape(out, [])
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return squeeze(out, axis=[int(a) for a in axes]) if axes else out


# -- cumulative sums and products ----------------------------------------------------------------
def _static_axis(x, axis, fn):
    """(axis, its size) of `x`, both known when the graph is built, or an error naming `fn` and `x`."""
    if x.shape.unknown_rank:
        raise ShapeError(f"{fn}: the rank of '{x.name}' must be known; give its placeholder a shape")
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fn}: axis must be a Python int, got {axis!r:.40}")
    (axis,) = normalize_axis(int(axis), len(x.shape))
    n = x.shape[axis]
    if n is None:
        raise ShapeError(f"{fn}: axis {axis} of '{x.name}' (shape {fmt(x.shape)}) must have a size known when "
                         f"the graph is built")
    return axis, n


def _cumulative(x, axis, exclusive, reverse_, reduce, neutral, fn, name):
    """reduce over i of where(T[i, j], x[i], neutral) along `axis`: T picks the elements that reach j."""
    x = convert_to_tensor(x)
    axis, n = _static_axis(x, axis, fn)
    i, j = np.indices((n, n))
    picks = (i >= j if reverse_ else i <= j) & ((i != j) if exclusive else True)
    rank = len(x.shape)
    with name_scope(name, fn):
        perm = [a for a in range(rank) if a != axis] + [axis]
        last = transpose(x, perm) if axis != rank - 1 else x
        terms = E._where(constant(picks), expand_dims(last, -1), constant(neutral, dtype=x.dtype))
        out = reduce(terms, axis=-2)
        return transpose(out, list(np.argsort(perm))) if axis != rank - 1 else out


def cumsum(x: TensorLike, axis: int = 0, exclusive: bool = False, reverse: bool = False,
           name: str | None = None) -> Tensor:
    """Running sums along a static axis (TF1's exclusive/reverse flags)."""
    return _cumulative(x, axis, exclusive, reverse, reduce_sum, 0, "cumsum", name)


def cumprod(x: TensorLike, axis: int = 0, exclusive: bool = False, reverse: bool = False,
            name: str | None = None) -> Tensor:
    """Running products along a static axis (TF1's exclusive/reverse flags)."""
    return _cumulative(x, axis, exclusive, reverse, reduce_prod, 1, "cumprod", name)


# -- grids and diagonals -------------------------------------------------------------------------
def _static_length(v, fn):
    n = v.shape[0] if v.shape.ndims == 1 else None
    if n is None:
        raise ShapeError(f"{fn}: '{v.name}' must be a vector of known length, got shape {fmt(v.shape)}")
    return n


def meshgrid(*args: TensorLike, **kwargs: Any) -> list[Tensor]:
    """N-D coordinate grids from N vectors; indexing='xy' (default, Cartesian) swaps the first two axes."""
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"meshgrid: unexpected arguments {sorted(kwargs)}")
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    vs = [convert_to_tensor(a) for a in args]
    sizes = [_static_length(v, "meshgrid") for v in vs]
    order = list(range(len(vs)))
    if indexing == "xy" and len(vs) >= 2:
        order[0], order[1] = 1, 0  # output axis k holds input order[k]
    full = [sizes[o] for o in order]
    outs = []
    with name_scope(name, "meshgrid"):
        for i, v in enumerate(vs):
            at = order.index(i)
            shaped = [1] * len(vs)
            shaped[at] = sizes[i]
            multiples = [1 if k == at else d for k, d in enumerate(full)]
            outs.append(tile(reshape(v, shaped), multiples))
    return outs


def _eye_bool(m, n=None):
    return constant(np.eye(m, m if n is None else n, dtype=bool))


def matrix_diag(diagonal: TensorLike, name: str = "MatrixDiag") -> Tensor:
    """(..., n) -> (..., n, n) with `diagonal` on the diagonal of each matrix, zeros elsewhere."""
    d = convert_to_tensor(diagonal)
    axis, n = _static_axis(d, -1, "matrix_diag")
    with name_scope(name, "MatrixDiag"):
        return E._where(_eye_bool(n), expand_dims(d, -1), constant(0, dtype=d.dtype))


def diag(diagonal: TensorLike, name: str | None = None) -> Tensor:
    """A rank-2k tensor with `diagonal` (rank k, known shape) on its diagonal: out[i.., i..] = diagonal[i..]."""
    d = convert_to_tensor(diagonal)
    if not d.shape.is_fully_defined() or d.shape.ndims == 0:
        raise ShapeError(f"diag: '{d.name}' needs a fully known shape of rank >= 1, got {fmt(d.shape)}")
    shape = [int(s) for s in d.shape]
    with name_scope(name, "Diag"):
        flat = matrix_diag(reshape(d, [-1]))
        return reshape(flat, shape + shape)


def matrix_diag_part(input: TensorLike, name: str = "matrix_diag_part") -> Tensor:  # noqa: A002 - TF1's name
    """(..., m, n) -> (..., min(m, n)): the main diagonal of each matrix."""
    x = convert_to_tensor(input)
    if x.shape.ndims is None or x.shape.ndims < 2 or x.shape[-1] is None or x.shape[-2] is None:
        raise ShapeError(f"matrix_diag_part: '{x.name}' needs rank >= 2 with the last two sizes known, "
                         f"got {fmt(x.shape)}")
    m, n = int(x.shape[-2]), int(x.shape[-1])
    with name_scope(name, "MatrixDiagPart"):
        picked = E._where(_eye_bool(m, n), x, constant(0, dtype=x.dtype))
        out = reduce_sum(picked, axis=-1)  # (..., m): row i holds x[i, i] (zero for i >= n)
        k = min(m, n)
        return out if k == m else out[..., :k]


def trace(x: TensorLike, name: str | None = None) -> Tensor:
    """The sum of each innermost matrix's diagonal (TF1's tf.trace)."""
    return reduce_sum(matrix_diag_part(x), axis=-1, name=name)


diag_part = matrix_diag_part  # TF1's tf.diag_part of a matrix


# -- segment sums --------------------------------------------------------------------------------
def unsorted_segment_sum(data: TensorLike, segment_ids: TensorLike, num_segments: int | TensorLike,
                         name: str | None = None) -> Tensor:
    """out[k] = sum of data[i] where segment_ids[i] == k (ids outside [0, num_segments) are dropped):
    one one-hot matrix product, so every backend runs it and it has a gradient."""
    x = convert_to_tensor(data)
    ids = convert_to_tensor(segment_ids)
    if not ids.dtype.is_integer:
        raise TypeError(f"unsorted_segment_sum: segment_ids '{ids.name}' must be integers, got {ids.dtype.name}")
    if isinstance(num_segments, (int, np.integer)):
        num = int(num_segments)
    else:
        value = constant_value(convert_to_tensor(num_segments))
        if value is None:
            raise TypeError("unsorted_segment_sum: num_segments must be known when the graph is built")
        num = int(value)
    if ids.shape.ndims is None or x.shape.ndims is None:
        raise ShapeError(f"unsorted_segment_sum: the ranks of '{x.name}' and '{ids.name}' must be known")
    k = ids.shape.ndims
    rest = list(x.shape)[k:]
    lead = list(x.shape)[:k]
    if any(d is None for d in rest) or len(lead) != k or any(
            p is not None and q is not None and p != q for p, q in zip(lead, ids.shape)):
        raise ShapeError(f"unsorted_segment_sum: data '{x.name}' with shape {fmt(x.shape)} must start with "
                         f"segment_ids' shape {fmt(ids.shape)} and have the rest known")
    with name_scope(name, "UnsortedSegmentSum"):
        hot = one_hot(reshape(ids, [-1]), num, dtype=x.dtype)  # (n, num)
        flat = reshape(x, [-1, int(np.prod(rest, dtype=np.int64))])
        return reshape(matmul(hot, flat, transpose_a=True), [num] + [int(d) for d in rest])


def segment_sum(data: TensorLike, segment_ids: TensorLike, name: str | None = None) -> Tensor:
    """Sums over runs of equal, sorted segment ids; the ids must be constant (their largest sets the
    output's size), else use unsorted_segment_sum with num_segments."""
    ids = convert_to_tensor(segment_ids)
    value = constant_value(ids)
    if value is None:
        raise TypeError(f"segment_sum: segment_ids '{ids.name}' must be a constant here (their values set the "
                        f"output size); use unsorted_segment_sum(data, ids, num_segments)")
    value = np.asarray(value).reshape(-1)
    if value.size and (np.any(np.diff(value) < 0) or value[0] < 0):
        raise ValueError(f"segment_sum: segment_ids '{ids.name}' must be sorted and non-negative, got "
                         f"{value.tolist()!r:.80}")
    return unsorted_segment_sum(data, ids, int(value.max()) + 1 if value.size else 0, name=name or "SegmentSum")


# -- einsum: the two-operand spellings, through transpose, reshape and one batched matmul ------------
_EINSUM = re.compile(r"^([a-z]+),([a-z]+)->([a-z]*)$")


def einsum(equation: str, *inputs: TensorLike, name: str | None = None) -> Tensor:
    """Two-operand einsum ('ij,jk->ik', 'bij,bjk->bik', 'i,i->', 'ij->ji' is not included): each index
    is a batch index (in both inputs and the output), a contracted one (both inputs, not the output) or a
    free one (one input and the output)."""
    eq = equation.replace(" ", "")
    m = _EINSUM.match(eq)
    if m is None or len(inputs) != 2:
        raise ValueError(f"einsum: only 'ab,bc->ac'-style equations of two operands without repeated indices "
                         f"are supported, got {equation!r} with {len(inputs)} operands")
    sa, sb, so = m.groups()
    a, b = convert_to_tensor(inputs[0]), convert_to_tensor(inputs[1])
    for spec, t in ((sa, a), (sb, b)):
        if len(set(spec)) != len(spec) or t.shape.ndims != len(spec):
            raise ValueError(f"einsum {equation!r}: '{t.name}' with shape {fmt(t.shape)} does not match '{spec}'")
    if len(set(so)) != len(so) or set(so) - set(sa) - set(sb):
        raise ValueError(f"einsum {equation!r}: the output indices must be distinct and come from the inputs")
    batch = [c for c in sa if c in sb and c in so]
    contract = [c for c in sa if c in sb and c not in so]
    free_a = [c for c in sa if c not in sb]
    free_b = [c for c in sb if c not in sa]
    if set(free_a + free_b) - set(so):
        raise ValueError(f"einsum {equation!r}: summing an index of one operand alone is not supported")
    dims = {}
    for spec, t in ((sa, a), (sb, b)):
        for c, d in zip(spec, t.shape):
            if d is None:
                raise ShapeError(f"einsum {equation!r}: '{t.name}' needs a fully known shape, got {fmt(t.shape)}")
            if dims.setdefault(c, int(d)) != int(d):
                raise ShapeError(f"einsum {equation!r}: index '{c}' has sizes {dims[c]} and {int(d)}")

    def size(cs):
        return int(np.prod([dims[c] for c in cs], dtype=np.int64))

    with name_scope(name, "einsum"):
        a3 = reshape(transpose(a, [sa.index(c) for c in batch + free_a + contract]),
                     [size(batch), size(free_a), size(contract)])
        b3 = reshape(transpose(b, [sb.index(c) for c in batch + contract + free_b]),
                     [size(batch), size(contract), size(free_b)])
        out = reshape(matmul(a3, b3), [dims[c] for c in batch + free_a + free_b])
        have = batch + free_a + free_b
        perm = [have.index(c) for c in so]
        return out if perm == list(range(len(perm))) else transpose(out, perm)


# -- host ops: value-dependent sizes, indexing and linear algebra every backend runs on the host -------
def _unique_rule(shapes, dtypes, attrs):
    if len(shapes[0]) != 1:
        raise ShapeError(f"Unique takes a vector, got shape {fmt(shapes[0])}")
    return [(TensorShape([None]), dtypes[0]), (shapes[0], attrs["out_idx"])]


def _unique_host(spec):
    idx_dtype = spec.attrs["out_idx"].np

    def unique(x):
        _, first, inverse = np.unique(x, return_index=True, return_inverse=True)
        order = np.argsort(first)  # TF1 keeps the order of first occurrence, not sorted order
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return x[np.sort(first)], rank[inverse.reshape(-1)].astype(idx_dtype)
    return unique


register("Unique", _unique_rule, host=_unique_host)


def unique(x: TensorLike, out_idx: DTypeLike = _dt.int32, name: str | None = None) -> tuple[Tensor, Tensor]:
    """(y, idx): the distinct values of the vector x in order of first occurrence, and x's index into y."""
    x = convert_to_tensor(x)
    op = make_op("Unique", [x], {"out_idx": _dt.as_dtype(out_idx)}, name=name)
    return UniqueResult(*op.outputs)


def _bincount_rule(shapes, dtypes, attrs):
    if len(shapes) == 2 and shapes[1] != shapes[0]:
        raise ShapeError(f"Bincount: weights of shape {fmt(shapes[1])} must match arr's shape {fmt(shapes[0])}")
    return [(TensorShape([None]), attrs["dtype"])]


def _bincount_host(spec):
    lo, hi, dtype, name = spec.attrs["minlength"], spec.attrs["maxlength"], spec.attrs["dtype"].np, spec.name

    def bincount(arr, weights=None):
        arr = np.asarray(arr).reshape(-1)
        if arr.size and arr.min() < 0:
            raise InvalidArgumentError(f"Bincount op '{name}': arr has the negative value {int(arr.min())}")
        w = None if weights is None else np.asarray(weights).reshape(-1)
        if hi is not None:
            keep = arr < hi
            arr, w = arr[keep], (None if w is None else w[keep])
        out = np.bincount(arr, weights=w, minlength=lo or 0)
        return (out[:hi] if hi is not None else out).astype(dtype)
    return bincount


register("Bincount", _bincount_rule, host=_bincount_host)


def bincount(arr: TensorLike, weights: TensorLike | None = None, minlength: int | None = None,
             maxlength: int | None = None, dtype: DTypeLike = _dt.int32, name: str | None = None) -> Tensor:
    """Counts of each value 0, 1, ... in the int32 tensor `arr` (sums of `weights` when given); the
    length is max(arr) + 1, at least minlength and at most maxlength."""
    arr = convert_to_tensor(arr)
    if not arr.dtype.is_integer:
        raise TypeError(f"bincount: arr '{arr.name}' must be integers, got {arr.dtype.name}")
    inputs = [arr]
    if weights is not None:
        weights = convert_to_tensor(weights)
        inputs.append(weights)
        dtype = weights.dtype
    attrs = {"minlength": None if minlength is None else int(minlength),
             "maxlength": None if maxlength is None else int(maxlength), "dtype": _dt.as_dtype(dtype)}
    return make("Bincount", inputs, attrs, name=name or "bincount")


def _gather_nd_shape(params, indices, fn):
    if len(indices) == 0 or indices[-1] is None or indices[-1] > len(params):
        raise ShapeError(f"{fn}: indices of shape {fmt(indices)} need a known last size of at most the rank of "
                         f"params {fmt(params)}")
    return TensorShape(list(indices[:-1]) + list(params[indices[-1]:]))


def _gather_nd_rule(shapes, dtypes, attrs):
    if not dtypes[1].is_integer:
        raise ShapeError(f"GatherNd: indices must be integers, got {dtypes[1].name}")
    return [(_gather_nd_shape(shapes[0], shapes[1], "GatherNd"), dtypes[0])]


def _checked_index(name, params_shape, idx):
    """The index tuple into params for NumPy, refusing indices outside the shape (TF1 on the CPU)."""
    k = idx.shape[-1]
    flat = idx.reshape(-1, k)
    bound = np.asarray(params_shape[:k])
    bad = np.nonzero(((flat < 0) | (flat >= bound)).any(1))[0]
    if bad.size:
        raise InvalidArgumentError(f"{name}: index {flat[bad[0]].tolist()} is out of bounds for params of shape "
                                   f"{tuple(params_shape)}")
    return tuple(flat.T)


def _gather_nd_host(spec):
    name, out_shape = f"GatherNd op '{spec.name}'", tuple(spec.out_shape)

    def gather_nd(params, indices):
        return params[_checked_index(name, params.shape, indices)].reshape(out_shape)
    return gather_nd


def _gather_nd_grad_host(spec):
    name, shape, dtype = f"GatherNdGrad op '{spec.name}'", tuple(spec.out_shape), spec.out_dtype.np

    def scatter(g, indices, params):
        out = np.zeros(shape, dtype)
        key = _checked_index(name, shape, indices)
        np.add.at(out, key, np.asarray(g).reshape((len(key[0]),) + shape[indices.shape[-1]:]))
        return out
    return scatter


register("GatherNd", _gather_nd_rule, host=_gather_nd_host,
         grad=lambda op, g: [make("GatherNdGrad", [g, op.inputs[1], op.inputs[0]]), None])
register("GatherNdGrad", lambda shapes, dtypes, attrs: [(shapes[2], dtypes[0])], host=_gather_nd_grad_host,
         shape_inputs=(2,), grad=lambda op, gg: [make("GatherNd", [gg, op.inputs[1]]), None, None])


def gather_nd(params: TensorLike, indices: TensorLike, name: str | None = None) -> Tensor:
    """params[indices[..., :]]: the last axis of indices indexes the first axes of params."""
    return make("GatherNd", [convert_to_tensor(params), convert_to_tensor(indices)], name=name)


def _inverse_rule(shapes, dtypes, attrs):
    s = shapes[0]
    if len(s) < 2 or (s[-1] is not None and s[-2] is not None and s[-1] != s[-2]) or not dtypes[0].is_floating:
        raise ShapeError(f"MatrixInverse needs floating square matrices (..., n, n), got {dtypes[0].name} "
                         f"{fmt(s)}")
    return [(s, dtypes[0])]


def _inverse_host(spec):
    adjoint, name = spec.attrs["adjoint"], spec.name

    def inverse(a):
        try:
            inv = np.linalg.inv(np.swapaxes(a, -1, -2) if adjoint else a)
        except np.linalg.LinAlgError:
            raise InvalidArgumentError(f"MatrixInverse op '{name}': the input is not invertible") from None
        return inv.astype(a.dtype, copy=False)
    return inverse


def _grad_inverse(op, g):
    inv = op.outputs[0]  # d(A^-1) = -A^-1 dA A^-1, so dA = -A^-T g A^-T (transposed when adjoint)
    ga = -matmul(matmul(inv, g, transpose_a=True), inv, transpose_b=True)
    return [transpose_last(ga) if op.attrs["adjoint"] else ga]


def transpose_last(x: Tensor) -> Tensor:
    rank = x.shape.ndims
    return transpose(x, list(range(rank - 2)) + [rank - 1, rank - 2])


register("MatrixInverse", _inverse_rule, host=_inverse_host, grad=_grad_inverse)


def matrix_inverse(input: TensorLike, adjoint: bool = False,  # noqa: A002 - TF1's name
                   name: str | None = None) -> Tensor:
    """The inverse of each square matrix in the last two axes (of its transpose when adjoint)."""
    return make("MatrixInverse", [convert_to_tensor(input)], {"adjoint": bool(adjoint)}, name=name)


def _shuffle_host(spec):
    rng = spec.rng if isinstance(spec.rng, np.random.Generator) else np.random.default_rng(spec.attrs["seed"])
    return lambda x: x[rng.permutation(x.shape[0])] if np.ndim(x) else x


register("RandomShuffle", lambda shapes, dtypes, attrs: [(shapes[0], dtypes[0])], stateful=True,
         host=_shuffle_host)


def random_shuffle(value: TensorLike, seed: int | None = None, name: str | None = None) -> Tensor:
    """`value` with its first axis randomly permuted, seeded as TF1's random ops (graph and op seed)."""
    from .random_ops import get_seed
    return make("RandomShuffle", [convert_to_tensor(value)], {"seed": get_seed(seed)}, name=name)
