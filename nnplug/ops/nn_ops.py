"""Softmax and cross-entropy: composite ops that a backend may run as one fused kernel; otherwise the
compiler expands them into primitives with the numerically stable (max-shifted) formulas."""
from __future__ import annotations

from ..graph import Tensor, convert_to_tensor, make, make_op, name_scope
from ..shapes import ShapeError, TensorShape, normalize_axis
from . import math_ops as M
from .array_ops import expand_dims, reshape, stop_gradient
from .elementwise import elu, leaky_relu, selu, softplus, softsign  # noqa: F401 - nnplug.nn's activations
from .registry import register
from .._types import ShapeLike, TensorLike


def _lse_parts(b, x, axis):
    """Shifted logits and log-sum-exp, the stable core of softmax."""
    m = b.emit("ReduceMax", [x], {"axis": axis, "keepdims": True})
    shifted = b.emit("Sub", [x, m])
    lse = b.emit("Log", [b.emit("ReduceSum", [b.emit("Exp", [shifted])], {"axis": axis, "keepdims": True})])
    return shifted, lse


def _expand_softmax(b, ins, attrs):
    shifted, lse = _lse_parts(b, ins[0], attrs["axis"])
    return [b.emit("Exp", [b.emit("Sub", [shifted, lse])])]


def _expand_log_softmax(b, ins, attrs):
    shifted, lse = _lse_parts(b, ins[0], attrs["axis"])
    return [b.emit("Sub", [shifted, lse])]


def _grad_softmax(op, g):
    y = op.outputs[0]
    axis = op.attrs["axis"]
    return [(g - M.reduce_sum(g * y, axis, keepdims=True)) * y]


def _grad_log_softmax(op, g):
    axis = op.attrs["axis"]
    return [g - M.exp(op.outputs[0]) * M.reduce_sum(g, axis, keepdims=True)]


def _softmax_rule(shapes, dtypes, attrs):
    if not dtypes[0].is_floating:
        raise ShapeError(f"softmax needs floating-point logits, got {dtypes[0].name}")
    normalize_axis(attrs["axis"], len(shapes[0]))
    return [(shapes[0], dtypes[0])]


register("Softmax", _softmax_rule, grad=_grad_softmax, expand=_expand_softmax)
register("LogSoftmax", _softmax_rule, grad=_grad_log_softmax, expand=_expand_log_softmax)


def _xent_rule(shapes, dtypes, attrs):
    logits, labels = shapes
    if not dtypes[0].is_floating:
        raise ShapeError(f"logits must be floating-point, got {dtypes[0].name}")
    if len(logits) < 1:
        raise ShapeError("logits must have a class dimension")
    if attrs["sparse"]:
        if not dtypes[1].is_integer:
            raise ShapeError(f"sparse labels must be integer class ids, got {dtypes[1].name}")
        expected = TensorShape(logits[:-1])
    else:
        if dtypes[1] != dtypes[0]:
            raise ShapeError(f"labels ({dtypes[1].name}) and logits ({dtypes[0].name}) must have the same dtype")
        expected = logits
    if len(labels) != len(expected) or any(a is not None and b is not None and a != b
                                           for a, b in zip(labels, expected)):
        raise ShapeError(f"labels of shape {labels} do not match logits of shape {logits} "
                         f"(labels must have shape {expected})")
    out = TensorShape(logits[:-1])
    return [(out, dtypes[0]), (logits, dtypes[0])]


def _expand_xent(b, ins, attrs):
    logits, labels = ins
    shifted, lse = _lse_parts(b, logits, -1)
    log_p = b.emit("Sub", [shifted, lse])
    if attrs["sparse"]:
        labels = b.emit("OneHot", [labels], {"depth": logits.shape[-1], "on_value": 1, "off_value": 0,
                                             "axis": -1, "dtype": logits.dtype})
        total = None
    else:
        total = b.emit("ReduceSum", [labels], {"axis": -1, "keepdims": True})
    loss = b.emit("Neg", [b.emit("ReduceSum", [b.emit("Mul", [labels, log_p])], {"axis": -1, "keepdims": False})])
    p = b.emit("Exp", [log_p])
    if total is not None:
        p = b.emit("Mul", [p, total])
    return [loss, b.emit("Sub", [p, labels])]


def _grad_xent(op, g, _g_backprop=None):
    logits, labels = op.inputs
    g_col = expand_dims(g, -1)
    g_logits = g_col * op.outputs[1]
    if op.attrs["sparse"]:
        return [g_logits, None]
    return [g_logits, g_col * -log_softmax(logits)]


