"""`tf.metrics`: streaming metrics over many `Session.run` calls.

Each metric keeps its running totals in LOCAL variables (`GraphKeys.LOCAL_VARIABLES` and
'metric_variables', never trainable, started by `tf.local_variables_initializer()`) and returns
(value, update_op): `update_op` adds one batch and gives the updated value; `value` reads the totals.
"""
from __future__ import annotations

from collections.abc import Sequence

from . import dtypes as _dt
from .graph import GraphKeys, Tensor, add_to_collection, constant, convert_to_tensor
from .losses import _safe_div
from .ops import math_ops as M
from .ops.array_ops import identity
from .variables import Variable, variable_scope
from ._types import TensorLike

METRIC_VARIABLES = "metric_variables"


def _local(name, dtype=_dt.float32):
    """A scalar 0 local variable named `scope/name`."""
    return Variable(constant(0, dtype=dtype), trainable=False, name=name,
                    collections=[GraphKeys.LOCAL_VARIABLES, METRIC_VARIABLES])


def _collect(keys, value):
    for key in keys or ():
        add_to_collection(key, value)


def mean(values: TensorLike, weights: TensorLike | None = None, metrics_collections: Sequence[str] | None = None,
         updates_collections: Sequence[str] | None = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) mean of every value seen: (total / count, update_op)."""
    values = M.cast(convert_to_tensor(values), _dt.float32)
    with variable_scope(name, "mean"):
        total, count = _local("total"), _local("count")
        if weights is None:
            batch_total, batch_count = M.reduce_sum(values), M.reduce_sum(M.ones_like(values))
        else:
            w = M.cast(convert_to_tensor(weights), _dt.float32) * M.ones_like(values)  # broadcast, as TF1
            batch_total, batch_count = M.reduce_sum(values * w), M.reduce_sum(w)
        # total / count, or 0 while nothing has been counted
        value = identity(_safe_div(total.value(), count.value()), name="value")
        update = identity(_safe_div(total.assign_add(batch_total), count.assign_add(batch_count)), name="update_op")
    _collect(metrics_collections, value)
    _collect(updates_collections, update)
    return value, update


def accuracy(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
             metrics_collections: Sequence[str] | None = None, updates_collections: Sequence[str] | None = None,
             name: str | None = None) -> tuple[Tensor, Tensor]:
    """How often `predictions` equal `labels`, over every batch seen: (accuracy, update_op)."""
    labels, predictions = convert_to_tensor(labels), convert_to_tensor(predictions)
    if predictions.dtype != labels.dtype:
        predictions = M.cast(predictions, labels.dtype)
    ls, ps = labels.shape, predictions.shape
    if not ls.unknown_rank and not ps.unknown_rank and (
            len(ls) != len(ps) or any(a is not None and b is not None and a != b for a, b in zip(ls, ps))):
        raise ValueError(f"accuracy: labels '{labels.name}' of shape {ls} and predictions '{predictions.name}' of "
                         f"shape {ps} must have the same shape")
    is_correct = M.cast(M.equal(predictions, labels), _dt.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")
