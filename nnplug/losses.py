"""`nnplug.losses`: TF1's weighted losses, reduced to a scalar and added to the LOSSES collection.

Every loss computes per-element losses, multiplies them by `weights` and reduces them as `reduction` says.
The default, `SUM_BY_NONZERO_WEIGHTS`, is TF1's: the weighted sum divided by the number of elements whose
weight is not zero, so with the default `weights=1.0` it is the plain mean.
"""
from __future__ import annotations

from .graph import GraphKeys, Tensor, add_to_collection, constant, convert_to_tensor, get_collection, name_scope
from .ops import math_ops as M
from .ops import nn_ops
from .ops.array_ops import reshape, shape, stop_gradient
from .shapes import ShapeError, fmt
from ._types import TensorLike


class Reduction:
    """How `compute_weighted_loss` turns weighted per-element losses into the result."""

    NONE = "none"  # the weighted losses themselves, unreduced
    SUM = "weighted_sum"
    MEAN = "weighted_mean"  # sum / sum of the weights
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"  # sum / number of elements
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"  # sum / number of non-zero weights
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS  # TF1's older name

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise ValueError(f"unknown loss reduction {key!r}; expected one of {', '.join(cls.all())}")


def _safe_div(num, den):
    """num / den, or 0 where den is 0 (a batch whose weights are all zero has zero loss, not NaN)."""
    nonzero = M.not_equal(den, 0.0)
    return M.where(nonzero, num / M.where(nonzero, den, M.ones_like(den)), M.zeros_like(num))


def _align_weights(weights, losses):
    """Weights as a tensor that broadcasts against `losses` from the left, as TF1 documents it.

    A `[batch]` weight vector against `[batch, d]` losses scales each example's row; trailing axes of size
    one are appended so it never silently lines up with the wrong axis.
    """
    if hasattr(weights, "_as_tensor") or hasattr(weights, "op"):
        weights = convert_to_tensor(weights)
        if weights.dtype != losses.dtype:
            weights = M.cast(weights, losses.dtype)
    else:
        weights = convert_to_tensor(weights, dtype=losses.dtype, name="weights")
    given = w = weights.shape
    l = losses.shape
    if w.unknown_rank or l.unknown_rank:  # TF1 checks what is known now, the rest when it runs
        return weights
    if len(w) > len(l):
        raise ShapeError(f"weights of shape {fmt(w)} have more dimensions than the losses {fmt(l)}")
    if 0 < len(w) < len(l):
        weights = reshape(weights, [-1 if d is None else d for d in w] + [1] * (len(l) - len(w)))
        w = weights.shape
    for a, b in zip(w, l):
        if a is not None and b is not None and a not in (1, b):
            raise ShapeError(f"weights of shape {fmt(given)} cannot be broadcast to the losses' shape {fmt(l)}")
    return weights


