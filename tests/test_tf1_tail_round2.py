"""The second round of TF1's long tail: values against NumPy (and SciPy for the special functions),
gradients by finite differences, errors naming the op or tensor."""
import math
import os

import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import check_gradient

RNG = np.random.default_rng(0)


def run(fetches, feed=None):
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        return s.run(fetches, feed)


@pytest.fixture(autouse=True)
def graph():
    with tf.Graph().as_default() as g:
        yield g


# -- sampling --------------------------------------------------------------------------------------
def test_multinomial_follows_the_softmax_and_is_seeded():
    logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]]))
    tf.set_random_seed(3)
    draws = tf.multinomial(tf.constant(logits, tf.float32), 4000, seed=7)
    cat = tf.random.categorical(logits, 5, dtype=tf.int32)
    assert draws.dtype == tf.int64 and cat.dtype == tf.int32 and tuple(draws.shape) == (2, 4000)
    with tf.Session() as s:
        a, c = s.run([draws, cat])
    with tf.Session() as s:
        again = s.run(draws)
    np.testing.assert_array_equal(a, again)  # the same seeds give the same samples in a new session
    freq = np.stack([np.bincount(row, minlength=3) / 4000 for row in a])
    np.testing.assert_allclose(freq, np.exp(logits), atol=0.03)
    assert not (a[1] == 1).any() and c.min() >= 0 and c.max() <= 2


# -- sorting, tensordot, roll ------------------------------------------------------------------------
def test_sort_and_argsort_along_any_axis():
    x = RNG.integers(-3, 4, (3, 5)).astype(np.float32)
    got = run([tf.sort(x), tf.sort(x, axis=0, direction="DESCENDING"), tf.argsort(x), tf.argsort(x, axis=0)])
    np.testing.assert_array_equal(got[0], np.sort(x, axis=-1))
    np.testing.assert_array_equal(got[1], -np.sort(-x, axis=0))
    np.testing.assert_array_equal(got[2], np.argsort(x, axis=-1, kind="stable"))
    np.testing.assert_array_equal(got[3], np.argsort(x, axis=0, kind="stable"))
    with pytest.raises(ValueError, match="direction"):
        tf.sort(x, direction="UP")


def test_sort_gradient():
    check_gradient(lambda t: tf.sort(t, axis=0), [RNG.standard_normal((4, 3))], "numpy")


def test_tensordot_matches_numpy_and_has_gradients():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 3, 5))
    got = run([tf.tensordot(a, b, [[1, 2], [1, 0]]), tf.tensordot(a, b[:, 0], 1), tf.tensordot(a[0, 0], b[:, 0, 0], 0)])
    np.testing.assert_allclose(got[0], np.tensordot(a, b, [[1, 2], [1, 0]]), rtol=1e-10)
    np.testing.assert_allclose(got[1], np.tensordot(a, b[:, 0], 1), rtol=1e-10)
    np.testing.assert_allclose(got[2], np.tensordot(a[0, 0], b[:, 0, 0], 0), rtol=1e-10)
    check_gradient(lambda x, y: tf.tensordot(x, y, [[1, 2], [1, 0]]), [a, b], "numpy")
    with pytest.raises(tf.errors.ShapeError if hasattr(tf.errors, "ShapeError") else Exception, match="differ"):
        tf.tensordot(a, b, [[0], [0]])


def test_batch_matmul_is_matmul():
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
    np.testing.assert_allclose(run(tf.batch_matmul(a, b, adj_y=True)), a @ b.transpose(0, 2, 1), rtol=1e-10)


def test_roll():
    x = np.arange(24).reshape(2, 3, 4)
    got = run([tf.roll(x, 1, 2), tf.roll(x, [-1, 5], [1, 2]), tf.roll(x, [2, 1], [0, 0])])
    np.testing.assert_array_equal(got[0], np.roll(x, 1, 2))
    np.testing.assert_array_equal(got[1], np.roll(x, (-1, 5), (1, 2)))
    np.testing.assert_array_equal(got[2], np.roll(x, 3, 0))
    check_gradient(lambda t: tf.roll(t, 2, 1), [RNG.standard_normal((2, 5))], "numpy")


