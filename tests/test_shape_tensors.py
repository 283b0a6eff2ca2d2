"""Shapes given as tensors, as TF1 programs write them (`tf.random_normal(tf.shape(z))`,
`tf.reshape(x, [-1, tf.shape(y)[1]])`, `tf.zeros(tf.shape(x))`), on every backend; and the TF1
semantics fixed with them: `tf.rank` is a tensor, `tf.squeeze` drops run-time size-1 axes, dropout takes a
fed keep probability."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError


def test_tensor_shapes_follow_the_feed(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        noise = tf.random_normal(tf.shape(x), seed=3)
        zeros = tf.zeros(tf.shape(x))
        sevens = tf.fill([tf.shape(x)[0], 2], 7.0)
        flat = tf.reshape(x, [-1])
        swapped = tf.reshape(x, tf.shape(x)[::-1])
        assert tuple(noise.shape) == (None, 3) and tuple(sevens.shape) == (None, 2)
        with tf.Session(backend=backend) as sess:
            for rows in (1, 5):
                xv = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
                n, z, s, f, w = sess.run([noise, zeros, sevens, flat, swapped], {x: xv})
                assert n.shape == (rows, 3) and np.isfinite(n).all() and n.std() > 0 or rows == 1
                np.testing.assert_array_equal(z, np.zeros((rows, 3)))
                np.testing.assert_array_equal(s, np.full((rows, 2), 7.0))
                np.testing.assert_array_equal(f, xv.reshape(-1))
                np.testing.assert_array_equal(w, xv.reshape(3, rows))


def test_shapes_known_when_building_stay_static():
    with tf.Graph().as_default():
        y = tf.placeholder(tf.float32, (4, 6))
        assert tf.get_default_graph() is y.graph
        assert tuple(tf.zeros(tf.shape(y)).shape) == (4, 6)
        assert tuple(tf.reshape(y, [tf.shape(y)[1], -1]).shape) == (6, 4)
        assert tf.zeros(tf.shape(y)).op.type == "Const"  # folded while building


def test_reshape_by_tensor_has_a_gradient(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 3))
        y = tf.reshape(x, tf.shape(x)[::-1]) * tf.constant(np.arange(6.0).reshape(3, 2))
        g = tf.gradients(tf.reduce_sum(y), x)[0]
        with tf.Session(backend=backend) as sess:
            got = sess.run(g, {x: np.ones((2, 3))})
    np.testing.assert_allclose(got, np.arange(6.0).reshape(3, 2).reshape(2, 3))


def test_shape_from_fed_values_is_a_clear_error():
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, (2,), name="dims")
        z = tf.zeros(n, name="by_values")
        with tf.Session() as sess:
            with pytest.raises(InvalidArgumentError, match="Fill op 'by_values'.*depends on fed values"):
                sess.run(z, {n: [2, 3]})


def test_rank_is_a_tensor_and_squeeze_drops_runtime_ones(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 1))
        r, sq = tf.rank(x), tf.squeeze(x)
        assert isinstance(r, tf.Tensor) and tuple(sq.shape) == (None,)  # TF1 prints (?,)
        with tf.Session(backend=backend) as sess:
            assert sess.run(r) == 2
            assert sess.run(sq, {x: [[3.0]]}).shape == ()
            assert sess.run(sq, {x: [[3.0], [4.0]]}).shape == (2,)


def test_dropout_with_a_fed_keep_probability(backend):
    with tf.Graph().as_default():
        keep = tf.placeholder(tf.float32, name="keep_prob")
        x = tf.ones((2000,))
        d = tf.nn.dropout(x, keep, seed=5)
        with tf.Session(backend=backend) as sess:
            full = sess.run(d, {keep: 1.0})
            half = sess.run(d, {keep: 0.5})
    np.testing.assert_array_equal(full, np.ones(2000))
    assert set(np.unique(half)) <= {0.0, 2.0} and 0.45 < (half == 0).mean() < 0.55
