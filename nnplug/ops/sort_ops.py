"""`tf.nn.top_k` and `tf.nn.in_top_k`: host ops (sorting has no Array-API kernel every backend shares).

top_k's gradient scatters the values' gradient back to the indices (`TopKGrad`, also on the host).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, make, make_op
from ..shapes import ShapeError, TensorShape, fmt
from .registry import register
from .._types import TensorLike


def _top_k_rule(shapes, dtypes, attrs):
    x, k = shapes[0], attrs["k"]
    if len(x) < 1:
        raise ShapeError("top_k needs an input of rank >= 1, got a scalar")
    if dtypes[0].is_bool:
        raise ShapeError("top_k needs a numeric input, got bool")
    if x[-1] is not None and k > x[-1]:
        raise ShapeError(f"k ({k}) must not exceed the last dimension ({x[-1]}) of the input of shape {fmt(x)}")
    out = TensorShape(tuple(x[:-1]) + (k,))
    return [(out, dtypes[0]), (out, _dt.int32)]


def descending_order(x: np.ndarray) -> np.ndarray:
    """Indices sorting the last axis from largest to smallest, equal values by increasing index (as TF1):
    a stable ascending sort of the reversed row, read backwards."""
    n = x.shape[-1]
    return (n - 1 - np.argsort(x[..., ::-1], axis=-1, kind="stable"))[..., ::-1]


def _top_k_host(spec):
    k, dtype = spec.attrs["k"], spec.out_dtype.np

    def top_k(x):
        idx = descending_order(x)[..., :k]
        return np.take_along_axis(x, idx, axis=-1).astype(dtype), idx.astype(np.int32)
    return top_k


def _grad_top_k(op, g_values, g_indices=None):
    if g_values is None or not op.inputs[0].dtype.is_floating:
        return [None]
    return [make("TopKGrad", [g_values, op.outputs[1], op.inputs[0]])]


def _top_k_grad_host(spec):
    shape, dtype = tuple(spec.out_shape), spec.out_dtype.np

    def scatter(g, idx, x):
        out = np.zeros(shape, dtype)
        np.put_along_axis(out, idx.astype(np.int64), g, axis=-1)
        return out
    return scatter


register("TopKV2", _top_k_rule, grad=_grad_top_k, host=_top_k_host)
register("TopKGrad", lambda s, d, a: [(s[2], d[0])], host=_top_k_grad_host)


def top_k(input: TensorLike, k: int = 1, sorted: bool = True,  # noqa: A002 - TF1's names
          name: str | None = None) -> tuple[Tensor, ...]:
    """(values, indices): the k largest entries of each row (last axis), largest first; indices int32.
    Equal values come in order of their index (`sorted=False` gives the same order)."""
    x = convert_to_tensor(input)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise TypeError(f"top_k of '{x.name}': k must be a non-negative Python int, got {k!r:.40}")
    op = make_op("TopKV2", [x], {"k": int(k)}, name=name or "TopKV2")
    return tuple(op.outputs)


def _in_top_k_rule(shapes, dtypes, attrs):
    p, t = shapes
    if len(p) != 2 or len(t) != 1:
        raise ShapeError(f"predictions must be a matrix (batch, classes) and targets a vector (batch,), got "
                         f"{fmt(p)} and {fmt(t)}")
    if not dtypes[0].is_floating or not dtypes[1].is_integer:
        raise ShapeError(f"predictions must be floating-point and targets integers, got {dtypes[0].name} and "
                         f"{dtypes[1].name}")
    if p[0] is not None and t[0] is not None and p[0] != t[0]:
        raise ShapeError(f"predictions {fmt(p)} and targets {fmt(t)} have different batch sizes")
    return [(TensorShape([p[0] if p[0] is not None else t[0]]), _dt.bool_)]


def _in_top_k_host(spec):
    k = spec.attrs["k"]

    def in_top_k(p, t):
        """TF1's rule: the target is in the top k when fewer than k classes score strictly higher; an
        out-of-range target or a non-finite score in the row gives False."""
        t = t.astype(np.int64)
        valid = (t >= 0) & (t < p.shape[1])
        target = p[np.arange(p.shape[0]), np.where(valid, t, 0)]
        higher = (p > target[:, None]).sum(axis=1)
        return valid & np.isfinite(p).all(axis=1) & (higher < k)
    return in_top_k


register("InTopK", _in_top_k_rule, host=_in_top_k_host)


def in_top_k(predictions: TensorLike, targets: TensorLike, k: int, name: str | None = None) -> Tensor:
    """Whether each target class is among the k highest predictions of its row (ties count as in)."""
    p, t = convert_to_tensor(predictions), convert_to_tensor(targets)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"in_top_k: k must be a Python int, got {k!r:.40}")
    return make("InTopK", [p, t], {"k": int(k)}, name=name or "InTopKV2")