# -- set operations, counts -----------------------------------------------------------------------
def test_unique_with_counts_and_setdiff1d_as_tf_documents():
    y, idx, count = run(tf.unique_with_counts([1, 1, 2, 4, 4, 4, 7, 8, 8]))
    np.testing.assert_array_equal(y, [1, 2, 4, 7, 8])
    np.testing.assert_array_equal(idx, [0, 0, 1, 2, 2, 2, 3, 4, 4])
    np.testing.assert_array_equal(count, [2, 1, 3, 1, 2])
    out, i = run(tf.setdiff1d([1, 2, 3, 4, 5, 6], [1, 3, 5]))
    np.testing.assert_array_equal(out, [2, 4, 6])
    np.testing.assert_array_equal(i, [1, 3, 5])


def test_confusion_matrix():
    labels, preds = [1, 2, 4], [2, 2, 4]
    want = np.zeros((5, 5), np.int32)
    for a, b in zip(labels, preds):
        want[a, b] += 1
    got, weighted, m = run([tf.confusion_matrix(labels, preds), tf.math.confusion_matrix(
        labels, preds, num_classes=6, weights=[0.5, 1.0, 2.0], dtype=tf.float32), tf.confusion_matrix([0], [0])])
    np.testing.assert_array_equal(got, want)
    assert weighted.shape == (6, 6) and weighted[1, 2] == 0.5 and weighted[4, 4] == 2.0 and weighted.sum() == 3.5
    assert m.tolist() == [[1]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="confusion_matrix.*labels hold 4.*num_classes 3"):
        run(tf.confusion_matrix(labels, preds, num_classes=3))


# -- scatter, partition, stitch, segments ---------------------------------------------------------
def test_variable_scatter_ops_return_the_updated_value():
    v = tf.Variable(np.arange(12, dtype=np.float32).reshape(4, 3))
    up = tf.scatter_update(v, [3, 0], [[1, 1, 1], [2, 2, 2]])
    with tf.Session() as s:
        s.run(v.initializer)
        want = np.arange(12, dtype=np.float32).reshape(4, 3)
        want[3], want[0] = 1, 2
        np.testing.assert_array_equal(s.run(up), want)
        want[1] += 2 * np.array([1, 2, 3])
        np.testing.assert_array_equal(s.run(tf.scatter_add(v, [1, 1], [[1, 2, 3], [1, 2, 3]])), want)
        want[2] -= 5
        np.testing.assert_array_equal(s.run(tf.scatter_sub(v, [2], tf.fill([1, 3], 5.0))), want)
        np.testing.assert_array_equal(s.run(v), want)
        with pytest.raises(tf.errors.InvalidArgumentError, match="ScatterAdd.*index 4 is not in"):
            s.run(tf.scatter_add(v, [4], [[1.0, 1, 1]]))
        np.testing.assert_array_equal(s.run(v), want)  # nothing written by the failed run
    with pytest.raises(TypeError, match="scatter_update.*Variable"):
        tf.scatter_update(tf.constant([1.0]), [0], [2.0])


def test_scatter_nd_as_tf_documents():
    got = run(tf.scatter_nd([[4], [3], [1], [7]], [9, 10, 11, 12], [8]))
    np.testing.assert_array_equal(got, [0, 11, 0, 10, 9, 0, 0, 12])
    check_gradient(lambda u: tf.scatter_nd(tf.constant([[0, 1], [2, 0], [0, 1]]), u, [3, 2]),
                   [RNG.standard_normal(3)], "numpy")


def test_dynamic_partition_and_stitch_invert_each_other():
    data = RNG.standard_normal((6, 2))
    parts = np.array([0, 0, 1, 1, 0, 1])
    outs = tf.dynamic_partition(data, parts, 2)
    idx = tf.dynamic_partition(np.arange(6), parts, 2)
    back = tf.dynamic_stitch(idx, outs)
    got = run(outs + [back])
    np.testing.assert_array_equal(got[0], data[parts == 0])
    np.testing.assert_array_equal(got[1], data[parts == 1])
    np.testing.assert_array_equal(got[2], data)
    merged = run(tf.dynamic_stitch([[6], [4, 1], [[5, 2], [0, 3]]], [[61.0], [41.0, 11.0], [[51.0, 21.0], [1.0, 31.0]]]))
    np.testing.assert_array_equal(merged, [1, 11, 21, 31, 41, 51, 61])  # TF's documented example
    # the gradient routes each part's gradient back to its rows (an unused part gets zeros)
    d = tf.placeholder(tf.float64, (6, 2))
    three = tf.dynamic_partition(d, parts, 3)
    g0, g1 = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    (grad,) = tf.gradients(three[:2], d, grad_ys=[tf.constant(g0), tf.constant(g1)])
    want = np.zeros((6, 2))
    want[parts == 0], want[parts == 1] = g0, g1
    with tf.Session() as s:
        np.testing.assert_array_equal(s.run(grad, {d: data}), want)
    check_gradient(lambda a, b: tf.dynamic_stitch([[0, 2], [1]], [a, b]), [data[:2], data[2:3]], "numpy")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"DynamicPartition.*partitions\[1\] = 3"):
        run(tf.dynamic_partition(data[:2], [0, 3], 2))


