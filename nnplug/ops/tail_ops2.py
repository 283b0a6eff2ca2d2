"""More of TF1's long tail: sampling from logits, sorting, tensordot, roll, space/depth rearrangement,
average-norm clipping, set operations and the confusion matrix.

Composites of existing ops where the sizes are known when the graph is built (sort and argsort through
top_k, tensordot through one matmul, roll through slices, space_to_depth through reshape and transpose), so
every backend runs them and they have gradients; host ops where a value sets the output size or draws
(multinomial, unique_with_counts, setdiff1d, confusion_matrix).
"""
from __future__ import annotations

import collections
from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, fmt, normalize_axis
from . import elementwise as E
from .array_ops import identity, reshape, transpose
from .manip_ops import concat
from .math_ops import matmul, reduce_sum
from .registry import register
from .shape_values import constant_value
from .sort_ops import top_k
from .._types import DTypeLike, TensorLike

UniqueWithCounts = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])
SetDiff1D = collections.namedtuple("ListDiff", ["out", "idx"])


def _static_int(value, what, fn):
    """A Python int from an int or a tensor constant when the graph is built, else an error naming `fn`."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    v = constant_value(convert_to_tensor(value))
    if v is None or np.ndim(v) != 0:
        raise TypeError(f"{fn}: {what} must be a Python int or a constant scalar, got {value!r:.60}")
    return int(v)


def _static_shape(x, fn):
    if not x.shape.is_fully_defined():
        raise ShapeError(f"{fn}: '{x.name}' needs a shape known when the graph is built, got {fmt(x.shape)}")
    return [int(d) for d in x.shape]


# -- sampling ------------------------------------------------------------------------------------
def _multinomial_rule(shapes, dtypes, attrs):
    if len(shapes[0]) != 2 or not dtypes[0].is_floating:
        raise ShapeError(f"Multinomial takes floating logits of shape (batch, classes), got {dtypes[0].name} "
                         f"{fmt(shapes[0])}")
    return [(TensorShape([shapes[0][0], attrs["num_samples"]]), attrs["output_dtype"])]


def _multinomial_host(spec):
    rng = spec.rng if isinstance(spec.rng, np.random.Generator) else np.random.default_rng(spec.attrs["seed"])
    n, dtype, name = spec.attrs["num_samples"], spec.attrs["output_dtype"].np, spec.name

    def multinomial(logits):
        z = np.asarray(logits, np.float64)
        if z.shape[1] == 0:
            raise InvalidArgumentError(f"Multinomial op '{name}': the logits have no classes")
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
        u = rng.random((z.shape[0], n))
        picks = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)  # the first class whose cdf exceeds u
        return np.minimum(picks, z.shape[1] - 1).astype(dtype)
    return multinomial


def multinomial(logits: TensorLike, num_samples: int, seed: int | None = None, name: str | None = None,
                output_dtype: DTypeLike | None = None) -> Tensor:
    """num_samples class indices per row of the (batch, classes) unnormalised log-probabilities (int64)."""
    from .random_ops import get_seed
    x = convert_to_tensor(logits)
    attrs = {"num_samples": _static_int(num_samples, "num_samples", "multinomial"), "seed": get_seed(seed),
             "output_dtype": _dt.as_dtype(output_dtype or _dt.int64)}
    if attrs["num_samples"] < 0:
        raise ValueError(f"multinomial of '{x.name}': num_samples must be non-negative, got {num_samples}")
    return make("Multinomial", [x], attrs, name=name or "multinomial")


def categorical(logits: TensorLike, num_samples: int, dtype: DTypeLike | None = None, seed: int | None = None,
                name: str | None = None) -> Tensor:
    """tf.random.categorical: multinomial with the dtype argument named `dtype`."""
    return multinomial(logits, num_samples, seed=seed, name=name or "categorical", output_dtype=dtype)


register("Multinomial", _multinomial_rule, stateful=True, host=_multinomial_host)


# -- sorting ---------------------------------------------------------------------------------------
def _sorted_last(x, axis, direction, fn, body):
    """body(x with `axis` moved last, its size) computed along the last axis, then moved back."""
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{fn}: direction must be 'ASCENDING' or 'DESCENDING', got {direction!r}")
    if x.shape.unknown_rank or x.shape.ndims == 0:
        raise ShapeError(f"{fn}: '{x.name}' needs a known rank of at least 1, got {fmt(x.shape)}")
    rank = x.shape.ndims
    (axis,) = normalize_axis(_static_int(axis, "axis", fn), rank)
    n = x.shape[axis]
    if n is None:
        raise ShapeError(f"{fn}: axis {axis} of '{x.name}' (shape {fmt(x.shape)}) must have a known size")
    perm = [a for a in range(rank) if a != axis] + [axis]
    moved = x if axis == rank - 1 else transpose(x, perm)
    out = body(moved, int(n))
    return out if axis == rank - 1 else transpose(out, list(np.argsort(perm)))


def sort(values: TensorLike, axis: int = -1, direction: str = "ASCENDING", name: str | None = None) -> Tensor:
    """`values` sorted along `axis` (top_k of the whole axis; ascending through negation, as TF does)."""
    x = convert_to_tensor(values)
    with name_scope(name, "sort"):
        if direction == "ASCENDING":
            return _sorted_last(x, axis, direction, "sort", lambda v, n: -top_k(-v, n)[0])
        return _sorted_last(x, axis, direction, "sort", lambda v, n: top_k(v, n)[0])


def argsort(values: TensorLike, axis: int = -1, direction: str = "ASCENDING", stable: bool = False,
            name: str | None = None) -> Tensor:
    """The int32 indices that sort `values` along `axis`; equal values keep their order (always stable)."""
    x = convert_to_tensor(values)
    with name_scope(name, "argsort"):
        if direction == "ASCENDING":
            return _sorted_last(x, axis, direction, "argsort", lambda v, n: top_k(-v, n)[1])
        return _sorted_last(x, axis, direction, "argsort", lambda v, n: top_k(v, n)[1])


# -- tensordot, batch_matmul -----------------------------------------------------------------------
def _tensordot_axes(axes, ra, rb):
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(ra, rb):
            raise ValueError(f"tensordot: axes={axes} must be between 0 and the smaller rank {min(ra, rb)}")
        return list(range(ra - axes, ra)), list(range(axes))
    if isinstance(axes, Tensor):
        axes = constant_value(axes)
        if axes is None:
            raise TypeError("tensordot: axes must be known when the graph is built")
        axes = np.asarray(axes).tolist()
        if isinstance(axes, int):
            return _tensordot_axes(axes, ra, rb)
    a_axes, b_axes = axes
    a_axes = [a_axes] if isinstance(a_axes, (int, np.integer)) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, (int, np.integer)) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot: axes {a_axes} and {b_axes} must have the same length")
    return [int(a) % ra for a in a_axes], [int(b) % rb for b in b_axes]


def tensordot(a: TensorLike, b: TensorLike, axes: int | Sequence[int] | Sequence[Sequence[int]],
              name: str | None = None) -> Tensor:
    """Sum over a's `axes[0]` and b's `axes[1]` of a * b (an int n: a's last n and b's first n axes), as one
    matmul of a (free, contracted) by b (contracted, free); the shapes must be known."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    sa, sb = _static_shape(a, "tensordot"), _static_shape(b, "tensordot")
    a_axes, b_axes = _tensordot_axes(axes, len(sa), len(sb))
    for i, j in zip(a_axes, b_axes):
        if sa[i] != sb[j]:
            raise ShapeError(f"tensordot: axis {i} of '{a.name}' {fmt(a.shape)} and axis {j} of '{b.name}' "
                             f"{fmt(b.shape)} differ in size")
    free_a = [i for i in range(len(sa)) if i not in a_axes]
    free_b = [j for j in range(len(sb)) if j not in b_axes]
    k = int(np.prod([sa[i] for i in a_axes], dtype=np.int64))
    with name_scope(name, "Tensordot"):
        a2 = reshape(transpose(a, free_a + a_axes), [-1 if not free_a else int(np.prod([sa[i] for i in free_a])), k])
        b2 = reshape(transpose(b, b_axes + free_b), [k, int(np.prod([sb[j] for j in free_b], dtype=np.int64))])
        return reshape(matmul(a2, b2), [sa[i] for i in free_a] + [sb[j] for j in free_b])


