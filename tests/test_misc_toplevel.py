"""TF1's smaller top-level names (nnplug/ops/misc_ops.py, print_ops.py, function_ops.py, segment_more.py):
values against NumPy and TensorFlow's documented examples, gradients against finite differences."""
import io
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.testing import assert_close, check_gradient, run

HOST = "numpy"  # host-op and composition checks that need not repeat per backend


def _x(shape, lo=-2.0, hi=2.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _eval(t, feed=None):
    with tf.Session() as s:
        return s.run(t, feed)


# -- repeat, broadcast_to, batch_gather, space/batch_nd: compositions on every backend -------------------
def test_repeat_matches_numpy_and_differentiates():
    x = _x((2, 3))
    got = run(lambda t: [tf.repeat(t, [1, 0, 2], axis=1), tf.repeat(t, 2), tf.repeat(t, [2, 1], axis=-2)], [x], HOST)
    assert_close(got[0], np.repeat(x, [1, 0, 2], axis=1), "float64")
    assert_close(got[1], np.repeat(x, 2), "float64")
    assert_close(got[2], np.repeat(x, [2, 1], axis=0), "float64")
    check_gradient(lambda t: tf.repeat(t, [3, 1, 2], axis=1), [x], HOST)
    with pytest.raises(ValueError, match="repeats"):
        tf.repeat(tf.constant(x), [1, 2], axis=1)


def test_broadcast_to_and_its_gradient():
    x = _x((3, 1))
    got = run(lambda t: tf.broadcast_to(t, [2, 3, 4]), [x], HOST)
    assert_close(got, np.broadcast_to(x, (2, 3, 4)), "float64")
    check_gradient(lambda t: tf.broadcast_to(t, [2, 3, 4]), [x], HOST)
    assert _eval(tf.broadcast_to(tf.constant([True, False]), [2, 2])).tolist() == [[True, False], [True, False]]
    with pytest.raises(ValueError, match="cannot be broadcast"):
        tf.broadcast_to(tf.constant(x), [3, 2, 2])


def test_batch_gather_picks_per_row():
    params = _x((2, 3, 4))
    idx = np.array([[2, 0], [1, 1], [0, 2]])[:2]
    got = run(lambda p: tf.batch_gather(p, tf.constant(idx)), [params], HOST)
    ref = np.stack([params[b][idx[b]] for b in range(2)])
    assert_close(got, ref, "float64")
    check_gradient(lambda p: tf.batch_gather(p, tf.constant(idx)), [params], HOST)


def _space_to_batch_ref(x, block, pads):
    """TF's definition, step by step (its documentation's algorithm)."""
    padded = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * (x.ndim - 1 - len(block)))
    n, m = x.shape[0], len(block)
    sizes = padded.shape[1:1 + m]
    shape = [n] + [v for s, b in zip(sizes, block) for v in (s // b, b)] + list(padded.shape[1 + m:])
    r = padded.reshape(shape)
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + list(range(1 + 2 * m, len(shape)))
    return r.transpose(perm).reshape([n * int(np.prod(block))] + [s // b for s, b in zip(sizes, block)]
                                     + list(padded.shape[1 + m:]))


def test_space_to_batch_nd_and_back(backend):
    x = _x((2, 4, 6, 3))
    pads = [[0, 2], [1, 1]]
    y, back = run(lambda t: [tf.space_to_batch_nd(t, [3, 2], pads),
                             tf.batch_to_space_nd(tf.space_to_batch_nd(t, [3, 2], pads), [3, 2], pads)], [x], backend)
    assert_close(y, _space_to_batch_ref(x, [3, 2], pads), "float64")
    assert_close(back, x, "float64")
    # TF's documented example: [[[[1], [2]], [[3], [4]]]] with block 2 -> 4 images of one pixel
    doc = _eval(tf.space_to_batch_nd(np.array([[[[1], [2]], [[3], [4]]]], np.float32), [2, 2], [[0, 0], [0, 0]]))
    assert doc.reshape(-1).tolist() == [1, 2, 3, 4] and doc.shape == (4, 1, 1, 1)
    check_gradient(lambda t: tf.space_to_batch_nd(t, [2, 2], [[0, 0], [1, 1]]), [_x((1, 2, 2, 2))], backend)


def test_div_no_nan_truncatemod_and_aliases():
    x, y = np.array([1.0, -2.0, 0.0, 3.0]), np.array([0.0, 4.0, 0.0, -2.0])
    q, m = run(lambda a, b: [tf.div_no_nan(a, b), tf.truncatemod(a * 3.5, b + 0.5)], [x, y], HOST)
    assert_close(q, np.array([0.0, -0.5, 0.0, -1.5]), "float64")
    assert_close(m, np.fmod(x * 3.5, y + 0.5), "float64")
    assert _eval(tf.truncatemod([-7, 7, -7], [3, -3, -3])).tolist() == [-1, 1, -1]
    assert _eval(tf.floor_div([-7, 7], [2, 2])).tolist() == [-4, 3]
    assert _eval(tf.rint([0.5, 1.5, -2.5, 2.7])).tolist() == [0.0, 2.0, -2.0, 3.0]
    assert _eval(tf.realdiv(1.0, 4.0)) == 0.25
    rows = _eval(tf.div_no_nan(np.ones((2, 3)), np.array([0.0, 2.0, 4.0])))  # broadcast, not TF1's row select
    assert rows.tolist() == [[0.0, 0.5, 0.25]] * 2
    check_gradient(lambda a: tf.div_no_nan(a, tf.constant(y)), [x], HOST)


# -- host ops ------------------------------------------------------------------------------------------
def test_searchsorted_unravel_index_invert_permutation():
    seq = np.array([[0.0, 3.0, 9.0, 9.0, 10.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    vals = np.array([[2.0, 4.0, 9.0], [0.0, 2.0, 6.0]])
    left, right = _eval([tf.searchsorted(seq, vals), tf.searchsorted(seq, vals, side="right")])
    assert left.tolist() == [np.searchsorted(seq[i], vals[i]).tolist() for i in range(2)]
    assert right.tolist() == [np.searchsorted(seq[i], vals[i], side="right").tolist() for i in range(2)]
    assert _eval(tf.unravel_index([22, 41, 37], [7, 6])).tolist() == [[3, 6, 6], [4, 5, 1]]  # TF's example
    assert _eval(tf.invert_permutation([3, 4, 0, 2, 1])).tolist() == [2, 4, 3, 0, 1]  # TF's example
    with pytest.raises(InvalidArgumentError, match="not a permutation"):
        _eval(tf.invert_permutation([0, 0, 1]))
    with pytest.raises(InvalidArgumentError, match="index 42"):
        _eval(tf.unravel_index([42], [7, 6]))


def test_histograms_follow_tfs_example():
    values = [-1.0, 0.0, 1.5, 2.0, 5.0, 15]
    assert _eval(tf.histogram_fixed_width(values, [0.0, 5.0], nbins=5)).tolist() == [2, 1, 1, 0, 2]
    assert _eval(tf.histogram_fixed_width_bins(values, [0.0, 5.0], nbins=5)).tolist() == [0, 0, 1, 2, 4, 4]


def test_bitcast_and_ensure_shape():
    assert _eval(tf.bitcast(tf.constant([1.0, -2.0]), tf.int32)).tolist() == \
        np.array([1.0, -2.0], np.float32).view(np.int32).tolist()
    wide = _eval(tf.bitcast(tf.constant([1.0], tf.float64), tf.int32))
    assert wide.shape == (1, 2) and wide.tobytes() == np.array([1.0]).tobytes()
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.ensure_shape(x, [2, None])
    assert y.shape.as_list() == [2, 3]
    with tf.Session() as s:
        assert s.run(y, {x: np.ones((2, 3))}).shape == (2, 3)
        with pytest.raises(InvalidArgumentError):
            s.run(y, {x: np.ones((4, 3))})
    with pytest.raises(ValueError, match="not compatible"):
        tf.ensure_shape(x, [2, 4])


# -- print, py_function, custom_gradient, tuple ----------------------------------------------------------
def test_print_writes_tf_format_through_control_dependencies():
    out = io.StringIO()
    x = tf.placeholder(tf.int32, [None])
    p = tf.print("x:", x, {"m": tf.reshape(tf.range(4), [2, 2])}, output_stream=out, summarize=2, sep="|")
    with tf.control_dependencies([p]):
        y = tf.identity(x)
    with tf.Session() as s:
        s.run(y, {x: np.arange(10)})
        s.run(y, {x: [5]})
    assert out.getvalue() == "x:|[0 1 ... 8 9]|{'m': [[0 1]\n [2 3]]}\nx:|[5]|{'m': [[0 1]\n [2 3]]}\n"


def test_print_to_a_file_and_to_stdout(tmp_path, capsys):
    path = tmp_path / "log.txt"
    with tf.Session() as s:
        s.run(tf.print(tf.constant([1.5, 0.25]), output_stream=f"file://{path}"))
        s.run(tf.print(tf.constant(3), "done", output_stream=sys.stdout, end="!\n"))
    assert path.read_text() == "[1.5 0.25]\n"
    assert capsys.readouterr().out == "3 done!\n"
    with pytest.raises(ValueError, match="file://"):
        tf.print(1, output_stream="stdout")


def test_py_function_and_numpy_function():
    x = tf.placeholder(tf.float32, [3])
    y = tf.py_function(lambda a: a.numpy() * 2, [x], tf.float32)
    z = tf.numpy_function(lambda a: (a + 1).astype(np.float32), [x], tf.float32)
    with tf.Session() as s:
        got_y, got_z = s.run([y, z], {x: [1, 2, 3]})
    assert got_y.tolist() == [2, 4, 6] and got_z.tolist() == [2, 3, 4]


def test_custom_gradient_replaces_the_functions_own():
    @tf.custom_gradient
    def clip_grad(v):
        def grad(dy):
            return tf.clip_by_value(dy, -0.5, 0.5)
        return tf.identity(v) * 1.0, grad

    @tf.custom_gradient
    def log1pexp(v):  # TF's documented example: a stable gradient for log(1 + exp(x))
        e = tf.exp(v)

        def grad(dy):
            return dy * (1 - 1 / (1 + e))
        return tf.log(1 + e), grad

    x = tf.constant([100.0, 0.0, -3.0])
    y = log1pexp(x)
    g = tf.gradients(tf.reduce_sum(y), x)[0]
    g2 = tf.gradients(tf.reduce_sum(clip_grad(x) * 3.0), x)[0]
    with tf.Session() as s:
        grad, grad2 = s.run([g, g2])
    assert_close(grad, 1 / (1 + np.exp(-np.array([100.0, 0.0, -3.0]))), "float32")
    assert grad2.tolist() == [0.5, 0.5, 0.5]


def test_tuple_gates_every_output():
    v = tf.Variable(0.0)
    bump = tf.assign_add(v, 1.0)
    a, b = tf.tuple([tf.constant(1.0), tf.constant(2.0)], control_inputs=[bump])
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        s.run(a)
        s.run(b)
        assert s.run(v) == 2.0
    assert tf.is_tensor(a) and tf.is_tensor(v) and not tf.is_tensor(np.ones(2))


# -- collections and variables --------------------------------------------------------------------------
def test_collections_local_variables_and_initializers():
    tf.reset_default_graph()
    ref = tf.get_collection_ref("mine")
    ref.append(7)
    assert tf.get_collection("mine") == [7]
    lv = tf.get_local_variable("counter", shape=[2], initializer=tf.zeros_initializer())
    assert lv in tf.local_variables() and lv not in tf.trainable_variables()
    ema = tf.train.ExponentialMovingAverage(0.5)
    w = tf.Variable(1.0)
    ema.apply([w])
    assert w in tf.moving_average_variables()
    with tf.Session() as s:
        s.run([tf.initialize_local_variables(), tf.initialize_variables([w])])
        assert s.run(lv).tolist() == [0, 0]
    assert tf.AggregationMethod.DEFAULT == tf.AggregationMethod.ADD_N
    tf.no_gradient("MyNonDifferentiableOp")


# -- segments and scatters --------------------------------------------------------------------------------
def test_segment_mean_sqrt_n_and_prod_values():
    data = _x((5, 2), 0.5, 2.0)
    ids = np.array([0, 2, 0, 2, 2])
    mean, sqrt_n, prod = _eval([tf.unsorted_segment_mean(data, ids, 4), tf.unsorted_segment_sqrt_n(data, ids, 4),
                                tf.unsorted_segment_prod(data, ids, 4)])
    for k in range(4):
        rows = data[ids == k]
        assert_close(mean[k], rows.mean(0) if len(rows) else np.zeros(2), "float64")
        assert_close(sqrt_n[k], rows.sum(0) / np.sqrt(len(rows)) if len(rows) else np.zeros(2), "float64")
        assert_close(prod[k], rows.prod(0) if len(rows) else np.ones(2), "float64")
    assert _eval(tf.segment_prod([[1, 2, 3, 4], [4, 3, 2, 1], [5, 6, 7, 8]], [0, 0, 1])).tolist() == \
        [[4, 6, 6, 4], [5, 6, 7, 8]]  # TF's example


def test_segment_prod_gradient_with_zeros():
    data = np.array([[0.0, 2.0], [3.0, 0.0], [0.0, 0.5], [1.5, -2.0]])
    check_gradient(lambda d: tf.unsorted_segment_prod(d, tf.constant([0, 0, 0, 1]), 2), [data], "numpy")
    check_gradient(lambda d: tf.unsorted_segment_mean(d, tf.constant([1, 0, 1, 1]), 3), [data], HOST)


def test_sparse_segment_reductions_follow_tfs_examples():
    c = tf.constant([[1, 2, 3, 4], [-1, -2, -3, -4], [5, 6, 7, 8]], tf.float32)
    got = _eval([tf.sparse_segment_sum(c, [0, 1], [0, 0]), tf.sparse_segment_sum(c, [0, 1], [0, 1]),
                 tf.sparse_segment_sum(c, [0, 2], [0, 1]), tf.sparse_segment_mean(c, [0, 2], [0, 0]),
                 tf.sparse_segment_sqrt_n(c, [0, 1, 2], [0, 0, 1]),
                 tf.sparse_segment_sum(c, [0, 1], [0, 2], num_segments=4)])
    assert got[0].tolist() == [[0, 0, 0, 0]]
    assert got[1].tolist() == [[1, 2, 3, 4], [-1, -2, -3, -4]]
    assert got[2].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert got[3].tolist() == [[3, 4, 5, 6]]
    assert_close(got[4], np.array([[0, 0, 0, 0], [5, 6, 7, 8]]), "float32")
    assert got[5].tolist() == [[1, 2, 3, 4], [0, 0, 0, 0], [-1, -2, -3, -4], [0, 0, 0, 0]]


def test_tensor_scatter_nd_family_and_gradients():
    t = np.arange(8.0)
    idx = np.array([[4], [3], [1], [7]])
    upd = np.array([9.0, 10.0, 11.0, 12.0])
    got = _eval([tf.tensor_scatter_nd_update(t, idx, upd), tf.tensor_scatter_nd_add(t, idx, upd),
                 tf.tensor_scatter_nd_sub(t, idx, upd), tf.tensor_scatter_nd_min(t, idx, upd - 8),
                 tf.tensor_scatter_nd_max(t, idx, upd - 8)])
    ref_upd, ref_add = t.copy(), t.copy()
    ref_upd[idx[:, 0]] = upd
    ref_add[idx[:, 0]] += upd
    assert got[0].tolist() == ref_upd.tolist() and got[1].tolist() == ref_add.tolist()
    assert got[2].tolist() == (2 * t - ref_add).tolist()
    ref_min, ref_max = t.copy(), t.copy()
    ref_min[idx[:, 0]] = np.minimum(t[idx[:, 0]], upd - 8)
    ref_max[idx[:, 0]] = np.maximum(t[idx[:, 0]], upd - 8)
    assert got[3].tolist() == ref_min.tolist() and got[4].tolist() == ref_max.tolist()
    two = np.zeros((3, 2))
    assert _eval(tf.tensor_scatter_add(two, [[0, 1], [0, 1], [2, 0]], [1.0, 2.0, 5.0])).tolist() == \
        [[0, 3], [0, 0], [5, 0]]
    for f in (tf.tensor_scatter_nd_update, tf.tensor_scatter_nd_add, tf.tensor_scatter_nd_sub):
        check_gradient(lambda a, u: f(a, tf.constant(idx), u), [_x(8), _x(4, seed=1)], "numpy")
    with pytest.raises(InvalidArgumentError, match="out of bounds"):
        _eval(tf.tensor_scatter_nd_update(t, [[8]], [1.0]))


def test_variable_scatters():
    v = tf.Variable(np.arange(1.0, 7.0).reshape(3, 2))
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        s.run(tf.scatter_nd_update(v, [[0, 1], [2, 0]], [10.0, 20.0]))
        s.run(tf.scatter_nd_add(v, [[1, 1]], [0.5]))
        s.run(tf.scatter_mul(v, [1], [[2.0, 3.0]]))
        s.run(tf.scatter_div(v, [2], [[4.0, 2.0]]))
        s.run(tf.scatter_min(v, [0, 0], [[0.5, 100.0], [3.0, 7.0]]))
        s.run(tf.scatter_max(v, [2], [[1.0, 9.0]]))
        s.run(tf.scatter_nd_sub(v, [[0, 0]], [1.0]))
        assert s.run(v).tolist() == [[-0.5, 7.0], [6.0, 13.5], [5.0, 9.0]]


# -- the last group (nnplug/ops/tail_more.py) -------------------------------------------------------------
def test_small_helpers():
    ph = tf.placeholder_with_default(np.zeros((2, 1)), [None, 1])
    got = _eval([tf.accumulate_n([[1.0, 2.0], [3.0, 4.0]]), tf.identity_n([1, 2]),
                 tf.where_v2([True, False], [[1, 2], [3, 4]], 0), tf.broadcast_dynamic_shape([2, 1], [3]),
                 tf.broadcast_dynamic_shape(tf.shape(ph), [4, 1, 3]), tf.saturate_cast([-300.0, 5, 300], tf.uint8),
                 tf.imag(tf.constant([1.0, 2.0])), tf.real(tf.constant([1.0, 2.0]))])
    assert got[0].tolist() == [4, 6] and [int(v) for v in got[1]] == [1, 2]
    assert got[2].tolist() == [[1, 0], [3, 0]]  # broadcast, as NumPy's where
    assert got[3].tolist() == [2, 3] and got[4].tolist() == [4, 2, 3]
    assert got[5].tolist() == [0, 5, 255] and got[6].tolist() == [0, 0] and got[7].tolist() == [1, 2]
    assert tf.broadcast_static_shape(tf.TensorShape([2, 1]), tf.TensorShape([3])).as_list() == [2, 3]
    with pytest.raises(ValueError, match="incompatible"):
        tf.broadcast_static_shape([2], [3])
    tf.reset_default_graph()
    tf.add_to_collections(["a", "b"], 5)
    assert tf.get_collection("a") == [5] and tf.get_collection("b") == [5]
    assert tf.get_static_value(tf.constant([3])).tolist() == [3]
    assert tf.get_static_value(tf.placeholder(tf.int32)) is None
    x = _x((1, 4, 4, 1))
    y = _eval(tf.space_to_batch(x, [[0, 0], [0, 0]], block_size=2))
    assert y.shape == (4, 2, 2, 1) and y[0, :, :, 0].tolist() == x[0, ::2, ::2, 0].tolist()
    assert np.array_equal(_eval(tf.batch_to_space(y, [[0, 0], [0, 0]], block_size=2)), x)


def test_static_and_runtime_asserts():
    v = tf.constant([1.0, 2.0])
    tf.assert_rank(v, 1)
    tf.assert_rank_at_least(v, 1)
    tf.assert_rank_in(v, [0, 1])
    tf.assert_type(v, tf.float32)
    assert tf.assert_scalar(tf.constant(3.0)).shape.ndims == 0
    assert tf.assert_same_float_dtype([v]) == tf.float32 and tf.is_numeric_tensor(v)
    with pytest.raises(ValueError, match="must have rank 2"):
        tf.assert_rank(v, 2)
    with pytest.raises(ValueError, match="rank in"):
        tf.assert_rank_in(v, [0, 2])
    with pytest.raises(TypeError, match="int32"):
        tf.assert_type(v, tf.int32)
    with pytest.raises(TypeError, match="integer"):
        tf.assert_integer(v)
    with pytest.raises(ValueError, match="one floating dtype"):
        tf.assert_same_float_dtype([v, tf.constant(1.0, tf.float64)])
    with tf.Session() as s:
        s.run(tf.assert_near(v, v + 1e-7))
        with pytest.raises(InvalidArgumentError, match="not near"):
            s.run(tf.assert_near(v, v + 0.1))


def test_gradients_takes_tf1s_signature_and_every_aggregation_method():
    x = tf.constant([1.0, 2.0])
    y = x * x + 3.0 * x  # x used twice: its gradients are added
    with tf.Session() as sess:
        for method in (tf.AggregationMethod.ADD_N, tf.AggregationMethod.EXPERIMENTAL_TREE,
                       tf.AggregationMethod.EXPERIMENTAL_ACCUMULATE_N):
            [g] = tf.gradients(y, x, None, "gradients", False, False, method)
            np.testing.assert_allclose(sess.run(g), [5.0, 7.0])  # 2x + 3 by hand
    with pytest.raises(ValueError, match="aggregation_method"):
        tf.gradients(y, x, aggregation_method=7)
