"""`tf.metrics`: streaming metrics over many `Session.run` calls.

Each metric keeps its running totals in LOCAL variables (`GraphKeys.LOCAL_VARIABLES` and
'metric_variables', never trainable, started by `tf.local_variables_initializer()`) and returns
(value, update_op): `update_op` adds one batch and gives the updated value; `value` reads the totals.
This module holds the means and the counts; the threshold family (auc, ...) is `metrics_thresholds.py`,
the class-wise and top-k family `metrics_classes.py`.
"""
from __future__ import annotations

from collections.abc import Sequence

from . import dtypes as _dt
from .graph import Tensor, convert_to_tensor
from .metric_variables import (
    METRIC_VARIABLES, broadcast, check_same_shape, collect, metric_variable, prepare, safe_div, squeeze_pair,
    weights_for,
)
from .ops import math_ops as M
from .ops.array_ops import identity
from .shapes import ShapeError, fmt
from .variables import variable_scope
from ._types import TensorLike

Collections = Sequence[str] | None

__all__ = ["METRIC_VARIABLES", "mean", "mean_tensor", "accuracy", "mean_absolute_error", "mean_squared_error",
           "root_mean_squared_error", "mean_relative_error", "mean_cosine_distance", "percentage_below",
           "true_positives", "false_positives", "true_negatives", "false_negatives", "precision", "recall"]


def _finish(value, update, metrics_collections, updates_collections):
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update


def mean(values: TensorLike, weights: TensorLike | None = None, metrics_collections: Collections = None,
         updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) mean of every value seen: (total / count, update_op); 0 while nothing is counted."""
    values = M.cast(convert_to_tensor(values), _dt.float32)
    with variable_scope(name, "mean"):
        total, count = metric_variable("total"), metric_variable("count")
        if weights is None:
            batch_total, batch_count = M.reduce_sum(values), M.reduce_sum(M.ones_like(values))
        else:
            w = broadcast(weights_for(name or "mean", weights, values), values)
            batch_total, batch_count = M.reduce_sum(values * w), M.reduce_sum(w)
        value = identity(safe_div(total.value(), count.value()), name="value")
        update = identity(safe_div(total.assign_add(batch_total), count.assign_add(batch_count)), name="update_op")
    return _finish(value, update, metrics_collections, updates_collections)


def mean_tensor(values: TensorLike, weights: TensorLike | None = None, metrics_collections: Collections = None,
                updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The element-wise (weighted) mean over batches: a tensor shaped like `values`, 0 where nothing counted."""
    values = M.cast(convert_to_tensor(values), _dt.float32)
    if not values.shape.is_fully_defined():
        raise ShapeError(f"mean_tensor: values '{values.name}' need a fully known shape, got {fmt(values.shape)}")
    with variable_scope(name, "mean"):
        total = metric_variable("total_tensor", values.shape)
        count = metric_variable("count_tensor", values.shape)
        counted = M.ones_like(values)
        if weights is not None:
            w = broadcast(weights_for(name or "mean_tensor", weights, values), values)
            values, counted = values * w, w
        value = identity(safe_div(total.value(), count.value()), name="value")
        update = identity(safe_div(total.assign_add(values), count.assign_add(counted)), name="update_op")
    return _finish(value, update, metrics_collections, updates_collections)


def accuracy(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
             metrics_collections: Collections = None, updates_collections: Collections = None,
             name: str | None = None) -> tuple[Tensor, Tensor]:
    """How often `predictions` equal `labels`, over every batch seen: (accuracy, update_op)."""
    predictions, labels, weights = prepare("accuracy", predictions, labels, weights)
    if predictions.dtype != labels.dtype:
        predictions = M.cast(predictions, labels.dtype)
    is_correct = M.cast(M.equal(predictions, labels), _dt.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections, name or "accuracy")


