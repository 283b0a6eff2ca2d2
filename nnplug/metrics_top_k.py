"""`tf.metrics` over the top k classes of each row: precision and recall at k (of all classes, or of
one `class_id`) and average precision at k. Labels are sets of class ids per row, as TF1's set operations
take them: a dense `[D1.., num_labels]` tensor (or `[D1..]`, one label a row) whose values each count once,
or a SparseTensor whose present values do; the per-row counts are compositions of comparisons, so every
backend runs them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import dtypes as _dt
from .graph import Tensor, constant, convert_to_tensor
from .metric_variables import collect, metric_variable, safe_div
from .ops import math_ops as M
from .ops.array_ops import expand_dims, identity, shape
from .ops.math_extra_ops import cumsum
from .ops.sequence_ops import range as _range
from .ops.sort_ops import top_k
from .shapes import ShapeError, TensorShape, fmt
from .sparse import SparseTensor, SparseTensorValue, sparse_tensor_to_dense
from .variables import variable_scope
from ._types import TensorLike

Collections = Sequence[str] | None


def _at_k_name(name, k, class_id=None):
    """TF1's names: `recall_at_5`, `precision_at_k_class3` (k not given to an `_at_top_k` metric)."""
    return f"{name}_at_{'k' if k is None else k}" + ("" if class_id is None else f"_class{class_id}")


def _check_k(fn, k):
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{fn}: invalid k={k!r:.40}, k must be a Python int >= 1")
    return k


def _dense_labels(labels, rank):
    """(int64 labels, where an entry is present): a SparseTensor's absent entries are no labels at all; one
    of unknown rank (a sparse_placeholder without a shape) is taken to have the predictions' `rank`."""
    if isinstance(labels, SparseTensorValue):
        labels = SparseTensor(*labels)
    if not isinstance(labels, SparseTensor):
        dense = M.cast(convert_to_tensor(labels), _dt.int64)
        return dense, M.ones_like(dense, dtype=_dt.bool_)
    values = M.cast(labels.values, _dt.int64)
    shape = labels.shape if not labels.shape.unknown_rank or rank is None else TensorShape([None] * rank)
    dense = sparse_tensor_to_dense(SparseTensor(labels.indices, values, labels.dense_shape, shape),
                                   default_value=-1)
    present = sparse_tensor_to_dense(SparseTensor(labels.indices, M.ones_like(values, dtype=_dt.int32),
                                                  labels.dense_shape, shape), default_value=0)
    return dense, M.greater(present, 0)


def _ids(fn, labels, predictions_idx):
    """(labels, present, predictions_idx): int64 labels of the predictions' rank (one a row expanded) and
    where they are present; the leading dimensions must agree."""
    idx = M.cast(convert_to_tensor(predictions_idx), _dt.int64)
    labels, present = _dense_labels(labels, None if idx.shape.unknown_rank else len(idx.shape))
    if idx.shape.unknown_rank or labels.shape.unknown_rank or len(idx.shape) < 1:
        raise ShapeError(f"{fn}: predictions_idx '{idx.name}' and labels need known ranks, and predictions_idx "
                         f"at least 1, got {fmt(idx.shape)} and {fmt(labels.shape)}")
    if len(labels.shape) == len(idx.shape) - 1:
        labels, present = expand_dims(labels, -1), expand_dims(present, -1)
    lead_l, lead_p = labels.shape[:-1], idx.shape[:-1]
    if len(labels.shape) != len(idx.shape) or any(
            a is not None and b is not None and a != b for a, b in zip(lead_l, lead_p)):
        raise ShapeError(f"{fn}: labels '{labels.name}' of shape {fmt(labels.shape)} must be [D1, ... DN] or "
                         f"[D1, ... DN, num_labels] for predictions of shape [D1, ... DN, k] = {fmt(idx.shape)}")
    return labels, present, idx


def _first_occurrence(x, present):
    """True where x[..., i] is present and differs from every present x[..., j < i]: each value of a row's
    set counted once (the number of labels need not be known when the graph is built)."""
    position = _range(shape(x)[-1])
    earlier = M.less(expand_dims(position, 0), expand_dims(position, 1))  # [i, j]: j < i
    same = M.logical_and(M.equal(expand_dims(x, -1), expand_dims(x, -2)), expand_dims(present, -2))
    return M.logical_and(present, M.logical_not(M.reduce_any(M.logical_and(same, earlier), axis=-1)))


