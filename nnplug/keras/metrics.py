"""Metrics: per-sample tensors averaged over each batch, and over the epoch weighted by batch size."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import dtypes as _dt
from ..ops import math_ops as M
from ..ops.array_ops import reshape
from . import losses as _losses
from .utils import unknown_name
from ..graph import Tensor


def categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    return M.cast(M.equal(M.argmax(y_true, -1), M.argmax(y_pred, -1)), _dt.float32)


def sparse_categorical_accuracy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    if len(y_true.shape) == 2:
        y_true = reshape(y_true, [-1])
    return M.cast(M.equal(M.cast(M.argmax(y_pred, -1), y_true.dtype), y_true), _dt.float32)


def binary_accuracy(y_true: Tensor, y_pred: Tensor, threshold: float = 0.5) -> Tensor:
    hit = M.equal(y_true, M.cast(M.greater(y_pred, threshold), y_pred.dtype))
    return M.reduce_mean(M.cast(hit, _dt.float32), axis=-1)


_BY_NAME = {
    "categorical_accuracy": categorical_accuracy, "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy, "mse": _losses.mean_squared_error, "mae": _losses.mean_absolute_error,
    "mean_squared_error": _losses.mean_squared_error, "mean_absolute_error": _losses.mean_absolute_error,
    "categorical_crossentropy": _losses.categorical_crossentropy, "binary_crossentropy": _losses.binary_crossentropy,
}
_ACCURACY = ("accuracy", "acc")


def get(identifier: Any, loss: _losses.Loss, n_outputs: int) -> tuple[str, Callable[..., Tensor]]:
    """(history name, per-sample function) for a metric; 'accuracy'/'acc' follows the loss's label kind."""
    if callable(identifier) and not isinstance(identifier, str):
        return getattr(identifier, "__name__", "metric"), identifier
    if not isinstance(identifier, str):
        raise TypeError(f"metric must be a name or a function, got {identifier!r}")
    key = identifier.lower()
    if key in _ACCURACY:
        if loss.labels == "sparse":
            return identifier, sparse_categorical_accuracy
        if loss.labels == "binary" or n_outputs == 1:
            return identifier, binary_accuracy
        return identifier, categorical_accuracy
    fn = _BY_NAME.get(key)
    if fn is None:
        raise unknown_name("metric", identifier, list(_BY_NAME) + list(_ACCURACY))
    return identifier, fn
