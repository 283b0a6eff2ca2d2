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


def test_a_shape_given_by_fed_values_is_computed_first_as_tf1_does():
    """tf.zeros(n) of a fed n: the Session computes n, then runs a plan compiled for that value (kept per
    value); the same through an op's result (the default length of sequence_mask is reduce_max(lengths))."""
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, (2,), name="dims")
        z = tf.zeros(n, name="by_values")
        lengths = tf.placeholder(tf.int32, (None,))
        mask = tf.sequence_mask(lengths)
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(z, {n: [2, 3]}), np.zeros((2, 3)))
            np.testing.assert_array_equal(sess.run(z, {n: [1, 4]}), np.zeros((1, 4)))
            np.testing.assert_array_equal(sess.run(z, {n: [2, 3]}), np.zeros((2, 3)))
            np.testing.assert_array_equal(sess.run(mask, {lengths: [1, 3]}),
                                          [[True, False, False], [True, True, True]])
            assert sess.run(mask, {lengths: [2, 0, 1, 1]}).shape == (4, 2)


def test_a_size_known_only_at_run_time_is_computed_first_and_trains():
    """boolean_mask's rows depend on the data: its result is computed by a first run and fed to the step,
    whose gradient (w <- w - lr * mean of the kept x) is the one TF1 computes."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        w = tf.Variable(2.0)
        kept = tf.boolean_mask(x * w, x > 0)
        loss = tf.reduce_mean(kept)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert float(sess.run(loss, {x: [1.0, -2.0, 3.0]})) == 4.0
            sess.run(train, {x: [1.0, -2.0, 3.0]})
            assert float(sess.run(w)) == pytest.approx(2.0 - 0.1 * 2.0)
            sess.run(train, {x: [-1.0, 5.0]})  # another number of kept rows
            assert float(sess.run(w)) == pytest.approx(1.8 - 0.1 * 5.0)


def test_a_size_from_a_random_draw_is_still_refused():
    """Values whose ops change state when run (random draws, assigns) are not computed twice."""
    with tf.Graph().as_default():
        x = tf.random_uniform((6,), seed=1)
        kept = tf.boolean_mask(x, x > 0.5)
        with tf.Session() as sess:
            with pytest.raises(InvalidArgumentError, match="size depends on fed values"):
                sess.run(kept * 2.0)


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
