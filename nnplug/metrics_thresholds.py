"""`tf.metrics` at thresholds: confusion counts for each of a list of thresholds (a prediction is positive
when strictly above one), and what TF1 builds on them: precision/recall at thresholds, auc (ROC or PR,
`num_thresholds` evenly spaced), sensitivity at a specificity and specificity at a sensitivity."""
from __future__ import annotations

from collections.abc import Sequence

from . import dtypes as _dt
from . import logging as _logging
from .graph import Tensor, constant, control_dependencies, convert_to_tensor
from .metric_variables import broadcast, collect, metric_variable, prepare
from .ops import math_ops as M
from .ops.array_ops import gather, identity, reshape
from .ops.debug_ops import assert_greater_equal, assert_less_equal
from .ops.math_extra_ops import cumsum
from .variables import variable_scope
from ._types import TensorLike

Collections = Sequence[str] | None

_VARIABLE_NAMES = {"tp": "true_positives", "fn": "false_negatives", "tn": "true_negatives", "fp": "false_positives"}
KEPSILON = 1e-7  # TF1's end points sit this far outside [0, 1], and its ratios add it to their denominators


def _threshold_list(fn, thresholds):
    try:
        values = [float(t) for t in thresholds]
    except TypeError:
        raise TypeError(f"{fn}: thresholds must be a list of Python floats, got {thresholds!r:.60}") from None
    if not values:
        raise ValueError(f"{fn}: thresholds must not be empty")
    return values


def confusion_at_thresholds(fn, labels, predictions, thresholds, weights=None, includes=("tp", "fn", "tn", "fp")):
    """({kind: counts}, {kind: update}) with one float32 count per threshold for each kind in `includes`.

    Labels are cast to bool; predictions must lie in [0, 1] (checked when the graph runs, as TF1 does)."""
    predictions = convert_to_tensor(predictions)
    with control_dependencies([
            assert_greater_equal(predictions, M.cast(0.0, predictions.dtype), message="predictions must be in [0, 1]"),
            assert_less_equal(predictions, M.cast(1.0, predictions.dtype), message="predictions must be in [0, 1]")]):
        predictions = identity(M.cast(predictions, _dt.float32))  # an op of its own, to carry the checks
    labels = M.cast(convert_to_tensor(labels), _dt.bool_)
    predictions, labels, weights = prepare(fn, predictions, labels, weights)
    thresh = constant([[t] for t in thresholds], dtype=_dt.float32)  # (T, 1) against (1, N)
    pred_pos = M.greater(reshape(predictions, [1, -1]), thresh)
    label_pos = reshape(labels, [1, -1])
    w = None if weights is None else reshape(broadcast(weights, predictions), [1, -1])
    conditions = {"tp": lambda: M.logical_and(label_pos, pred_pos),
                  "fn": lambda: M.logical_and(label_pos, M.logical_not(pred_pos)),
                  "tn": lambda: M.logical_and(M.logical_not(label_pos), M.logical_not(pred_pos)),
                  "fp": lambda: M.logical_and(M.logical_not(label_pos), pred_pos)}
    values, updates = {}, {}
    for kind in includes:
        var = metric_variable(_VARIABLE_NAMES[kind], [len(thresholds)])
        hits = M.cast(conditions[kind](), _dt.float32)  # (T, N)
        if w is not None:
            hits = hits * w
        values[kind] = var.value()
        updates[kind] = var.assign_add(M.reduce_sum(hits, axis=1))
    return values, updates


