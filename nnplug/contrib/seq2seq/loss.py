"""contrib.seq2seq's `sequence_loss`: softmax cross-entropy per time step, weighted, averaged as asked."""
from __future__ import annotations

from collections.abc import Callable

from ..._types import Tensor, TensorLike
from ...graph import convert_to_tensor, name_scope
from ...ops import math_ops as M
from ...ops.array_ops import reshape, shape
from ...ops.nn_ops import sparse_softmax_cross_entropy_with_logits
from ...shapes import ShapeError, fmt

_EPSILON = 1e-12  # TF1's guard against all-zero weights


def _check(logits, targets, weights):
    if logits.shape.unknown_rank or len(logits.shape) != 3:
        raise ShapeError(f"sequence_loss: logits must be [batch, time, classes], got '{logits.name}' "
                         f"{fmt(logits.shape)}")
    for t, what in ((targets, "targets"), (weights, "weights")):
        if t.shape.unknown_rank or len(t.shape) != 2 or any(
                a is not None and b is not None and a != b for a, b in zip(t.shape, logits.shape[:2])):
            raise ShapeError(f"sequence_loss: {what} must be [batch, time] like logits {fmt(logits.shape)}, got "
                             f"'{t.name}' {fmt(t.shape)}")
    if not targets.dtype.is_integer:
        raise TypeError(f"sequence_loss: targets must be integer class ids, got {targets.dtype.name}")


def _average(total, weights, axis):
    return total / (M.reduce_sum(weights, axis=axis) + _EPSILON)


def sequence_loss(logits: TensorLike, targets: TensorLike, weights: TensorLike, average_across_timesteps: bool = True,
                  average_across_batch: bool = True, softmax_loss_function: Callable[..., Tensor] | None = None,
                  name: str | None = None) -> Tensor:
    """Cross-entropy of logits [batch, time, classes] against targets [batch, time], times weights [batch,
    time]; summed and divided by the summed weights over time and/or batch (a scalar when averaged over
    both, [batch] or [time] when over one, [batch, time] when over neither)."""
    logits = convert_to_tensor(logits)
    targets = convert_to_tensor(targets)
    weights = convert_to_tensor(weights) if hasattr(weights, "dtype") else convert_to_tensor(weights, logits.dtype)
    _check(logits, targets, weights)
    with name_scope(name, "sequence_loss"):
        classes = logits.shape[2] if logits.shape[2] is not None else shape(logits)[2]
        flat_logits = reshape(logits, [-1, classes])
        flat_targets = reshape(targets, [-1])
        if softmax_loss_function is None:
            crossent = sparse_softmax_cross_entropy_with_logits(labels=flat_targets, logits=flat_logits)
        else:
            crossent = softmax_loss_function(labels=flat_targets, logits=flat_logits)
        weights = M.cast(weights, logits.dtype) if weights.dtype != logits.dtype else weights
        crossent = crossent * reshape(weights, [-1])
        if average_across_timesteps and average_across_batch:
            return _average(M.reduce_sum(crossent), weights, None)
        batch = logits.shape[0] if logits.shape[0] is not None else shape(logits)[0]
        steps = logits.shape[1] if logits.shape[1] is not None else shape(logits)[1]
        crossent = reshape(crossent, [batch, steps])
        if average_across_timesteps:
            return _average(M.reduce_sum(crossent, axis=1), weights, 1)
        if average_across_batch:
            return _average(M.reduce_sum(crossent, axis=0), weights, 0)
        return crossent