def _matches(idx, labels, present):
    """[.., k, num_labels]: predicted class i is the present label j."""
    return M.logical_and(M.equal(expand_dims(idx, -1), expand_dims(labels, -2)), expand_dims(present, -2))


def _row_counts(labels, present, idx, class_id):
    """Per row (tp, fp, fn) as float64: |top ∩ labels|, |top - labels|, |labels - top| as sets, or, for
    `class_id`, whether that class is in both, only in the top k, only in the labels."""
    if class_id is not None:
        in_labels = M.reduce_any(M.logical_and(M.equal(labels, constant(class_id, _dt.int64)), present), axis=-1)
        in_top = M.reduce_any(M.equal(idx, constant(class_id, _dt.int64)), axis=-1)
        tp, fp = M.logical_and(in_labels, in_top), M.logical_and(in_top, M.logical_not(in_labels))
        fn = M.logical_and(in_labels, M.logical_not(in_top))
        return tuple(M.cast(c, _dt.float64) for c in (tp, fp, fn))
    same = _matches(idx, labels, present)
    top_hit, label_hit = M.reduce_any(same, axis=-1), M.reduce_any(same, axis=-2)
    top_once = _first_occurrence(idx, M.ones_like(idx, dtype=_dt.bool_))
    labels_once = _first_occurrence(labels, present)

    def count(a, b):
        return M.reduce_sum(M.cast(M.logical_and(a, b), _dt.float64), axis=-1)
    return (count(top_once, top_hit), count(top_once, M.logical_not(top_hit)),
            count(labels_once, M.logical_not(label_hit)))


def _row_weights(fn, weights, rows):
    """Weights as float64 that broadcast to the per-row counts (a scalar, or each dimension 1 or equal)."""
    w = M.cast(convert_to_tensor(weights), _dt.float64)
    if not w.shape.unknown_rank and len(w.shape) and not rows.shape.unknown_rank and (
            len(w.shape) != len(rows.shape) or any(a is not None and b is not None and a not in (1, b)
                                                   for a, b in zip(w.shape, rows.shape))):
        raise ShapeError(f"{fn}: weights '{w.name}' of shape {fmt(w.shape)} do not broadcast to the rows "
                         f"{fmt(rows.shape)} of the predictions")
    return w * M.ones_like(rows)


def _streaming_ratio(fn, default, other, labels, predictions_idx, k, class_id, weights, metrics_collections,
                     updates_collections, name):
    """tp / (tp + other) over every batch (float64; NaN while nothing counted, as TF1's)."""
    labels, present, idx = _ids(fn, labels, predictions_idx)
    with variable_scope(name, _at_k_name(default, k, class_id)):
        tp, fp, fn_ = _row_counts(labels, present, idx, class_id)
        miss = fp if other == "false_positive" else fn_
        if weights is not None:
            w = _row_weights(fn, weights, tp)
            tp, miss = tp * w, miss * w
        tp_var = metric_variable(_at_k_name("true_positive", k, class_id), dtype=_dt.float64)
        miss_var = metric_variable(_at_k_name(other, k, class_id), dtype=_dt.float64)
        tp_update = tp_var.assign_add(M.reduce_sum(tp))
        miss_update = miss_var.assign_add(M.reduce_sum(miss))
        value = M.divide(tp_var.value(), tp_var.value() + miss_var.value(), name="value")
        update = M.divide(tp_update, tp_update + miss_update, name="update")
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update


def precision_at_top_k(labels: TensorLike, predictions_idx: TensorLike, k: int | None = None,
                       class_id: int | None = None, weights: TensorLike | None = None,
                       metrics_collections: Collections = None, updates_collections: Collections = None,
                       name: str | None = None) -> tuple[Tensor, Tensor]:
    """How often a class among `predictions_idx` (the top k of each row) is one of the row's labels."""
    return _streaming_ratio("precision_at_top_k", "precision", "false_positive", labels, predictions_idx, k,
                            class_id, weights, metrics_collections, updates_collections, name)