def mean_absolute_error(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
                        metrics_collections: Collections = None, updates_collections: Collections = None,
                        name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean of |predictions - labels| over every element seen."""
    predictions, labels, weights = _float_inputs("mean_absolute_error", predictions, labels, weights)
    return mean(M.abs(predictions - labels), weights, metrics_collections, updates_collections,
                name or "mean_absolute_error")


def mean_squared_error(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
                       metrics_collections: Collections = None, updates_collections: Collections = None,
                       name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean of (predictions - labels)^2 over every element seen."""
    predictions, labels, weights = _float_inputs("mean_squared_error", predictions, labels, weights)
    return mean(M.square(labels - predictions), weights, metrics_collections, updates_collections,
                name or "mean_squared_error")


def root_mean_squared_error(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
                            metrics_collections: Collections = None, updates_collections: Collections = None,
                            name: str | None = None) -> tuple[Tensor, Tensor]:
    """sqrt of the streaming mean squared error (the root of the mean, not a mean of roots)."""
    predictions, labels, weights = _float_inputs("root_mean_squared_error", predictions, labels, weights)
    mse, update_mse = mean(M.square(labels - predictions), weights, None, None,
                           name or "root_mean_squared_error")
    return _finish(M.sqrt(mse), M.sqrt(update_mse), metrics_collections, updates_collections)


def mean_relative_error(labels: TensorLike, predictions: TensorLike, normalizer: TensorLike,
                        weights: TensorLike | None = None, metrics_collections: Collections = None,
                        updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean of |labels - predictions| / normalizer; an element whose normalizer is 0 counts as 0."""
    predictions, labels, weights = _float_inputs("mean_relative_error", predictions, labels, weights)
    normalizer = M.cast(convert_to_tensor(normalizer), _dt.float32)
    predictions, normalizer = squeeze_pair(predictions, normalizer)
    check_same_shape("mean_relative_error", "predictions", predictions, "normalizer", normalizer)
    zero = M.equal(normalizer, 0.0)
    relative = M.where(zero, M.zeros_like(labels),
                       M.abs(labels - predictions) / M.where(zero, M.ones_like(normalizer), normalizer))
    return mean(relative, weights, metrics_collections, updates_collections, name or "mean_relative_error")


def mean_cosine_distance(labels: TensorLike, predictions: TensorLike, dim: int, weights: TensorLike | None = None,
                         metrics_collections: Collections = None, updates_collections: Collections = None,
                         name: str | None = None) -> tuple[Tensor, Tensor]:
    """1 - the mean over examples of sum(predictions * labels) along `dim` (both assumed unit length);
    weights are taken against that reduced shape, with `dim` kept as 1."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"mean_cosine_distance: dim must be a Python int, got {dim!r:.40}")
    predictions, labels = squeeze_pair(*_floats(predictions, labels))
    check_same_shape("mean_cosine_distance", "predictions", predictions, "labels", labels)
    radial = M.reduce_sum(predictions * labels, axis=[dim], keepdims=True)
    if weights is not None:
        weights = weights_for("mean_cosine_distance", weights, radial)
    distance, update = mean(radial, weights, None, None, name or "mean_cosine_distance")
    return _finish(1.0 - distance, 1.0 - update, metrics_collections, updates_collections)


def percentage_below(values: TensorLike, threshold: float, weights: TensorLike | None = None,
                     metrics_collections: Collections = None, updates_collections: Collections = None,
                     name: str | None = None) -> tuple[Tensor, Tensor]:
    """The (weighted) fraction of values strictly below `threshold`."""
    values = convert_to_tensor(values)
    is_below = M.cast(M.less(values, M.cast(threshold, values.dtype)), _dt.float32)
    return mean(is_below, weights, metrics_collections, updates_collections, name or "percentage_below_threshold")


def _floats(predictions, labels):
    return (M.cast(convert_to_tensor(predictions), _dt.float32), M.cast(convert_to_tensor(labels), _dt.float32))


def _float_inputs(fn, predictions, labels, weights):
    """TF1's error metrics take float32 predictions and labels, squeezed and checked."""
    predictions, labels = _floats(predictions, labels)
    return prepare(fn, predictions, labels, weights)


# -- counts of a condition ---------------------------------------------------------------------------
def _bools(fn, labels, predictions, weights):
    """Labels and predictions cast to bool (nonzero is True), as TF1's counting metrics take them."""
    predictions = M.cast(convert_to_tensor(predictions), _dt.bool_)
    labels = M.cast(convert_to_tensor(labels), _dt.bool_)
    return prepare(fn, predictions, labels, weights)


def _count_condition(condition, weights, metrics_collections, updates_collections):
    """A float32 `count` variable of how often (or with how much weight) `condition` held."""
    count = metric_variable("count")
    hits = M.cast(condition, _dt.float32)
    if weights is not None:
        hits = hits * weights
    value = identity(count.value(), name="value")
    update = count.assign_add(M.reduce_sum(hits), name="update_op")
    return _finish(value, update, metrics_collections, updates_collections)


def _counter(default, label_is, prediction_is, doc):
    def count(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
              metrics_collections: Collections = None, updates_collections: Collections = None,
              name: str | None = None) -> tuple[Tensor, Tensor]:
        with variable_scope(name, default):
            predictions_b, labels_b, w = _bools(default, labels, predictions, weights)
            lab = labels_b if label_is else M.logical_not(labels_b)
            pred = predictions_b if prediction_is else M.logical_not(predictions_b)
            return _count_condition(M.logical_and(lab, pred), w, metrics_collections, updates_collections)
    count.__name__ = count.__qualname__ = default
    count.__doc__ = f"The (weighted) number of elements {doc}, labels and predictions cast to bool."
    return count


true_positives = _counter("true_positives", True, True, "with label and prediction both true")
false_positives = _counter("false_positives", False, True, "predicted true whose label is false")
true_negatives = _counter("true_negatives", False, False, "with label and prediction both false")
false_negatives = _counter("false_negatives", True, False, "predicted false whose label is true")


def _ratio(default, other, doc):
    def ratio(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None,
              metrics_collections: Collections = None, updates_collections: Collections = None,
              name: str | None = None) -> tuple[Tensor, Tensor]:
        with variable_scope(name, default):
            tp, tp_update = true_positives(labels, predictions, weights, name="true_positives")
            miss, miss_update = other(labels, predictions, weights)
            value = identity(safe_div(tp, tp + miss), name="value")
            update = identity(safe_div(tp_update, tp_update + miss_update), name="update_op")
        return _finish(value, update, metrics_collections, updates_collections)
    ratio.__name__ = ratio.__qualname__ = default
    ratio.__doc__ = f"tp / (tp + {doc}) over every batch seen; 0 while that sum is 0 (TF1's rule)."
    return ratio


precision = _ratio("precision", false_positives, "fp")
recall = _ratio("recall", false_negatives, "fn")

from .metrics_thresholds import (  # noqa: E402 - the threshold family, re-exported as TF1's names
    auc, false_negatives_at_thresholds, false_positives_at_thresholds, precision_at_thresholds,
    recall_at_thresholds, sensitivity_at_specificity, specificity_at_sensitivity, true_negatives_at_thresholds,
    true_positives_at_thresholds,
)
from .metrics_classes import mean_iou, mean_per_class_accuracy  # noqa: E402 - the class-wise family
from .metrics_top_k import (  # noqa: E402 - the top-k family
    average_precision_at_k, precision_at_k, precision_at_top_k, recall_at_k, recall_at_top_k,
    sparse_average_precision_at_k, sparse_precision_at_k,
)

__all__ += ["auc", "false_negatives_at_thresholds", "false_positives_at_thresholds", "precision_at_thresholds",
            "recall_at_thresholds", "sensitivity_at_specificity", "specificity_at_sensitivity",
            "true_negatives_at_thresholds", "true_positives_at_thresholds", "mean_iou", "mean_per_class_accuracy",
            "average_precision_at_k", "precision_at_k", "precision_at_top_k", "recall_at_k", "recall_at_top_k",
            "sparse_average_precision_at_k", "sparse_precision_at_k"]
