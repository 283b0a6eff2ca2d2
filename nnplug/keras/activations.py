"""Activations by name or callable. Each maps a tensor to a tensor with nnplug graph ops."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ops import math_ops as M
from ..ops import nn_ops
from .utils import unknown_name
from ..graph import Tensor


def linear(x: Tensor) -> Tensor:
    return x


def sigmoid(x: Tensor) -> Tensor:
    return M.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return M.tanh(x)


def relu(x: Tensor, alpha: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Tensor:
    """Keras's relu: `alpha` slope below zero (one LeakyRelu kernel), clipped at `max_value`."""
    if threshold:
        raise NotImplementedError("relu(threshold=...) is not supported; use the layer's own ops")
    y = M.relu(x) if not alpha else M.leaky_relu(x, alpha=alpha)
    return y if max_value is None else M.minimum(y, max_value)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return nn_ops.softmax(x, axis=axis)


def elu(x: Tensor) -> Tensor:
    return nn_ops.elu(x)


def softplus(x: Tensor) -> Tensor:
    return nn_ops.softplus(x)


def softsign(x: Tensor) -> Tensor:
    return nn_ops.softsign(x)


def selu(x: Tensor) -> Tensor:
    return nn_ops.selu(x)


def exponential(x: Tensor) -> Tensor:
    return M.exp(x)


_BY_NAME = {"linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softmax": softmax,
            "elu": elu, "softplus": softplus, "softsign": softsign, "selu": selu, "exponential": exponential}


def get(identifier: Any) -> Callable[..., Tensor]:
    """None or 'linear' -> identity; a name -> the function; a callable passes through."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier.lower())
        if fn is None:
            raise unknown_name("activation", identifier, _BY_NAME)
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"activation must be a name ({', '.join(sorted(_BY_NAME))}) or a callable, got {identifier!r}")


def serialize(fn: Callable[..., Any]) -> Any:
    """The name a saved model stores; our own functions and nnplug's (e.g. nnplug.tanh) have one."""
    for name, known in _BY_NAME.items():
        if fn is known:
            return name
    by_ops = {M.sigmoid: "sigmoid", M.tanh: "tanh", M.relu: "relu", nn_ops.softmax: "softmax", M.exp: "exponential",
              nn_ops.elu: "elu", nn_ops.selu: "selu", nn_ops.softplus: "softplus", nn_ops.softsign: "softsign"}
    if fn in by_ops:
        return by_ops[fn]
    raise ValueError(f"cannot save the custom activation {getattr(fn, '__name__', fn)!r}: only the named "
                     f"activations ({', '.join(sorted(_BY_NAME))}) can be written to a model file")
