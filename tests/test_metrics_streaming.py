"""tf.metrics streamed over several batches against float64 NumPy references computed over all the
batches at once (hand-written: TF1's documented formulas, sets per row, the trapezoid rule over the same
thresholds), with weights, the reset by re-running the local initializer, and the errors."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.shapes import ShapeError

RNG = np.random.default_rng(7)
SIZES = (5, 9, 4)  # three batches of different sizes


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


def batches(**makers):
    """One dict of arrays per batch: makers[name](n) gives that input for a batch of n rows."""
    return [{k: make(n) for k, make in makers.items()} for n in SIZES]


def concat(parts):
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def stream(build, parts, session_backend=None):
    """(value after every batch, update's result at the last batch, value after a reset and the first
    batch again): placeholders with an unknown batch axis are fed one batch per update run."""
    holders = {k: tf.placeholder(tf.as_dtype(v.dtype), (None,) + v.shape[1:], name=k) for k, v in parts[0].items()}
    value, update = build(**holders)
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        for p in parts:
            last = s.run(update, {holders[k]: v for k, v in p.items()})
        total = s.run(value)
        s.run(tf.local_variables_initializer())
        s.run(update, {holders[k]: v for k, v in parts[0].items()})
        again = s.run(value)
    return total, last, again


def check(build, ref, parts, rtol=1e-5, atol=1e-6, update_gives_value=True):
    total, last, again = stream(build, parts)
    np.testing.assert_allclose(total, ref(**concat(parts)), rtol=rtol, atol=atol)
    if update_gives_value:
        np.testing.assert_allclose(last, total, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(again, ref(**parts[0]), rtol=rtol, atol=atol)


def floats(*shape, low=-2.0, high=2.0):
    return lambda n: RNG.uniform(low, high, (n,) + shape).astype(np.float32)


def unit(n):
    return RNG.uniform(0, 1, (n,)).astype(np.float32)


def weights(n):
    return RNG.choice([0.0, 0.5, 1.0, 3.0], n).astype(np.float32)


def wmean(x, w=None):
    x = np.asarray(x, np.float64)
    w = np.ones_like(x) if w is None else np.broadcast_to(np.asarray(w, np.float64), x.shape)
    return (x * w).sum() / w.sum() if w.sum() else 0.0


# -- means ---------------------------------------------------------------------------------------
def test_mean_squared_root_absolute_errors_with_and_without_weights():
    parts = batches(labels=floats(3), predictions=floats(3), w=lambda n: weights(n)[:, None])
    for fn, ref in [(tf.metrics.mean_squared_error, lambda d: d ** 2),
                    (tf.metrics.mean_absolute_error, np.abs)]:
        check(lambda labels, predictions, w: fn(labels, predictions),
              lambda labels, predictions, w: wmean(ref(predictions.astype(np.float64) - labels)), parts)
        check(lambda labels, predictions, w: fn(labels, predictions, weights=w),
              lambda labels, predictions, w: wmean(ref(predictions.astype(np.float64) - labels), w), parts)
    check(lambda labels, predictions, w: tf.metrics.root_mean_squared_error(labels, predictions, w),
          lambda labels, predictions, w: np.sqrt(wmean((predictions.astype(np.float64) - labels) ** 2, w)), parts)


def test_mean_relative_error_counts_zero_normalizers_as_zero():
    parts = batches(labels=floats(), predictions=floats(), norm=lambda n: RNG.choice([0.0, 0.5, 2.0], n)
                    .astype(np.float32))

    def ref(labels, predictions, norm):
        err = np.where(norm == 0, 0.0, np.abs(labels.astype(np.float64) - predictions) / np.where(norm == 0, 1, norm))
        return err.mean()
    check(lambda labels, predictions, norm: tf.metrics.mean_relative_error(labels, predictions, norm), ref, parts)


def test_mean_cosine_distance_weights_each_example():
    def vectors(n):
        v = RNG.normal(size=(n, 4))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    parts = batches(labels=vectors, predictions=vectors, w=lambda n: weights(n)[:, None])
    check(lambda labels, predictions, w: tf.metrics.mean_cosine_distance(labels, predictions, dim=1, weights=w),
          lambda labels, predictions, w: 1.0 - wmean((labels.astype(np.float64) * predictions).sum(1), w[:, 0]),
          parts)


def test_mean_tensor_is_elementwise_and_zero_where_nothing_counted():
    values = tf.placeholder(tf.float32, [2, 3])
    w = tf.placeholder(tf.float32, [2, 3])
    value, update = tf.metrics.mean_tensor(values, w)
    xs, ws = RNG.normal(size=(3, 2, 3)), RNG.choice([0.0, 1.0, 2.0], (3, 2, 3))
    ws[:, 0, 0] = 0.0  # never counted: 0, not NaN
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        for x, wt in zip(xs, ws):
            s.run(update, {values: x, w: wt})
        got = s.run(value)
    den = ws.sum(0)
    np.testing.assert_allclose(got, np.where(den > 0, (xs * ws).sum(0) / np.where(den > 0, den, 1), 0), rtol=1e-5)
    assert got[0, 0] == 0.0 and got.shape == (2, 3)


def test_percentage_below_and_mean_with_weights():
    parts = batches(v=floats(), w=weights)
    check(lambda v, w: tf.metrics.percentage_below(v, 0.25, weights=w),
          lambda v, w: wmean(v < 0.25, w), parts)
    check(lambda v, w: tf.metrics.mean(v, w), lambda v, w: wmean(v, w), parts)


# -- counts, precision, recall ----------------------------------------------------------------------
def labels_012(n):
    return RNG.integers(0, 3, n).astype(np.int32)  # 1 and 2 both cast to True


def sparse_scores(n):
    return (RNG.uniform(0, 1, n) * RNG.integers(0, 2, n)).astype(np.float32)  # 0.0 casts to False


def confusion_ref(labels, predictions, w=None):
    lab, pred = labels != 0, predictions != 0
    w = np.ones(lab.shape) if w is None else w.astype(np.float64)
    return {"tp": (w * (lab & pred)).sum(), "fp": (w * (~lab & pred)).sum(), "tn": (w * (~lab & ~pred)).sum(),
            "fn": (w * (lab & ~pred)).sum()}


@pytest.mark.parametrize("kind, fn", [("tp", tf.metrics.true_positives), ("fp", tf.metrics.false_positives),
                                      ("tn", tf.metrics.true_negatives), ("fn", tf.metrics.false_negatives)])
def test_counts_cast_labels_and_predictions_to_bool(kind, fn):
    parts = batches(labels=labels_012, predictions=sparse_scores, w=weights)
    check(lambda labels, predictions, w: fn(labels, predictions),
          lambda labels, predictions, w: confusion_ref(labels, predictions)[kind], parts)
    check(lambda labels, predictions, w: fn(labels, predictions, weights=w),
          lambda labels, predictions, w: confusion_ref(labels, predictions, w)[kind], parts)


def test_precision_and_recall():
    parts = batches(labels=labels_012, predictions=sparse_scores, w=weights)

    def ratio(other):
        def ref(labels, predictions, w):
            c = confusion_ref(labels, predictions, w)
            return c["tp"] / (c["tp"] + c[other]) if c["tp"] + c[other] else 0.0
        return ref
    check(lambda labels, predictions, w: tf.metrics.precision(labels, predictions, w), ratio("fp"), parts)
    check(lambda labels, predictions, w: tf.metrics.recall(labels, predictions, w), ratio("fn"), parts)


def test_precision_is_zero_when_nothing_is_predicted_positive():
    value, update = tf.metrics.precision([1, 1, 0], [0.0, 0.0, 0.0])
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        assert s.run(update) == 0.0 and s.run(value) == 0.0


# -- thresholds ---------------------------------------------------------------------------------------
THRESHOLDS = [0.0, 0.3, 0.5, 0.9]


def confusion_at(thresholds, labels, predictions, w=None):
    """Counts per threshold: positive when strictly above it (float32 comparisons, as the graph's)."""
    lab = labels != 0
    w = np.ones(lab.shape) if w is None else w.astype(np.float64)
    out = {k: [] for k in ("tp", "fp", "tn", "fn")}
    for t in np.asarray(thresholds, np.float32):
        pos = predictions > t
        out["tp"].append((w * (lab & pos)).sum())
        out["fp"].append((w * (~lab & pos)).sum())
        out["tn"].append((w * (~lab & ~pos)).sum())
        out["fn"].append((w * (lab & ~pos)).sum())
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("kind", ["tp", "fp", "tn", "fn"])
def test_counts_at_thresholds(kind):
    fn = getattr(tf.metrics, {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                              "fn": "false_negatives"}[kind] + "_at_thresholds")
    parts = batches(labels=labels_012, predictions=unit, w=weights)
    check(lambda labels, predictions, w: fn(labels, predictions, THRESHOLDS, weights=w),
          lambda labels, predictions, w: confusion_at(THRESHOLDS, labels, predictions, w)[kind], parts)


def test_precision_and_recall_at_thresholds_use_tf1s_epsilon():
    parts = batches(labels=labels_012, predictions=unit, w=weights)

    def ref(other):
        def r(labels, predictions, w):
            c = confusion_at(THRESHOLDS + [1.0], labels, predictions, w)
            return c["tp"] / (1e-7 + c["tp"] + c[other])
        return r
    check(lambda labels, predictions, w: tf.metrics.precision_at_thresholds(labels, predictions, THRESHOLDS + [1.0], w),
          ref("fp"), parts)
    check(lambda labels, predictions, w: tf.metrics.recall_at_thresholds(labels, predictions, THRESHOLDS + [1.0], w),
          ref("fn"), parts)


def auc_thresholds(num):
    return [-1e-7] + [(i + 1) / (num - 1) for i in range(num - 2)] + [1 + 1e-7]


def trapezoid_auc(labels, predictions, w=None, num=200, curve="ROC", thresholds=None):
    """TF1's auc by the trapezoid rule: (recall, fp rate) or (recall, precision) with its 1e-6 epsilon."""
    c = confusion_at(thresholds or auc_thresholds(num), labels, predictions, w)
    eps = 1e-6
    rec = (c["tp"] + eps) / (c["tp"] + c["fn"] + eps)
    if curve == "ROC":
        x, y = c["fp"] / (c["fp"] + c["tn"] + eps), rec
    else:
        x, y = rec, (c["tp"] + eps) / (c["tp"] + c["fp"] + eps)
    return sum((x[i] - x[i + 1]) * (y[i] + y[i + 1]) / 2 for i in range(len(x) - 1))


def careful_pr_auc(labels, predictions, w=None, num=200):
    """Davis & Goadrich's interpolation between neighbouring thresholds, one interval at a time."""
    c = confusion_at(auc_thresholds(num), labels, predictions, w)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    p = tp + fp
    area = 0.0
    for i in range(len(tp) - 1):
        dtp, dp = tp[i] - tp[i + 1], max(p[i] - p[i + 1], 0.0)
        slope = dtp / dp if dp else 0.0
        intercept = tp[i + 1] - slope * p[i + 1]
        ratio = p[i] / p[i + 1] if p[i] > 0 and p[i + 1] > 0 else 1.0
        den = tp[i + 1] + fn[i + 1]
        area += slope * (dtp + intercept * np.log(ratio)) / den if den else 0.0
    return area


def test_auc_roc_default_is_the_trapezoid_rule_over_200_thresholds():
    parts = batches(labels=labels_012, predictions=unit, w=weights)
    check(lambda labels, predictions, w: tf.metrics.auc(labels, predictions),
          lambda labels, predictions, w: trapezoid_auc(labels, predictions), parts)
    check(lambda labels, predictions, w: tf.metrics.auc(labels, predictions, w, num_thresholds=50),
          lambda labels, predictions, w: trapezoid_auc(labels, predictions, w, num=50), parts)


def test_auc_pr_trapezoidal_careful_interpolation_and_given_thresholds():
    parts = batches(labels=labels_012, predictions=unit, w=weights)
    check(lambda labels, predictions, w: tf.metrics.auc(labels, predictions, w, curve="PR"),
          lambda labels, predictions, w: trapezoid_auc(labels, predictions, w, curve="PR"), parts)
    check(lambda labels, predictions, w: tf.metrics.auc(labels, predictions, w, curve="PR",
                                                        summation_method="careful_interpolation"),
          lambda labels, predictions, w: careful_pr_auc(labels, predictions, w), parts)
    given = [0.7, 0.2, 0.5]  # sorted, with the end points added
    check(lambda labels, predictions, w: tf.metrics.auc(labels, predictions, thresholds=given),
          lambda labels, predictions, w: trapezoid_auc(labels, predictions,
                                                       thresholds=[-1e-7, 0.2, 0.5, 0.7, 1 + 1e-7]), parts)


def test_auc_of_perfectly_separated_scores_is_one_and_of_reversed_zero():
    labels = np.array([0, 0, 1, 1])
    with tf.Session() as s:
        good, good_up = tf.metrics.auc(labels, [0.1, 0.2, 0.8, 0.9])
        bad, bad_up = tf.metrics.auc(labels, [0.9, 0.8, 0.2, 0.1])
        s.run(tf.local_variables_initializer())
        s.run([good_up, bad_up])
        assert s.run(good) == pytest.approx(1.0, abs=1e-5)
        assert s.run(bad) == pytest.approx(0.0, abs=1e-5)


def rates_at(labels, predictions, w, num):
    c = confusion_at(auc_thresholds(num), labels, predictions, w)
    k = 1e-7
    return (c["tp"] / (c["tp"] + c["fn"] + k), c["tn"] / (c["tn"] + c["fp"] + k))


def test_sensitivity_at_specificity_takes_the_first_nearest_threshold():
    parts = batches(labels=labels_012, predictions=unit, w=weights)

    def ref(labels, predictions, w):
        sens, spec = rates_at(labels, predictions, w, 20)
        gaps = [abs(s - 0.6) for s in spec]
        return sens[gaps.index(min(gaps))]
    check(lambda labels, predictions, w: tf.metrics.sensitivity_at_specificity(labels, predictions, 0.6, w,
                                                                               num_thresholds=20), ref, parts)


def test_specificity_at_sensitivity_takes_the_last_nearest_threshold():
    parts = batches(labels=labels_012, predictions=unit, w=weights)

    def ref(labels, predictions, w):
        sens, spec = rates_at(labels, predictions, w, 20)
        gaps = [abs(s - 0.5) for s in sens]
        last = max(i for i, g in enumerate(gaps) if g == min(gaps))
        return spec[last]
    check(lambda labels, predictions, w: tf.metrics.specificity_at_sensitivity(labels, predictions, 0.5, w,
                                                                               num_thresholds=20), ref, parts)


# -- classes ------------------------------------------------------------------------------------------
def classes(n):
    return RNG.integers(0, 4, n).astype(np.int64)


def confusion_matrix_ref(labels, predictions, w, num):
    cm = np.zeros((num, num))
    np.add.at(cm, (labels, predictions), 1.0 if w is None else w.astype(np.float64))
    return cm


def test_mean_iou_leaves_out_classes_never_seen():
    parts = batches(labels=lambda n: RNG.integers(0, 3, n), predictions=lambda n: RNG.integers(0, 3, n), w=weights)

    def ref(labels, predictions, w):  # class 4 of 5 never occurs
        cm = confusion_matrix_ref(labels, predictions, w, 5)
        union = cm.sum(0) + cm.sum(1) - np.diag(cm)
        seen = union > 0
        return (np.diag(cm)[seen] / union[seen]).mean()
    check(lambda labels, predictions, w: tf.metrics.mean_iou(labels, predictions, 5, w), ref, parts,
          update_gives_value=False)
    total, last, _ = stream(lambda labels, predictions, w: tf.metrics.mean_iou(labels, predictions, 5), parts)
    assert last.shape == (5, 5) and last.dtype == np.float64  # update_op gives the confusion matrix
    all_ = concat(parts)
    np.testing.assert_array_equal(last, confusion_matrix_ref(all_["labels"], all_["predictions"], None, 5))


def test_mean_per_class_accuracy_averages_over_all_classes():
    parts = batches(labels=classes, predictions=classes, w=weights)

    def per_class(labels, predictions, w):
        seen = np.bincount(labels, w, minlength=5)
        right = np.bincount(labels, w * (labels == predictions), minlength=5)
        return np.where(seen > 0, right / np.where(seen > 0, seen, 1), 0.0)
    check(lambda labels, predictions, w: tf.metrics.mean_per_class_accuracy(labels, predictions, 5, w),
          lambda **a: per_class(**a).mean(), parts, update_gives_value=False)
    _, last, _ = stream(lambda labels, predictions, w: tf.metrics.mean_per_class_accuracy(labels, predictions, 5, w),
                        parts)
    np.testing.assert_allclose(last, per_class(**concat(parts)), rtol=1e-6)  # update_op: per class


# -- top k --------------------------------------------------------------------------------------------
def multi_labels(n):
    out = RNG.integers(-1, 6, (n, 3))  # -1 and 5 are outside the 5 classes; repeats count once
    out[0] = [2, 2, 2]
    return out.astype(np.int64)


def scores(n):
    return RNG.permutation(np.arange(n * 5, dtype=np.float32)).reshape(n, 5)  # no ties


def topk_sets(labels, predictions, k):
    return [(set(row_l.tolist()), set(np.argsort(-row_p)[:k].tolist())) for row_l, row_p in zip(labels, predictions)]


def topk_ref(kind, k, class_id=None):
    def ref(labels, predictions, w):
        tp = miss = 0.0
        for (lab, top), wt in zip(topk_sets(labels, predictions, k), w.astype(np.float64)):
            if class_id is not None:
                lab, top = lab & {class_id}, top & {class_id}
            tp += wt * len(lab & top)
            miss += wt * len(top - lab if kind == "precision" else lab - top)
        return tp / (tp + miss) if tp + miss else np.nan
    return ref


@pytest.mark.parametrize("kind", ["precision", "recall"])
@pytest.mark.parametrize("class_id", [None, 1])
def test_precision_and_recall_at_k_are_set_counts_per_row(kind, class_id):
    parts = batches(labels=multi_labels, predictions=scores, w=weights)
    fn = getattr(tf.metrics, f"{kind}_at_k")
    check(lambda labels, predictions, w: fn(labels, predictions, 2, class_id=class_id, weights=w),
          topk_ref(kind, 2, class_id), parts)


def test_at_top_k_takes_indices_and_one_label_a_row():
    parts = batches(labels=lambda n: RNG.integers(0, 5, n), idx=lambda n: np.stack(
        [RNG.permutation(5)[:3] for _ in range(n)]).astype(np.int32), w=weights)

    def ref(kind):
        def r(labels, idx, w):
            hit = np.array([lab in row for lab, row in zip(labels, idx)], np.float64)
            tp = (w * hit).sum()
            return tp / (w.sum() * (3 if kind == "precision" else 1))
        return r
    check(lambda labels, idx, w: tf.metrics.precision_at_top_k(labels, idx, weights=w), ref("precision"), parts)
    check(lambda labels, idx, w: tf.metrics.recall_at_top_k(labels, idx, weights=w), ref("recall"), parts)
    assert tf.metrics.sparse_precision_at_k is tf.metrics.precision_at_k


def test_average_precision_at_k():
    def labels(n):
        out = RNG.integers(-1, 7, (n, 3))  # 5 and 6 >= num_classes: dropped, as TF1 does
        out[:, 0] = RNG.integers(0, 5, n)  # every row has a label, so no row is NaN
        return out.astype(np.int64)
    parts = batches(labels=labels, predictions=scores, w=weights)

    def ref(labels, predictions, w, k=3):
        total = 0.0
        for row_l, row_p, wt in zip(labels, predictions, w.astype(np.float64)):
            relevant = {x for x in row_l.tolist() if 0 <= x < 5}
            top = np.argsort(-row_p)[:k]
            hits, s = 0, 0.0
            for i, c in enumerate(top):
                if c in relevant:
                    hits += 1
                    s += hits / (i + 1)
            kept = sum(1 for x in row_l if 0 <= x < 5)  # TF1 counts the kept entries, repeats included
            total += wt * s / min(kept, k)
        return total / w.sum() if w.sum() else 0.0
    check(lambda labels, predictions, w: tf.metrics.average_precision_at_k(labels, predictions, 3, w), ref, parts)


# -- variables, collections, errors ----------------------------------------------------------------------
def test_metric_variables_are_local_and_collections_are_filled():
    value, update = tf.metrics.auc([0, 1], [0.2, 0.7], metrics_collections=["m"], updates_collections=["u"])
    local = tf.get_collection(tf.GraphKeys.LOCAL_VARIABLES)
    assert {v.name for v in local} == {f"auc/{n}:0" for n in
                                       ("true_positives", "false_negatives", "true_negatives", "false_positives")}
    assert local == tf.get_collection("metric_variables")
    assert not tf.global_variables() and not tf.trainable_variables()
    assert tf.get_collection("m") == [value] and tf.get_collection("u") == [update]


def test_mismatched_shapes_and_bad_arguments_are_named():
    a, b = tf.placeholder(tf.float32, [None, 3], name="a"), tf.placeholder(tf.float32, [None, 4], name="b")
    with pytest.raises(ShapeError, match=r"labels 'a:0' of shape \(\?, 3\) and predictions 'b:0' of shape \(\?, 4\)"):
        tf.metrics.mean_squared_error(a, b)
    with pytest.raises(ShapeError, match="weights .* do not broadcast"):
        tf.metrics.precision(a, a, weights=tf.placeholder(tf.float32, [None, 2]))
    with pytest.raises(ShapeError, match="auc.*same shape"):
        tf.metrics.auc(a, b)
    with pytest.raises(ValueError, match="curve must be either ROC or PR"):
        tf.metrics.auc(a, a, curve="DET")
    with pytest.raises(ValueError, match="summation_method"):
        tf.metrics.auc(a, a, summation_method="simpson")
    with pytest.raises(ValueError, match="specificity` must be in the range"):
        tf.metrics.sensitivity_at_specificity(a, a, 1.5)
    with pytest.raises(ShapeError, match="mean_iou.*same shape"):
        tf.metrics.mean_iou(tf.placeholder(tf.int32, [3]), tf.placeholder(tf.int32, [4]), 2)
    with pytest.raises(ShapeError, match="mean_per_class_accuracy.*same shape"):
        tf.metrics.mean_per_class_accuracy(tf.placeholder(tf.int32, [3]), tf.placeholder(tf.int32, [2, 2]), 2)
    tf.metrics.mean_per_class_accuracy(tf.placeholder(tf.int32, [4, 1]), tf.placeholder(tf.int32, [4]), 2)  # flat
    with pytest.raises(ShapeError, match="labels .* must be"):
        tf.metrics.recall_at_k(tf.placeholder(tf.int64, [2, 3, 4]), tf.placeholder(tf.float32, [2, 5]), 2)
    with pytest.raises(ValueError, match="invalid k"):
        tf.metrics.precision_at_k(tf.placeholder(tf.int64, [2]), tf.placeholder(tf.float32, [2, 5]), 0)


def test_predictions_outside_0_1_fail_when_run():
    value, update = tf.metrics.auc([0, 1], [0.5, 1.5])
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        with pytest.raises(InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
            s.run(update)


# -- losses.mean_pairwise_squared_error -----------------------------------------------------------------
def test_mean_pairwise_squared_error_is_the_mean_over_pairs_summed_over_examples():
    labels, predictions = RNG.normal(size=(4, 2, 3)), RNG.normal(size=(4, 2, 3))
    w = np.array([1.0, 0.5, 2.0, 0.0])

    def ref(weights):
        total = 0.0
        for d, wt in zip((predictions - labels).reshape(4, -1), weights):
            pairs = [(d[i] - d[j]) ** 2 for i in range(6) for j in range(i + 1, 6)]
            total += wt * np.mean(pairs)
        return total
    with tf.Session() as s:
        got = s.run(tf.losses.mean_pairwise_squared_error(labels.astype(np.float32), predictions.astype(np.float32)))
        got_w = s.run(tf.losses.mean_pairwise_squared_error(labels.astype(np.float32), predictions.astype(np.float32),
                                                            weights=w.reshape(4, 1, 1)))
    assert got == pytest.approx(ref(np.ones(4)), rel=1e-5)
    assert got_w == pytest.approx(ref(w), rel=1e-5)
    assert len(tf.losses.get_losses()) == 2
    with pytest.raises(ShapeError, match="weights of shape"):
        tf.losses.mean_pairwise_squared_error(labels, predictions, weights=np.ones(4))


def test_ties_pick_the_first_threshold_for_sensitivity_and_the_last_for_specificity():
    """Hand-worked: thresholds -1e-7, 0.1, ..., 0.9, 1+1e-7; recall is 1 up to 0.3 and specificity 1 from 0.4."""
    labels, predictions = [0, 0, 1, 1], [0.1, 0.35, 0.4, 0.8]
    spec, spec_up = tf.metrics.specificity_at_sensitivity(labels, predictions, 1.0, num_thresholds=11)
    sens, sens_up = tf.metrics.sensitivity_at_specificity(labels, predictions, 1.0, num_thresholds=11)
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        s.run([spec_up, sens_up])
        assert s.run(spec) == pytest.approx(0.5, abs=1e-6)  # at 0.3: one of two negatives above it
        assert s.run(sens) == pytest.approx(0.5, abs=1e-6)  # at 0.4: only 0.8 is above it


def test_sparse_labels_count_only_their_present_values():
    """A SparseTensor row holds a set of any size: absent entries are no labels (dense -1s would be)."""
    rows = [[2, 2, 0], [4], [3, 3], [1, 6]]  # repeats count once; 6 is outside the 5 classes
    predictions = RNG.permutation(np.arange(20, dtype=np.float32)).reshape(4, 5)
    indices = [[r, c] for r, row in enumerate(rows) for c in range(len(row))]
    labels = tf.SparseTensorValue(np.array(indices, np.int64), np.array(sum(rows, []), np.int64),
                                  np.array([4, 3], np.int64))
    holder = tf.sparse_placeholder(tf.int64)
    pairs = {"p": tf.metrics.precision_at_k(holder, predictions, 2), "r": tf.metrics.recall_at_k(holder, predictions, 2),
             "ap": tf.metrics.average_precision_at_k(holder, predictions, 2, weights=[1.0, 1.0, 0.0, 1.0])}
    with tf.Session() as s:
        s.run(tf.local_variables_initializer())
        s.run({k: u for k, (_, u) in pairs.items()}, {holder: labels})
        got = s.run({k: v for k, (v, _) in pairs.items()})
    tops = [set(np.argsort(-row)[:2].tolist()) for row in predictions]
    sets = [set(r) for r in rows]
    tp = sum(len(t & lab) for t, lab in zip(tops, sets))
    assert got["p"] == pytest.approx(tp / 8)
    assert got["r"] == pytest.approx(tp / sum(len(lab) for lab in sets))
    ap = []
    for row, lab, n in zip(predictions[[0, 1, 3]], [sets[0], sets[1], sets[3]], (2, 1, 2)):  # row 2 weighs 0
        order = np.argsort(-row)[:2]
        hits = np.cumsum([c in lab for c in order])
        ap.append(sum(hits[i] / (i + 1) for i in range(2) if order[i] in lab) / min(n, 2))
    assert got["ap"] == pytest.approx(np.mean(ap))


def test_every_backend_streams_the_same_metrics(backend):
    """The metrics are compositions of the registry's ops (and host ops), so each backend runs them."""
    labels, predictions = (RNG.uniform(0, 1, 40) > 0.5).astype(np.float32), RNG.uniform(0, 1, 40).astype(np.float32)
    classes_l, classes_p = RNG.integers(0, 3, 40), RNG.integers(0, 3, 40)
    scores_ = RNG.uniform(0, 1, (40, 4)).astype(np.float32)
    with tf.backend(backend):
        g = tf.Graph()
        with g.as_default():
            pairs = [tf.metrics.auc(labels, predictions), tf.metrics.mean_iou(classes_l, classes_p, 3),
                     tf.metrics.recall_at_k(classes_l, scores_, 2)]
            init = tf.local_variables_initializer()
        with tf.Session(graph=g) as s:
            s.run(init)
            s.run([u for _, u in pairs])
            got = s.run([v for v, _ in pairs])
    cm = confusion_matrix_ref(classes_l, classes_p, None, 3)
    union = cm.sum(0) + cm.sum(1) - np.diag(cm)
    top = np.argsort(-scores_, axis=1)[:, :2]
    want = [trapezoid_auc(labels, predictions), (np.diag(cm) / union).mean(), np.mean([c in row for c, row in zip(classes_l, top)])]
    np.testing.assert_allclose(np.array(got, np.float64), want, rtol=1e-5)