def recall_at_top_k(labels: TensorLike, predictions_idx: TensorLike, k: int | None = None,
                    class_id: int | None = None, weights: TensorLike | None = None,
                    metrics_collections: Collections = None, updates_collections: Collections = None,
                    name: str | None = None) -> tuple[Tensor, Tensor]:
    """How often a label of a row is among `predictions_idx` (labels out of range count as misses)."""
    return _streaming_ratio("recall_at_top_k", "recall", "false_negative", labels, predictions_idx, k,
                            class_id, weights, metrics_collections, updates_collections, name)


def _top_indices(fn, predictions, k):
    return top_k(convert_to_tensor(predictions), _check_k(fn, k))[1]


def precision_at_k(labels: TensorLike, predictions: TensorLike, k: int, class_id: int | None = None,
                   weights: TensorLike | None = None, metrics_collections: Collections = None,
                   updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """precision_at_top_k of the k highest `predictions` of each row."""
    return precision_at_top_k(labels, _top_indices("precision_at_k", predictions, k), k, class_id, weights,
                              metrics_collections, updates_collections, name)


sparse_precision_at_k = precision_at_k  # TF1's deprecated name


def recall_at_k(labels: TensorLike, predictions: TensorLike, k: int, class_id: int | None = None,
                weights: TensorLike | None = None, metrics_collections: Collections = None,
                updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
    """recall_at_top_k of the k highest `predictions` of each row."""
    return recall_at_top_k(labels, _top_indices("recall_at_k", predictions, k), k, class_id, weights,
                           metrics_collections, updates_collections, name)


def _average_precision_rows(labels, present, idx, sparse):
    """Per row: the sum of precision@i over the ranks i whose class is a label, over min(relevant, k):
    TF1 counts as relevant a dense row's labels >= 0, a sparse row's distinct values."""
    k = int(idx.shape[-1])
    relevant = M.cast(M.reduce_any(_matches(idx, labels, present), axis=-1), _dt.float64)
    rank_axis = len(idx.shape) - 1
    precision_at = cumsum(relevant, axis=rank_axis) / constant(np.arange(1, k + 1, dtype=np.float64))
    counted = _first_occurrence(labels, present) if sparse else M.greater_equal(labels, 0)
    num_relevant = M.minimum(M.reduce_sum(M.cast(counted, _dt.float64), axis=-1), float(k))
    return M.divide(M.reduce_sum(precision_at * relevant, axis=-1), num_relevant)


def average_precision_at_k(labels: TensorLike, predictions: TensorLike, k: int, weights: TensorLike | None = None,
                           metrics_collections: Collections = None, updates_collections: Collections = None,
                           name: str | None = None) -> tuple[Tensor, Tensor]:
    """The mean over rows of average precision at k (TF1's: labels >= num_classes are dropped, a row with
    no label gives NaN); weights weigh rows, and the mean divides by their sum."""
    k = _check_k("average_precision_at_k", k)
    predictions = convert_to_tensor(predictions)
    with variable_scope(name, _at_k_name("average_precision", k)):
        sparse = isinstance(labels, (SparseTensor, SparseTensorValue))
        labels, present, idx = _ids("average_precision_at_k", labels,
                                    _top_indices("average_precision_at_k", predictions, k))
        num_classes = predictions.shape[-1] if not predictions.shape.unknown_rank else None
        if num_classes is None:
            raise ShapeError(f"average_precision_at_k: predictions '{predictions.name}' need a known last "
                             f"dimension (the number of classes), got {fmt(predictions.shape)}")
        labels = M.where(M.greater_equal(labels, int(num_classes)), -M.ones_like(labels), labels)
        ap = _average_precision_rows(labels, present, idx, sparse)
        if weights is None:
            batch_max = M.reduce_sum(M.ones_like(ap))
        else:
            w = _row_weights("average_precision_at_k", weights, ap)
            ap, batch_max = ap * w, M.reduce_sum(w)
        max_var = metric_variable("max", dtype=_dt.float64)
        total_var = metric_variable("total", dtype=_dt.float64)
        max_update, total_update = max_var.assign_add(batch_max), total_var.assign_add(M.reduce_sum(ap))
        value = identity(safe_div(total_var.value(), max_var.value()), name="mean")
        update = identity(safe_div(total_update, max_update), name="update_op")
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update


sparse_average_precision_at_k = average_precision_at_k  # TF1's deprecated name