def compute_weighted_loss(losses: TensorLike, weights: TensorLike = 1.0, scope: str | None = None,
                          loss_collection: str = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Weight per-element `losses` and reduce them; the result goes into `loss_collection` (if given)."""
    Reduction.validate(reduction)
    losses = convert_to_tensor(losses)
    if not losses.dtype.is_floating:
        raise TypeError(f"losses must be floating-point, got '{losses.name}' of dtype {losses.dtype.name}")
    with name_scope(scope, "weighted_loss"):
        weights = _align_weights(weights, losses)
        weighted = M.multiply(losses, weights)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            total = M.reduce_sum(weighted)
            if reduction == Reduction.SUM:
                loss = total
            else:
                spread = weights * M.ones_like(losses)  # the weights broadcast to every element
                if reduction == Reduction.MEAN:
                    den = M.reduce_sum(spread)
                elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                    den = M.reduce_sum(M.ones_like(losses))
                else:
                    den = M.reduce_sum(M.cast(M.not_equal(spread, 0.0), losses.dtype))
                loss = _safe_div(total, den)
    if loss_collection:
        add_to_collection(loss_collection, loss)
    return loss


def _check_same_shape(what_a, a, what_b, b, fn):
    """Where both ranks are known, the shapes must agree in every known dimension (TF1 checks the rest
    when the graph runs, and so do the ops here on the fed shapes)."""
    if a.shape.unknown_rank or b.shape.unknown_rank:
        return
    if len(a.shape) != len(b.shape) or any(x is not None and y is not None and x != y
                                           for x, y in zip(a.shape, b.shape)):
        raise ShapeError(f"{fn}: {what_a} of shape {fmt(a.shape)} and {what_b} of shape {fmt(b.shape)} "
                         f"must have the same shape")


def softmax_cross_entropy(onehot_labels: TensorLike, logits: TensorLike, weights: TensorLike = 1.0,
                          label_smoothing: float = 0, scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Cross-entropy of softmax(logits) against one-hot labels, one value per example.

    `label_smoothing` s moves the labels towards uniform: y * (1 - s) + s / num_classes.
    """
    logits = convert_to_tensor(logits)
    onehot_labels = convert_to_tensor(onehot_labels)
    if onehot_labels.dtype != logits.dtype:
        onehot_labels = M.cast(onehot_labels, logits.dtype)
    _check_same_shape("onehot_labels", onehot_labels, "logits", logits, "softmax_cross_entropy")
    with name_scope(scope, "softmax_cross_entropy_loss"):
        if label_smoothing:
            n = M.cast(shape(logits)[-1], logits.dtype)  # the number of classes (known when compiled)
            onehot_labels = onehot_labels * (1.0 - label_smoothing) + label_smoothing / n
        per_example = nn_ops.softmax_cross_entropy_with_logits_v2(labels=stop_gradient(onehot_labels),
                                                                  logits=logits)
        return compute_weighted_loss(per_example, weights, None, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels: TensorLike, logits: TensorLike, weights: TensorLike = 1.0,
                                 scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
                                 reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Cross-entropy of softmax(logits) against integer class ids `labels` (shape of logits minus the last)."""
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise TypeError(f"sparse_softmax_cross_entropy: labels must be integer class ids, got '{labels.name}' "
                        f"of dtype {labels.dtype.name}")
    with name_scope(scope, "sparse_softmax_cross_entropy_loss"):
        per_example = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(per_example, weights, None, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels: TensorLike, logits: TensorLike, weights: TensorLike = 1.0,
                          label_smoothing: float = 0, scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
                          reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """Element-wise logistic loss of sigmoid(logits) against labels in [0, 1] (stable for any logits).

    `label_smoothing` s moves the labels towards 1/2: y * (1 - s) + s / 2.
    """
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(multi_class_labels)
    if labels.dtype != logits.dtype:
        labels = M.cast(labels, logits.dtype)
    _check_same_shape("multi_class_labels", labels, "logits", logits, "sigmoid_cross_entropy")
    with name_scope(scope, "sigmoid_cross_entropy_loss"):
        if label_smoothing:
            labels = labels * (1.0 - label_smoothing) + 0.5 * label_smoothing
        losses = nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def _pairwise(fn_name, labels, predictions):
    predictions = convert_to_tensor(predictions)
    labels = convert_to_tensor(labels)
    if labels.dtype != predictions.dtype:
        labels = M.cast(labels, predictions.dtype)
    if not predictions.dtype.is_floating:
        raise TypeError(f"{fn_name}: predictions must be floating-point, got {predictions.dtype.name}")
    _check_same_shape("labels", labels, "predictions", predictions, fn_name)
    return labels, predictions


def mean_squared_error(labels: TensorLike, predictions: TensorLike, weights: TensorLike = 1.0, scope: str | None = None,
                       loss_collection: str = GraphKeys.LOSSES,
                       reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """(predictions - labels)^2, weighted and reduced."""
    labels, predictions = _pairwise("mean_squared_error", labels, predictions)
    with name_scope(scope, "mean_squared_error"):
        return compute_weighted_loss(M.square(predictions - labels), weights, None, loss_collection, reduction)


def absolute_difference(labels: TensorLike, predictions: TensorLike, weights: TensorLike = 1.0,
                        scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
                        reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """|predictions - labels|, weighted and reduced."""
    labels, predictions = _pairwise("absolute_difference", labels, predictions)
    with name_scope(scope, "absolute_difference"):
        return compute_weighted_loss(M.abs(predictions - labels), weights, None, loss_collection, reduction)


def huber_loss(labels: TensorLike, predictions: TensorLike, weights: TensorLike = 1.0, delta: float = 1.0,
               scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
               reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """0.5 e^2 where |e| <= delta, delta (|e| - 0.5 delta) beyond: quadratic near zero, linear far out."""
    labels, predictions = _pairwise("huber_loss", labels, predictions)
    with name_scope(scope, "huber_loss"):
        err = M.abs(predictions - labels)
        quad = M.minimum(err, float(delta))
        losses = 0.5 * M.square(quad) + float(delta) * (err - quad)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def log_loss(labels: TensorLike, predictions: TensorLike, weights: TensorLike = 1.0, epsilon: float = 1e-7,
             scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
             reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """-y log(p + eps) - (1 - y) log(1 - p + eps) for probabilities `predictions`."""
    labels, predictions = _pairwise("log_loss", labels, predictions)
    with name_scope(scope, "log_loss"):
        losses = (-labels * M.log(predictions + epsilon)
                  - (1.0 - labels) * M.log(1.0 - predictions + epsilon))
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def hinge_loss(labels: TensorLike, logits: TensorLike, weights: TensorLike = 1.0, scope: str | None = None,
               loss_collection: str = GraphKeys.LOSSES, reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> Tensor:
    """max(0, 1 - y * logits) with labels in {0, 1} taken as y = 2 * labels - 1."""
    labels, logits = _pairwise("hinge_loss", labels, logits)
    with name_scope(scope, "hinge_loss"):
        losses = M.relu(1.0 - (2.0 * labels - 1.0) * logits)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def cosine_distance(labels: TensorLike, predictions: TensorLike, axis: int | None = None, weights: TensorLike = 1.0,
                    scope: str | None = None, loss_collection: str = GraphKeys.LOSSES,
                    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS, dim: int | None = None) -> Tensor:
    """1 - sum(labels * predictions, axis) for unit-normalised labels and predictions (kept as a size-1 axis)."""
    axis = dim if axis is None else axis
    if axis is None:
        raise ValueError("cosine_distance: pass the axis the vectors lie along (axis=)")
    labels, predictions = _pairwise("cosine_distance", labels, predictions)
    with name_scope(scope, "cosine_distance_loss"):
        losses = 1.0 - M.reduce_sum(labels * predictions, axis=int(axis), keepdims=True)
        return compute_weighted_loss(losses, weights, None, loss_collection, reduction)


def add_loss(loss: Tensor, loss_collection: str = GraphKeys.LOSSES) -> None:
    if loss_collection:
        add_to_collection(loss_collection, loss)


def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list[Tensor]:
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list[Tensor]:
    return get_collection("regularization_losses", scope)


def get_regularization_loss(scope: str | None = None, name: str = "total_regularization_loss") -> Tensor:
    """The sum of the regularization losses, or a float32 0 when there are none."""
    losses = get_regularization_losses(scope)
    if not losses:
        return constant(0.0, name=name)
    return M.add_n(losses, name=name)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss") -> Tensor:
    """The sum of every collected loss (and the regularization losses); an error if there are none."""
    losses = get_losses()
    if add_regularization_losses:
        losses = losses + get_regularization_losses()
    if not losses:
        raise ValueError("get_total_loss: no losses in the LOSSES collection (nor regularization losses)")
    return M.add_n(losses, name=name)


__all__ = ["Reduction", "compute_weighted_loss", "softmax_cross_entropy", "sparse_softmax_cross_entropy",
           "sigmoid_cross_entropy", "mean_squared_error", "absolute_difference", "huber_loss", "log_loss",
           "hinge_loss", "cosine_distance", "add_loss", "get_losses", "get_regularization_losses",
           "get_regularization_loss", "get_total_loss"]


def mean_pairwise_squared_error(labels: TensorLike, predictions: TensorLike, weights: TensorLike = 1.0,
                                scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> Tensor:
    """TF1's sum over examples of the mean squared difference between every pair of (prediction - label)
    entries of the example: 2 * sum(d^2) / (n - 1) - 2 * sum(d)^2 / (n * (n - 1)), n being the entries of
    the example with nonzero weight; each example's value is scaled by its weights and the values summed."""
    labels, predictions = _pairwise("mean_pairwise_squared_error", labels, predictions)
    labels, predictions = M.cast(labels, "float32"), M.cast(predictions, "float32")
    with name_scope(scope, "mean_pairwise_squared_error"):
        weights = M.cast(convert_to_tensor(weights), "float32")
        diffs = predictions - labels
        rank = None if diffs.shape.unknown_rank else len(diffs.shape)
        if rank is None or rank < 1:
            raise ShapeError(f"mean_pairwise_squared_error: predictions need a known rank of at least 1 (a batch "
                             f"axis), got {fmt(diffs.shape)}")
        w_shape = weights.shape
        if not w_shape.unknown_rank and len(w_shape) and (len(w_shape) != rank or any(
                a is not None and b is not None and a not in (1, b) for a, b in zip(w_shape, diffs.shape))):
            raise ShapeError(f"mean_pairwise_squared_error: weights of shape {fmt(w_shape)} cannot be broadcast to "
                             f"the predictions' shape {fmt(diffs.shape)} (a scalar, or each dimension 1 or equal)")
        axes = list(range(1, rank))
        present = M.cast(M.not_equal(weights, 0.0), "float32") * M.ones_like(diffs)
        n = M.reduce_sum(present, axis=axes, keepdims=True)
        term1 = 2.0 * _safe_div(M.reduce_sum(M.square(diffs), axis=axes, keepdims=True), M.maximum(n - 1.0, 0.0))
        term2 = 2.0 * _safe_div(M.square(M.reduce_sum(diffs, axis=axes, keepdims=True)),
                                M.maximum(n * (n - 1.0), 0.0))
        loss = M.reduce_sum((term1 - term2) * weights)
        loss = M.where(M.greater(M.reduce_sum(n), 0.0), loss, M.zeros_like(loss), name="value")
    if loss_collection:
        add_to_collection(loss_collection, loss)
    return loss


__all__ += ["mean_pairwise_squared_error"]