def batch_matmul(x: TensorLike, y: TensorLike, adj_x: bool = False, adj_y: bool = False,
                 name: str | None = None) -> Tensor:
    """TF1's tf.batch_matmul: matmul of the innermost matrices (adj_* transpose them)."""
    return matmul(x, y, transpose_a=adj_x, transpose_b=adj_y, name=name)


# -- roll, space/depth ---------------------------------------------------------------------------
def roll(input: TensorLike, shift: int | Sequence[int] | TensorLike,  # noqa: A002 - TF1's name
         axis: int | Sequence[int] | TensorLike, name: str | None = None) -> Tensor:
    """Elements shifted by `shift` along `axis` (wrapping round), through slices and a concat per axis;
    shifts and axes must be known when the graph is built, the rolled axes' sizes too."""
    x = convert_to_tensor(input)

    def ints(v, what):
        if isinstance(v, Tensor):
            v = constant_value(v)
            if v is None:
                raise TypeError(f"roll of '{x.name}': {what} must be known when the graph is built")
        return [int(s) for s in np.atleast_1d(np.asarray(v))]
    shifts, axes = ints(shift, "shift"), ints(axis, "axis")
    if len(shifts) != len(axes):
        raise ValueError(f"roll of '{x.name}': shift {shifts} and axis {axes} must have the same length")
    if x.shape.unknown_rank:
        raise ShapeError(f"roll: the rank of '{x.name}' must be known")
    total = collections.defaultdict(int)
    for s, a in zip(shifts, axes):
        (a,) = normalize_axis(a, x.shape.ndims)
        total[a] += s
    with name_scope(name, "Roll"):
        out = x
        for a, s in sorted(total.items()):
            n = x.shape[a]
            if n is None:
                raise ShapeError(f"roll: axis {a} of '{x.name}' (shape {fmt(x.shape)}) must have a known size")
            s = s % int(n) if n else 0
            if s:
                head = (slice(None),) * a
                out = concat([out[head + (slice(int(n) - s, None),)], out[head + (slice(0, int(n) - s),)]], a)
        return identity(out) if out is x else out


