"""Keras losses by name or object. Each gives a per-sample loss tensor; the model takes the batch mean.

When the model's output is a softmax (or sigmoid) and the loss is a cross-entropy, the model hands the loss the
pre-activation logits instead (`from_logits`), so it can use the fused, stable
`softmax_cross_entropy_with_logits_v2` -- what Keras does internally too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ops import math_ops as M
from ..ops import nn_ops
from ..ops.array_ops import one_hot, reshape
from .utils import unknown_name
from ..graph import Tensor

EPSILON = 1e-7


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    if from_logits:
        return nn_ops.softmax_cross_entropy_with_logits_v2(labels=y_true, logits=y_pred)
    p = y_pred / M.reduce_sum(y_pred, axis=-1, keepdims=True)
    p = M.clip_by_value(p, EPSILON, 1.0 - EPSILON)
    return -M.reduce_sum(y_true * M.log(p), axis=-1)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    if len(y_true.shape) == 2:
        y_true = reshape(y_true, [-1])
    if from_logits:
        return nn_ops.sparse_softmax_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    p = M.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    return -M.reduce_sum(one_hot(y_true, y_pred.shape[-1], dtype=y_pred.dtype) * M.log(p), axis=-1)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False) -> Tensor:
    if from_logits:
        return M.reduce_mean(nn_ops.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred), axis=-1)
    p = M.clip_by_value(y_pred, EPSILON, 1.0 - EPSILON)
    return M.reduce_mean(-(y_true * M.log(p) + (1.0 - y_true) * M.log(1.0 - p)), axis=-1)


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return M.reduce_mean(M.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return M.reduce_mean(M.abs(y_pred - y_true), axis=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """A loss with what the model needs to feed and check its labels.

    `labels`: 'onehot' (float, shaped like the output), 'sparse' (integer class ids, one per sample) or
    'same' (float, shaped like the output). `logits_for`: the output activation whose logits it can take.
    """

    labels = "same"
    logits_for: str | None = None

    def __init__(self, fn: Callable[..., Tensor], name: str, from_logits: bool = False) -> None:
        self.fn, self.name, self.from_logits = fn, name, from_logits

    def __call__(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        kw = {"from_logits": True} if self.from_logits else {}
        return M.reduce_mean(self.fn(y_true, y_pred, **kw))

    def per_sample(self, y_true: Tensor, y_pred: Tensor, logits: Tensor | None = None) -> Tensor:
        """Per-sample losses; `logits` = (activation name, pre-activation tensor) of the output layer."""
        if self.from_logits:
            return self.fn(y_true, y_pred, from_logits=True)
        if logits is not None and self.logits_for is not None and logits[0] == self.logits_for:
            return self.fn(y_true, logits[1], from_logits=True)
        return self.fn(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    labels, logits_for = "onehot", "softmax"

    def __init__(self, from_logits: bool = False, name: str = "categorical_crossentropy") -> None:
        super().__init__(categorical_crossentropy, name, from_logits)


class SparseCategoricalCrossentropy(Loss):
    labels, logits_for = "sparse", "softmax"

    def __init__(self, from_logits: bool = False, name: str = "sparse_categorical_crossentropy") -> None:
        super().__init__(sparse_categorical_crossentropy, name, from_logits)


class BinaryCrossentropy(Loss):
    labels, logits_for = "binary", "sigmoid"

    def __init__(self, from_logits: bool = False, name: str = "binary_crossentropy") -> None:
        super().__init__(binary_crossentropy, name, from_logits)


class MeanSquaredError(Loss):
    def __init__(self, name: str = "mean_squared_error") -> None:
        super().__init__(mean_squared_error, name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class MeanAbsoluteError(Loss):
    def __init__(self, name: str = "mean_absolute_error") -> None:
        super().__init__(mean_absolute_error, name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class _Custom(Loss):
    """A user function f(y_true, y_pred) -> per-sample (or scalar) loss."""

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        super().__init__(fn, getattr(fn, "__name__", "custom_loss"))

    def per_sample(self, y_true: Tensor, y_pred: Tensor, logits: Tensor | None = None) -> Tensor:
        return self.fn(y_true, y_pred)


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy, "sparse_categorical_crossentropy":
    SparseCategoricalCrossentropy, "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_FN_NAMES = {categorical_crossentropy: "categorical_crossentropy", binary_crossentropy: "binary_crossentropy",
             sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
             mean_squared_error: "mean_squared_error", mean_absolute_error: "mean_absolute_error"}


def get(identifier: Any) -> Loss:
    """A Loss from a name ('categorical_crossentropy', 'mse', ...), a Loss object or a function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise unknown_name("loss", identifier, _BY_NAME)
        return cls()
    if identifier in _FN_NAMES:
        return _BY_NAME[_FN_NAMES[identifier]]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()  # type: ignore[call-arg]  # the subclasses take no arguments
    if callable(identifier):
        return _Custom(identifier)
    raise TypeError(f"loss must be a name ({', '.join(sorted(_BY_NAME))}), a Loss or a function, got {identifier!r}")


def serialize(loss: Loss) -> Any:
    if type(loss) in _BY_NAME.values():
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    raise ValueError(f"cannot save the custom loss '{loss.name}': only the built-in losses can be written "
                     f"to a model file (save_weights still works)")


def deserialize(spec: Any) -> Any:
    for cls in _BY_NAME.values():
        if cls.__name__ == spec["class_name"]:
            return cls(**spec["config"])
    raise ValueError(f"unknown loss class '{spec['class_name']}' in a saved model")