register("SoftmaxCrossEntropyWithLogits", _xent_rule, grad=_grad_xent, expand=_expand_xent)


# -- nnplug.nn functions -------------------------------------------------------------------
def softmax(logits: TensorLike, axis: int = -1, name: str | None = None, dim: int | None = None) -> Tensor:
    axis = dim if dim is not None else axis
    return make("Softmax", [convert_to_tensor(logits)], {"axis": int(axis)}, name=name)


def log_softmax(logits: TensorLike, axis: int = -1, name: str | None = None, dim: int | None = None) -> Tensor:
    axis = dim if dim is not None else axis
    return make("LogSoftmax", [convert_to_tensor(logits)], {"axis": int(axis)}, name=name)


def _xent(logits, labels, sparse, name):
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels) if sparse else convert_to_tensor(labels, dtype=logits.dtype)
    return make_op("SoftmaxCrossEntropyWithLogits", [logits, labels], {"sparse": sparse}, name=name).outputs[0]


def softmax_cross_entropy_with_logits_v2(labels: TensorLike | None = None, logits: TensorLike | None = None,
                                         axis: int = -1, name: str | None = None, dim: int | None = None) -> Tensor:
    """Per-example cross-entropy of softmax(logits); gradients flow into labels too (as in TF1's _v2)."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits needs labels= and logits= by keyword")
    return _xent(logits, labels, False, name)


def softmax_cross_entropy_with_logits(labels: TensorLike | None = None, logits: TensorLike | None = None,
                                      axis: int = -1, name: str | None = None, dim: int | None = None) -> Tensor:
    """TF1's original: no gradient flows into labels."""
    if labels is None or logits is None:
        raise ValueError("softmax_cross_entropy_with_logits needs labels= and logits= by keyword")
    return _xent(logits, stop_gradient(convert_to_tensor(labels)), False, name)


def sparse_softmax_cross_entropy_with_logits(labels: TensorLike | None = None, logits: TensorLike | None = None,
                                             name: str | None = None) -> Tensor:
    if labels is None or logits is None:
        raise ValueError("sparse_softmax_cross_entropy_with_logits needs labels= and logits= by keyword")
    return _xent(logits, labels, True, name)


def sigmoid_cross_entropy_with_logits(labels: TensorLike | None = None, logits: TensorLike | None = None,
                                      name: str | None = None) -> Tensor:
    """max(x, 0) - x*z + log(1 + exp(-|x|)): finite for any logits."""
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype)
    with name_scope(name, "logistic_loss"):
        # one branch choice for both terms (as TF1 does), so the gradient at x == 0 is sigmoid(0) - z
        cond = M.greater_equal(logits, 0.0)
        relu_logits = M.where(cond, logits, M.zeros_like(logits))
        neg_abs_logits = M.where(cond, -logits, logits)
        return relu_logits - logits * labels + M.log1p(M.exp(neg_abs_logits))


def bias_add(value: TensorLike, bias: TensorLike, name: str | None = None) -> Tensor:
    return M.add(value, bias, name=name)


def l2_loss(t: TensorLike, name: str | None = None) -> Tensor:
    return M.multiply(M.reduce_sum(M.square(t)), 0.5, name=name)


def relu6(features: TensorLike, name: str | None = None) -> Tensor:
    return M.minimum(M.relu(features), 6.0, name=name)


def dropout(x: TensorLike, keep_prob: TensorLike | None = None, rate: TensorLike | None = None, seed: int | None = None,
            name: str | None = None, noise_shape: ShapeLike | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability `rate`, scale the rest by 1/(1-rate)."""
    from .random_ops import random_uniform_like
    if rate is None:
        if keep_prob is None:
            raise ValueError("dropout needs rate= (or keep_prob=)")
        rate = 1.0 - keep_prob
    x = convert_to_tensor(x)
    if isinstance(rate, (int, float)):
        if not 0 <= float(rate) < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        rate, scale = float(rate), 1.0 / (1.0 - float(rate))
    else:  # a tensor (a keep_prob placeholder fed 0.5 in training and 1.0 in tests), a scalar as in TF1,
        rate = M.cast(reshape(rate, ()), x.dtype)  # so the result keeps x's shape even when its shape is unknown
        scale = 1.0 / (1.0 - rate)
    with name_scope(name, "dropout"):
        keep = M.cast(M.greater_equal(random_uniform_like(x, seed=seed), rate), x.dtype)
        return x * keep * scale