def _counts_at_thresholds(kind, default):
    def counts(labels: TensorLike, predictions: TensorLike, thresholds: Sequence[float],
               weights: TensorLike | None = None, metrics_collections: Collections = None,
               updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
        with variable_scope(name, _VARIABLE_NAMES[kind]):  # TF1's scope: 'true_positives', ...
            values, updates = confusion_at_thresholds(default, labels, predictions,
                                                      _threshold_list(default, thresholds), weights, (kind,))
        collect(metrics_collections, values[kind])
        collect(updates_collections, updates[kind])
        return values[kind], updates[kind]
    counts.__name__ = counts.__qualname__ = default
    counts.__doc__ = f"The (weighted) {_VARIABLE_NAMES[kind].replace('_', ' ')}, one count per threshold."
    return counts


true_positives_at_thresholds = _counts_at_thresholds("tp", "true_positives_at_thresholds")
false_positives_at_thresholds = _counts_at_thresholds("fp", "false_positives_at_thresholds")
true_negatives_at_thresholds = _counts_at_thresholds("tn", "true_negatives_at_thresholds")
false_negatives_at_thresholds = _counts_at_thresholds("fn", "false_negatives_at_thresholds")


def _ratio_at_thresholds(default, other):
    def ratio(labels: TensorLike, predictions: TensorLike, thresholds: Sequence[float],
              weights: TensorLike | None = None, metrics_collections: Collections = None,
              updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
        with variable_scope(name, default):
            values, updates = confusion_at_thresholds(default, labels, predictions,
                                                      _threshold_list(default, thresholds), weights, ("tp", other))
            value = identity(values["tp"] / (KEPSILON + values["tp"] + values[other]), name="value")
            update = identity(updates["tp"] / (KEPSILON + updates["tp"] + updates[other]), name="update_op")
        collect(metrics_collections, value)
        collect(updates_collections, update)
        return value, update
    ratio.__name__ = ratio.__qualname__ = default
    ratio.__doc__ = f"tp / (1e-7 + tp + {other}) at each threshold (TF1's epsilon keeps an empty count at 0)."
    return ratio


precision_at_thresholds = _ratio_at_thresholds("precision_at_thresholds", "fp")
recall_at_thresholds = _ratio_at_thresholds("recall_at_thresholds", "fn")


def evenly_spaced(num_thresholds):
    """TF1's thresholds: num_thresholds - 2 inside (0, 1) and one just outside each end."""
    if not isinstance(num_thresholds, int) or isinstance(num_thresholds, bool) or num_thresholds < 2:
        raise ValueError(f"num_thresholds must be a Python int of at least 2, got {num_thresholds!r:.40}")
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - KEPSILON] + inner + [1.0 + KEPSILON]


SUMMATION_METHODS = ("trapezoidal", "careful_interpolation", "minoring", "majoring")


def _interpolate_pr_auc(tp, fp, fn, n):
    """TF1's careful interpolation of the PR curve (Davis & Goadrich): precision varies linearly with the
    number of predicted positives between two thresholds, which integrates to a log term."""
    dtp = tp[:n - 1] - tp[1:]
    p = tp + fp
    dp = M.maximum(p[:n - 1] - p[1:], 0.0)
    slope = _div_no_nan(dtp, dp)
    intercept = tp[1:] - slope * p[1:]
    both = M.logical_and(M.greater(p[:n - 1], 0.0), M.greater(p[1:], 0.0))
    ratio = M.where(both, _div_no_nan(p[:n - 1], M.maximum(p[1:], 0.0)), M.ones_like(p[1:]))
    return M.reduce_sum(_div_no_nan(slope * (dtp + intercept * M.log(ratio)), M.maximum(tp[1:] + fn[1:], 0.0)))


def _div_no_nan(num, den):
    nonzero = M.not_equal(den, 0.0)
    return M.where(nonzero, num / M.where(nonzero, den, M.ones_like(den)), M.zeros_like(num))


def _auc_of(counts, curve, summation_method, n, name):
    tp, fn, tn, fp = (counts[k] for k in ("tp", "fn", "tn", "fp"))
    if curve == "PR" and summation_method == "careful_interpolation":
        return identity(_interpolate_pr_auc(tp, fp, fn, n), name=name)
    epsilon = 1.0e-6  # TF1's: a curve point with nothing counted is (0, 1) or (1, 1), never 0/0
    rec = (tp + epsilon) / (tp + fn + epsilon)
    if curve == "ROC":
        x, y = fp / (fp + tn + epsilon), rec
    else:
        x, y = rec, (tp + epsilon) / (tp + fp + epsilon)
    dx = x[:n - 1] - x[1:]
    if summation_method == "minoring":
        height = M.minimum(y[:n - 1], y[1:])
    elif summation_method == "majoring":
        height = M.maximum(y[:n - 1], y[1:])
    else:
        height = (y[:n - 1] + y[1:]) / 2.0
    return M.reduce_sum(dx * height, name=name)


def auc(labels: TensorLike, predictions: TensorLike, weights: TensorLike | None = None, num_thresholds: int = 200,
        metrics_collections: Collections = None, updates_collections: Collections = None, curve: str = "ROC",
        name: str | None = None, summation_method: str = "trapezoidal",
        thresholds: Sequence[float] | None = None) -> tuple[Tensor, Tensor]:
    """The area under the ROC or PR curve, from confusion counts at `num_thresholds` thresholds (or the
    sorted `thresholds` given, with the two end points added), summed by `summation_method`."""
    if curve not in ("ROC", "PR"):
        raise ValueError(f"auc: curve must be either ROC or PR, {curve!r:.40} unknown")
    if summation_method not in SUMMATION_METHODS:
        raise ValueError(f"auc: invalid summation_method {summation_method!r:.40}, expected one of "
                         f"{', '.join(SUMMATION_METHODS)}")
    if curve == "PR" and summation_method == "trapezoidal":
        _logging.warning('Trapezoidal rule is known to produce incorrect PR-AUCs; please switch to '
                         '"careful_interpolation" instead.')
    if thresholds is not None:
        points = [0.0 - KEPSILON] + sorted(_threshold_list("auc", thresholds)) + [1.0 + KEPSILON]
    else:
        points = evenly_spaced(num_thresholds)
    with variable_scope(name, "auc"):
        values, updates = confusion_at_thresholds("auc", labels, predictions, points, weights)
        value = _auc_of(values, curve, summation_method, len(points), "value")
        update = _auc_of(updates, curve, summation_method, len(points), "update_op")
    collect(metrics_collections, value)
    collect(updates_collections, update)
    return value, update


def _check_rate(fn, what, rate):
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{fn}: `{what}` must be in the range [0, 1], got {rate!r:.40}")
    return float(rate)


def _sensitivity_at(counts, specificity, name):
    """Recall at the threshold whose specificity is nearest `specificity` (the first of equals)."""
    specificities = counts["tn"] / (counts["tn"] + counts["fp"] + KEPSILON)
    index = M.argmin(M.abs(specificities - specificity), 0, output_type=_dt.int32)
    tp, fn = gather(counts["tp"], index), gather(counts["fn"], index)
    return identity(tp / (tp + fn + KEPSILON), name=name)


def _specificity_at(counts, sensitivity, name):
    """Specificity at the threshold whose sensitivity is nearest `sensitivity` (the last of equals, TF1's)."""
    gap = M.abs(counts["tp"] / (counts["tp"] + counts["fn"] + KEPSILON) - sensitivity)
    at_min = cumsum(M.cast(M.equal(gap, M.reduce_min(gap)), _dt.int32))
    index = M.argmax(at_min, 0, output_type=_dt.int32)
    tn, fp = gather(counts["tn"], index), gather(counts["fp"], index)
    return identity(tn / (tn + fp + KEPSILON), name=name)


def _at_rate(default, what, pick):
    def metric(labels: TensorLike, predictions: TensorLike, rate: float, weights: TensorLike | None = None,
               num_thresholds: int = 200, metrics_collections: Collections = None,
               updates_collections: Collections = None, name: str | None = None) -> tuple[Tensor, Tensor]:
        rate = _check_rate(default, what, rate)
        with variable_scope(name, default):
            values, updates = confusion_at_thresholds(default, labels, predictions, evenly_spaced(num_thresholds),
                                                      weights)
            value, update = pick(values, rate, "value"), pick(updates, rate, "update_op")
        collect(metrics_collections, value)
        collect(updates_collections, update)
        return value, update
    return metric


_sensitivity = _at_rate("sensitivity_at_specificity", "specificity", _sensitivity_at)
_specificity = _at_rate("specificity_at_sensitivity", "sensitivity", _specificity_at)


def sensitivity_at_specificity(labels: TensorLike, predictions: TensorLike, specificity: float,
                               weights: TensorLike | None = None, num_thresholds: int = 200,
                               metrics_collections: Collections = None, updates_collections: Collections = None,
                               name: str | None = None) -> tuple[Tensor, Tensor]:
    """The recall at the threshold (of `num_thresholds`) whose specificity is nearest `specificity`."""
    return _sensitivity(labels, predictions, specificity, weights, num_thresholds, metrics_collections,
                        updates_collections, name)


def specificity_at_sensitivity(labels: TensorLike, predictions: TensorLike, sensitivity: float,
                               weights: TensorLike | None = None, num_thresholds: int = 200,
                               metrics_collections: Collections = None, updates_collections: Collections = None,
                               name: str | None = None) -> tuple[Tensor, Tensor]:
    """The specificity at the threshold (of `num_thresholds`) whose recall is nearest `sensitivity`."""
    return _specificity(labels, predictions, sensitivity, weights, num_thresholds, metrics_collections,
                        updates_collections, name)