def test_segment_reductions():
    data = np.array([[1.0, 2, 3, 4], [4, 3, 2, 1], [5, 6, 7, 8]])
    got = run([tf.segment_mean(data, [0, 0, 2]), tf.segment_max(data, [0, 0, 2]),
               tf.unsorted_segment_max(data, [1, -1, 1], 3), tf.math.segment_min(data, [0, 1, 1])])
    np.testing.assert_allclose(got[0], [[2.5, 2.5, 2.5, 2.5], [0, 0, 0, 0], [5, 6, 7, 8]])
    np.testing.assert_allclose(got[1], [[4, 3, 3, 4], [0, 0, 0, 0], [5, 6, 7, 8]])
    lowest = np.finfo(np.float64).min
    np.testing.assert_allclose(got[2], [[lowest] * 4, [5, 6, 7, 8], [lowest] * 4])
    np.testing.assert_allclose(got[3], [[1, 2, 3, 4], [4, 3, 2, 1]])
    x = RNG.standard_normal((5, 2))
    check_gradient(lambda d: tf.segment_mean(d, [0, 0, 1, 3, 3]), [x], "numpy")
    check_gradient(lambda d: tf.segment_max(d, [0, 0, 1, 1, 1]), [x], "numpy")
    check_gradient(lambda d: tf.unsorted_segment_max(d, [2, 0, 1, -1, 0], 3), [x], "numpy")
    with pytest.raises(tf.errors.InvalidArgumentError, match="SegmentMean.*sorted"):
        run(tf.segment_mean(data, [1, 0, 2]))


# -- clipping, space/depth -------------------------------------------------------------------------
def test_clip_by_average_norm():
    t = np.array([[1.0, 2, 3], [4, 5, 6]])
    avg = np.sqrt((t * t).sum()) / t.size
    got = run([tf.clip_by_average_norm(t, 0.5), tf.clip_by_average_norm(t, 10.0)])
    np.testing.assert_allclose(got[0], t * 0.5 / avg)
    np.testing.assert_allclose(got[1], t)
    check_gradient(lambda x: tf.clip_by_average_norm(x, 0.5), [t], "numpy")


def test_space_to_depth_and_back():
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
    s2d = tf.space_to_depth(x, 2)
    got, back = run([s2d, tf.depth_to_space(s2d, 2)])
    want = x.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 2, 4, 5).reshape(2, 2, 3, 12)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(back, x)
    np.testing.assert_array_equal(run(tf.space_to_depth(np.arange(4.0).reshape(1, 2, 2, 1), 2)), [[[[0, 1, 2, 3]]]])
    with pytest.raises(ValueError, match="space_to_depth.*block_size 4"):
        tf.space_to_depth(x, 4)


# -- special functions and linear algebra -------------------------------------------------------------
def test_lgamma_digamma_erfc_against_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.array([0.1, 0.5, 1.0, 2.5, 7.3, 30.0, -0.5, -2.7])
    got = run([tf.lgamma(x), tf.digamma(x), tf.erfc(x), tf.math.lgamma(x[:3].astype(np.float32))])
    np.testing.assert_allclose(got[0], special.gammaln(x), rtol=1e-12)
    np.testing.assert_allclose(got[1], special.digamma(x), rtol=1e-11)
    np.testing.assert_allclose(got[2], special.erfc(x), rtol=1e-12)
    np.testing.assert_allclose(got[3], special.gammaln(x[:3]), rtol=1e-6)
    assert np.isnan(run(tf.digamma(np.array([0.0, -3.0])))).all()
    pos = np.array([0.3, 1.7, 4.2])
    check_gradient(tf.lgamma, [pos], "numpy")
    check_gradient(tf.digamma, [pos], "numpy", rtol=1e-4)
    check_gradient(tf.erfc, [np.array([-1.0, 0.2, 1.5])], "numpy")


