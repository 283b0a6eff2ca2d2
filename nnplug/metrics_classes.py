"""`tf.metrics` over class ids: mean IoU and mean per-class accuracy from streaming per-class totals."""
from __future__ import annotations

from collections.abc import Sequence

from . import dtypes as _dt
from .graph import Tensor, convert_to_tensor
from .metric_variables import check_same_shape, collect, metric_variable, safe_div
from .ops import math_ops as M
from .ops.array_ops import identity, reshape
from .ops.math_extra_ops import matrix_diag_part, unsorted_segment_sum
from .ops.tail_ops2 import confusion_matrix
from .variables import variable_scope
from ._types import TensorLike

Collections = Sequence[str] | None


def _num_classes(fn, num_classes):
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"{fn}: num_classes must be a positive Python int, got {num_classes!r:.40}")
    return num_classes


def _flat(t):
    """Rank > 1 flattened, as TF1 does before counting per class."""
    return reshape(t, [-1]) if t.shape.unknown_rank or len(t.shape) > 1 else t


def _class_ids(fn, labels, predictions, weights, flatten_first):
    """Flat labels, predictions and weights, whose shapes must agree (TF1's mean_iou compares them before
    flattening, mean_per_class_accuracy after)."""
    labels, predictions = convert_to_tensor(labels), convert_to_tensor(predictions)
    weights = None if weights is None else convert_to_tensor(weights)
    if flatten_first:
        labels, predictions = _flat(labels), _flat(predictions)
        weights = None if weights is None else _flat(weights)
    check_same_shape(fn, "labels", labels, "predictions", predictions)
    if weights is not None and not weights.shape.unknown_rank and len(weights.shape) > 0:
        check_same_shape(fn, "labels", labels, "weights", weights)
    return _flat(labels), _flat(predictions), None if weights is None else _flat(weights)


def mean_iou(labels: TensorLike, predictions: TensorLike, num_classes: int, weights: TensorLike | None = None,
             metrics_collections: Collections = None, updates_collections: Collections = None,
             name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean over classes of intersection / union, from a streaming float64 confusion matrix; a class
    absent from both labels and predictions is left out of the mean. update_op gives the matrix."""
    num_classes = _num_classes("mean_iou", num_classes)
    with variable_scope(name, "mean_iou"):
        labels, predictions, weights = _class_ids("mean_iou", labels, predictions, weights, False)
        total_cm = metric_variable("total_confusion_matrix", [num_classes, num_classes], _dt.float64)
        if weights is not None:
            weights = M.cast(weights, _dt.float64) * M.ones_like(labels, dtype=_dt.float64)
        batch_cm = confusion_matrix(M.cast(labels, _dt.int64), M.cast(predictions, _dt.int64), num_classes,
                                    weights=weights, dtype=_dt.float64)
        update = total_cm.assign_add(batch_cm, name="update_op")
        cm = M.cast(total_cm.value(), _dt.float32)
        diag = matrix_diag_part(cm)
        union = M.reduce_sum(cm, axis=0) + M.reduce_sum(cm, axis=1) - diag
        valid = M.reduce_sum(M.cast(M.not_equal(union, 0.0), _dt.float32))
        iou = diag / M.where(M.greater(union, 0.0), union, M.ones_like(union))
        value = identity(safe_div(M.reduce_sum(iou), valid), name="mean_iou")
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update


def mean_per_class_accuracy(labels: TensorLike, predictions: TensorLike, num_classes: int,
                            weights: TensorLike | None = None, metrics_collections: Collections = None,
                            updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean over all `num_classes` classes of each class's accuracy (a class never seen counts 0);
    update_op gives the per-class accuracies, as TF1's does."""
    num_classes = _num_classes("mean_per_class_accuracy", num_classes)
    with variable_scope(name, "mean_accuracy"):
        labels, predictions, weights = _class_ids("mean_per_class_accuracy", labels, predictions, weights,
                                                 True)
        labels = M.cast(labels, _dt.int64)
        if predictions.dtype != labels.dtype:
            predictions = M.cast(predictions, labels.dtype)
        total = metric_variable("total", [num_classes])
        count = metric_variable("count", [num_classes])
        seen = M.ones_like(labels, dtype=_dt.float32)
        correct = M.cast(M.equal(predictions, labels), _dt.float32)
        if weights is not None:
            weights = M.cast(weights, _dt.float32)
            seen, correct = seen * weights, correct * weights
        update_total = total.assign_add(unsorted_segment_sum(seen, labels, num_classes))
        update_count = count.assign_add(unsorted_segment_sum(correct, labels, num_classes))
        value = M.reduce_mean(safe_div(count.value(), total.value()), name="mean_accuracy")
        update = identity(safe_div(update_count, update_total), name="update_op")
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update