def _nhwc(x, fn, data_format):
    if data_format != "NHWC":
        raise ValueError(f"{fn}: only data_format='NHWC' is supported, got {data_format!r}")
    if x.shape.ndims != 4 or any(d is None for d in x.shape[1:]):
        raise ShapeError(f"{fn}: '{x.name}' must be (batch, height, width, channels) with the last three "
                         f"known, got {fmt(x.shape)}")
    return [int(d) for d in x.shape[1:]]


def space_to_depth(input: TensorLike, block_size: int, name: str | None = None,  # noqa: A002
                   data_format: str = "NHWC") -> Tensor:
    """Each block_size x block_size spatial block moved into the channels: (b, h, w, c) ->
    (b, h / bs, w / bs, bs * bs * c)."""
    x = convert_to_tensor(input)
    h, w, c = _nhwc(x, "space_to_depth", data_format)
    bs = int(block_size)
    if bs < 2 or h % bs or w % bs:
        raise ValueError(f"space_to_depth of '{x.name}': block_size {bs} must be >= 2 and divide height {h} and "
                         f"width {w}")
    with name_scope(name, "SpaceToDepth"):
        blocks = reshape(x, [-1, h // bs, bs, w // bs, bs, c])
        return reshape(transpose(blocks, [0, 1, 3, 2, 4, 5]), [-1, h // bs, w // bs, bs * bs * c])


def depth_to_space(input: TensorLike, block_size: int, name: str | None = None,  # noqa: A002
                   data_format: str = "NHWC") -> Tensor:
    """The inverse of space_to_depth: (b, h, w, bs * bs * c) -> (b, h * bs, w * bs, c)."""
    x = convert_to_tensor(input)
    h, w, c = _nhwc(x, "depth_to_space", data_format)
    bs = int(block_size)
    if bs < 2 or c % (bs * bs):
        raise ValueError(f"depth_to_space of '{x.name}': block_size {bs} must be >= 2 and its square divide the "
                         f"{c} channels")
    with name_scope(name, "DepthToSpace"):
        blocks = reshape(x, [-1, h, w, bs, bs, c // (bs * bs)])
        return reshape(transpose(blocks, [0, 1, 3, 2, 4, 5]), [-1, h * bs, w * bs, c // (bs * bs)])


def clip_by_average_norm(t: TensorLike, clip_norm: TensorLike, name: str | None = None) -> Tensor:
    """t * clip_norm / max(l2norm(t) / size(t), clip_norm): the L2 norm averaged over t's elements is at
    most clip_norm (TF1's formula)."""
    t = convert_to_tensor(t)
    n = _static_shape(t, "clip_by_average_norm")
    with name_scope(name, "clip_by_average_norm"):
        c = convert_to_tensor(clip_norm, dtype=t.dtype)
        inv_norm = E.rsqrt(reduce_sum(t * t))
        return t * c * E.minimum(inv_norm * float(np.prod(n, dtype=np.int64)), 1.0 / c)


# -- set operations and counts (host ops) --------------------------------------------------------------
def _vector_rule(fn, outs):
    def rule(shapes, dtypes, attrs):
        for s in shapes:
            if len(s) != 1:
                raise ShapeError(f"{fn} takes vectors, got shape {fmt(s)}")
        if len(dtypes) == 2 and dtypes[0] != dtypes[1]:
            raise ShapeError(f"{fn}: x and y must have the same dtype, got {dtypes[0].name} and {dtypes[1].name}")
        return outs(shapes, dtypes, attrs)
    return rule


def _unique_with_counts_host(spec):
    idx_dtype = spec.attrs["out_idx"].np

    def unique_with_counts(x):
        _, first, inverse, counts = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
        order = np.argsort(first)  # in order of first occurrence, as TF1
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return x[first[order]], rank[inverse.reshape(-1)].astype(idx_dtype), counts[order].astype(idx_dtype)
    return unique_with_counts


register("UniqueWithCounts", _vector_rule("UniqueWithCounts", lambda s, d, a: [
    (TensorShape([None]), d[0]), (s[0], a["out_idx"]), (TensorShape([None]), a["out_idx"])]),
    host=_unique_with_counts_host)


def unique_with_counts(x: TensorLike, out_idx: DTypeLike = _dt.int32, name: str | None = None) -> UniqueWithCounts:
    """(y, idx, count): the distinct values of the vector x in order of first occurrence, x's index into y,
    and how often each occurs."""
    op = make_op("UniqueWithCounts", [convert_to_tensor(x)], {"out_idx": _dt.as_dtype(out_idx)}, name=name)
    return UniqueWithCounts(*op.outputs)


def _setdiff_host(spec):
    idx_dtype = spec.attrs["out_idx"].np

    def setdiff(x, y):
        keep = np.nonzero(~np.isin(x, y))[0]
        return x[keep], keep.astype(idx_dtype)
    return setdiff


register("ListDiff", _vector_rule("ListDiff", lambda s, d, a: [
    (TensorShape([None]), d[0]), (TensorShape([None]), a["out_idx"])]), host=_setdiff_host)


def setdiff1d(x: TensorLike, y: TensorLike, index_dtype: DTypeLike = _dt.int32, name: str | None = None) -> SetDiff1D:
    """(out, idx): the values of x not in y, in x's order (duplicates kept), and their positions in x."""
    x = convert_to_tensor(x)
    op = make_op("ListDiff", [x, convert_to_tensor(y, dtype=x.dtype)], {"out_idx": _dt.as_dtype(index_dtype)},
                 name=name)
    return SetDiff1D(*op.outputs)


def _confusion_rule(shapes, dtypes, attrs):
    for s in shapes:
        if len(s) != 1:
            raise ShapeError(f"confusion_matrix takes vectors of labels, predictions and weights, got {fmt(s)}")
    if not dtypes[0].is_integer or not dtypes[1].is_integer:
        raise ShapeError(f"confusion_matrix: labels and predictions must be integers, got {dtypes[0].name} and "
                         f"{dtypes[1].name}")
    n = attrs["num_classes"]
    return [(TensorShape([n, n]), attrs["dtype"])]


def _confusion_host(spec):
    n, dtype, name = spec.attrs["num_classes"], spec.attrs["dtype"].np, spec.name

    def confusion(labels, predictions, weights=None):
        labels, predictions = labels.astype(np.int64), predictions.astype(np.int64)
        if labels.shape != predictions.shape or (weights is not None and weights.shape != labels.shape):
            raise InvalidArgumentError(f"confusion_matrix op '{name}': labels {labels.shape}, predictions "
                                       f"{predictions.shape} and weights must have the same length")
        for what, v in (("labels", labels), ("predictions", predictions)):
            if v.size and v.min() < 0:
                raise InvalidArgumentError(f"confusion_matrix op '{name}': {what} hold the negative value "
                                           f"{int(v.min())}")
            if n is not None and v.size and v.max() >= n:
                raise InvalidArgumentError(f"confusion_matrix op '{name}': {what} hold {int(v.max())}, not below "
                                           f"num_classes {n}")
        size = n if n is not None else int(max(labels.max(initial=-1), predictions.max(initial=-1))) + 1
        out = np.zeros((size, size), np.float64 if weights is not None else np.int64)
        np.add.at(out, (labels, predictions), 1 if weights is None else weights)
        return out.astype(dtype)
    return confusion


register("ConfusionMatrix", _confusion_rule, host=_confusion_host)


def confusion_matrix(labels: TensorLike, predictions: TensorLike, num_classes: int | None = None,
                     dtype: DTypeLike = _dt.int32, name: str | None = None,
                     weights: TensorLike | None = None) -> Tensor:
    """out[i, j] = the number (or total weight) of examples with label i predicted as j; num_classes
    defaults to the largest label or prediction plus one."""
    inputs = [convert_to_tensor(labels), convert_to_tensor(predictions)]
    if weights is not None:
        inputs.append(convert_to_tensor(weights, dtype=dtype))
    attrs = {"num_classes": None if num_classes is None else _static_int(num_classes, "num_classes",
                                                                         "confusion_matrix"),
             "dtype": _dt.as_dtype(dtype)}
    return make("ConfusionMatrix", inputs, attrs, name=name or "confusion_matrix")