def _spd(n, batch=()):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def test_cholesky_determinant_solve():
    a = _spd(3, (2,))
    b = RNG.standard_normal((2, 3, 2))
    got = run([tf.cholesky(a), tf.matrix_determinant(a), tf.matrix_solve(a, b), tf.linalg.solve(a, b, adjoint=True),
               tf.linalg.det(a[0])])
    np.testing.assert_allclose(got[0], np.linalg.cholesky(a), rtol=1e-12)
    np.testing.assert_allclose(got[1], np.linalg.det(a), rtol=1e-12)
    np.testing.assert_allclose(got[2], np.linalg.solve(a, b), rtol=1e-10)
    np.testing.assert_allclose(got[3], np.linalg.solve(np.swapaxes(a, -1, -2), b), rtol=1e-10)
    np.testing.assert_allclose(got[4], np.linalg.det(a[0]), rtol=1e-12)
    # the gradients, on the symmetric part for Cholesky (its input is read as symmetric)
    check_gradient(lambda m: tf.cholesky(0.5 * (m + tf.matrix_transpose(m))), [_spd(3)], "numpy", rtol=1e-4)
    check_gradient(tf.matrix_determinant, [RNG.standard_normal((2, 3, 3))], "numpy", rtol=1e-4)
    check_gradient(lambda m, r: tf.matrix_solve(m, r), [_spd(3), RNG.standard_normal((3, 2))], "numpy", rtol=1e-4)
    check_gradient(lambda m, r: tf.matrix_solve(m, r, adjoint=True), [RNG.standard_normal((3, 3)) + 3 * np.eye(3),
                                                                      RNG.standard_normal((3, 2))], "numpy",
                   rtol=1e-4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Cholesky op"):
        run(tf.cholesky(-np.eye(2)))


def test_band_part_and_set_diag():
    x = RNG.standard_normal((2, 4, 5))
    got = run([tf.matrix_band_part(x, 1, 2), tf.matrix_band_part(x, -1, 0), tf.linalg.band_part(x, 0, -1)])
    np.testing.assert_array_equal(got[0], np.triu(np.tril(x, 2), -1))
    np.testing.assert_array_equal(got[1], np.tril(x))
    np.testing.assert_array_equal(got[2], np.triu(x))
    for shape in ((2, 4, 5), (3, 2)):
        m = RNG.standard_normal(shape)
        d = RNG.standard_normal(shape[:-2] + (min(shape[-2:]),))
        want = m.copy()
        k = min(shape[-2:])
        want[..., np.arange(k), np.arange(k)] = d
        np.testing.assert_array_equal(run(tf.matrix_set_diag(m, d)), want)
    check_gradient(lambda m, d: tf.matrix_set_diag(m, d), [RNG.standard_normal((3, 4)), RNG.standard_normal(3)],
                   "numpy")
    check_gradient(lambda m: tf.matrix_band_part(m, 1, 0), [RNG.standard_normal((3, 3))], "numpy")


def test_qr_and_orthogonal_initializer():
    a = RNG.standard_normal((5, 3))
    q, r = run(tf.qr(a))
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    w = tf.get_variable("w", [4, 6], initializer=tf.orthogonal_initializer(gain=2.0, seed=1))
    u = tf.get_variable("u", [10, 20], initializer=tf.uniform_unit_scaling_initializer(factor=1.5, seed=2))
    wv, uv = run([w, u])
    np.testing.assert_allclose(wv @ wv.T, 4.0 * np.eye(4), atol=1e-5)  # rows orthogonal, scaled by the gain
    limit = 1.5 * math.sqrt(3.0 / 10)
    assert np.abs(uv).max() <= limit and np.abs(uv).max() > 0.8 * limit


# -- checks --------------------------------------------------------------------------------------------
def test_check_numerics_names_the_tensor():
    x = tf.placeholder(tf.float32, [3], name="x")
    y = tf.check_numerics(tf.log(x), "log of x")
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(y, {x: [1, 2, 3]}), np.log([1, 2, 3]), rtol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"log of x : Tensor had NaN values.*Log:0"):
            s.run(y, {x: [-1, 2, 3]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Tensor had Inf values"):
            s.run(tf.verify_tensor_all_finite(1.0 / x, "inv"), {x: [0, 1, 1]})
    check_gradient(lambda t: tf.check_numerics(t * t, "sq"), [RNG.standard_normal(3)], "numpy")


def test_add_check_numerics_ops_checks_every_float_tensor():
    x = tf.placeholder(tf.float32, [2], name="x")
    y = tf.sqrt(x, name="root") + 1.0
    check = tf.add_check_numerics_ops()
    with tf.Session() as s:
        s.run([y, check], {x: [1, 4]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="root:0 : Tensor had NaN values"):
            s.run([y, check], {x: [-1, 4]})


def test_variable_initialisation_queries():
    a, b = tf.Variable(1.0, name="a"), tf.Variable(2.0, name="b")
    with tf.Session() as s:
        assert s.run(tf.is_variable_initialized(a)) == False  # noqa: E712 - a NumPy bool
        assert list(s.run(tf.report_uninitialized_variables())) == [b"a", b"b"]
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value a"):
            s.run(tf.assert_variables_initialized())
        s.run(a.initializer)
        assert s.run(tf.is_variable_initialized(a)) == True  # noqa: E712
        assert list(s.run(tf.report_uninitialized_variables())) == [b"b"]
        s.run(b.initializer)
        s.run(tf.assert_variables_initialized([a, b]))
        assert len(s.run(tf.report_uninitialized_variables())) == 0
    assert tf.assert_variables_initialized([]) is None


# -- gradients: RegisterGradient, NotDifferentiable, hessians -------------------------------------------
def test_gradient_override_map_uses_the_registered_gradient():
    @tf.RegisterGradient("TimesThreeGradForTest")
    def _times_three(op, g):
        return [g * 3.0]

    x = tf.constant([1.0, 2.0])
    with tf.get_default_graph().gradient_override_map({"Identity": "TimesThreeGradForTest"}):
        y = tf.identity(x)
    z = tf.identity(x)
    gy, gz = run([tf.gradients(tf.reduce_sum(y), x)[0], tf.gradients(tf.reduce_sum(z), x)[0]])
    np.testing.assert_array_equal(gy, [3.0, 3.0])
    np.testing.assert_array_equal(gz, [1.0, 1.0])
    with pytest.raises(KeyError, match="already registered"):
        tf.RegisterGradient("TimesThreeGradForTest")(_times_three)
    with tf.get_default_graph().gradient_override_map({"Identity": "NoSuchGradForTest"}):
        w = tf.identity(x)
    with pytest.raises(LookupError, match="NoSuchGradForTest"):
        tf.gradients(w, x)
    with pytest.raises(TypeError, match="gradient_override_map"):
        with tf.get_default_graph().gradient_override_map({"Identity": 3}):
            pass


def test_not_differentiable_passes_no_gradient():
    from nnplug.ops.registry import register
    register("OpaqueForTest", lambda s, d, a: [(s[0], d[0])], host=lambda spec: lambda v: v * 2)
    x = tf.constant([1.0])
    y = tf.make_op("OpaqueForTest", [x]).outputs[0] if hasattr(tf, "make_op") else \
        tf.get_default_graph().create_op("OpaqueForTest", [x]).outputs[0]
    with pytest.raises(LookupError, match="no gradient"):
        tf.gradients(y + x, x)
    tf.NotDifferentiable("OpaqueForTest")
    np.testing.assert_array_equal(run(tf.gradients(y + x, x)[0]), [1.0])


def test_hessians_of_a_quadratic_form_and_a_cubic():
    a = RNG.standard_normal((3, 3))
    x = tf.constant(RNG.standard_normal(3))
    h_quad, h_cube = tf.hessians(tf.reduce_sum(x * tf.linalg.matmul(a, tf.reshape(x, [3, 1]))[:, 0]), x)[0], \
        tf.hessians(tf.reduce_sum(x ** 3), x)[0]
    hq, hc, xv = run([h_quad, h_cube, x])
    np.testing.assert_allclose(hq, a + a.T, rtol=1e-10)
    np.testing.assert_allclose(hc, np.diag(6 * xv), rtol=1e-10)


# -- templates, collections, TF1 surface bits --------------------------------------------------------------
def test_make_template_shares_variables_between_calls():
    def linear(x, units):
        w = tf.get_variable("w", [int(x.shape[-1]), units])
        return tf.matmul(x, w)

    layer = tf.make_template("linear", linear, units=2)
    x = tf.constant(RNG.standard_normal((1, 3)), tf.float32)
    y1, y2 = layer(x), layer(x * 2.0)
    assert [v.name for v in tf.global_variables()] == ["linear/w:0"]
    assert layer.variable_scope_name == "linear" and [v.name for v in layer.trainable_variables] == ["linear/w:0"]
    a, b = run([y1, y2])
    np.testing.assert_allclose(b, 2 * a, rtol=1e-6)
    other = tf.make_template("linear", linear, units=2)
    other(x)
    assert sorted(v.name for v in tf.global_variables()) == ["linear/w:0", "linear_1/w:0"]


def test_surface_aliases_and_eager_switches():
    assert tf.half is tf.float16 and tf.double is tf.float64
    assert tf.executing_eagerly() is False
    tf.disable_eager_execution()
    tf.disable_v2_behavior()
    tf.compat.v1.disable_v2_behavior()
    with pytest.raises(NotImplementedError, match="Session"):
        tf.enable_eager_execution()
    v = tf.Variable(1.0)
    with tf.colocate_with(v.op):
        w = v * 2.0
    assert run(w) == 2.0
    tf.add_to_collection(tf.GraphKeys.MODEL_VARIABLES, v)
    assert tf.model_variables() == [v]
    s = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([2, 0]), tf.constant([3, 2]))
    assert isinstance(s, tf.IndexedSlices) and not isinstance(tf.constant(1.0), tf.IndexedSlices)
    np.testing.assert_array_equal(run(tf.convert_to_tensor(s)), [[3, 4], [0, 0], [1, 2]])


# -- checkpoint utilities --------------------------------------------------------------------------------------
def test_checkpoint_utilities(tmp_path):
    tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="dense/kernel")
    step = tf.train.get_or_create_global_step()
    saver = tf.train.Saver(max_to_keep=2)
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        paths = []
        for i in (1, 2, 3):
            s.run(step.assign(i * 10))
            paths.append(saver.save(s, prefix, global_step=step))
        assert tf.train.global_step(s, step) == 30
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == paths[-1]
    assert state.all_model_checkpoint_paths == paths[1:]
    assert tf.train.checkpoint_exists(paths[-1]) and not tf.train.checkpoint_exists(paths[0])
    assert tf.train.get_checkpoint_state(str(tmp_path / "nothing")) is None
    listed = dict(tf.train.list_variables(paths[-1]))
    assert listed == {"dense/kernel": [2, 3], "global_step": []}
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path), "dense/kernel"),
                                  np.arange(6).reshape(2, 3))
    reader = tf.train.NewCheckpointReader(paths[1])
    assert reader.has_tensor("global_step") and not reader.has_tensor("nope")
    assert int(reader.get_tensor("global_step")) == 20
    assert reader.get_variable_to_shape_map() == {"dense/kernel": [2, 3], "global_step": []}
    with pytest.raises(tf.errors.NotFoundError, match="nope.*dense/kernel"):
        reader.get_tensor("nope")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(tf.train.saver.CheckpointError, match="bad.npz"):
        tf.train.list_variables(str(bad))
    (tmp_path / "checkpoint").write_text("{broken")
    with pytest.raises(tf.train.saver.CheckpointError, match="corrupted"):
        tf.train.get_checkpoint_state(str(tmp_path))
    assert os.path.exists(paths[-1] + ".npz")


# -- every backend: the composites and host ops run on OpenCL as on numpy ------------------------------------
def test_round2_ops_give_the_same_values_on_opencl():
    pytest.importorskip("pyopencl")
    from nnplug.testing import run as run_on
    x = RNG.standard_normal((2, 4, 4, 2))
    m = _spd(3)

    def build(t, a):
        v = tf.reshape(t, [8, 8])
        return [tf.sort(v), tf.argsort(v, axis=0), tf.tensordot(v, v, [[0], [0]]), tf.roll(v, 3, 0),
                tf.space_to_depth(t, 2), tf.clip_by_average_norm(v, 0.1), tf.matrix_band_part(v, 1, 0),
                tf.segment_max(v, [0, 0, 1, 1, 1, 2, 2, 2]), tf.cholesky(a), tf.lgamma(tf.abs(v) + 0.1),
                tf.erfc(v), tf.digamma(tf.abs(v) + 0.1)]
    try:
        on_cl = run_on(build, [x, m], "opencl")
    except tf.errors.BackendError as e:  # no OpenCL device here
        pytest.skip(str(e))
    for got, want in zip(on_cl, run_on(build, [x, m], "numpy")):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
