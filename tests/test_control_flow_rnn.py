"""dynamic_rnn and bidirectional_dynamic_rnn over a number of time steps known only at run time (a
while_loop over TensorArrays): the same outputs, final states and gradients as the known-time path (the
fused LSTMSequence or the unrolled cells) on the same data and variables, with sequence_length and
time_major, and gradients against finite differences."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import numeric_gradient

rnn_cell = tf.nn.rnn_cell

CELLS = {
    "basic_lstm": lambda: rnn_cell.BasicLSTMCell(4, forget_bias=0.7),  # fused when the time is known
    "gru": lambda: rnn_cell.GRUCell(3),
    "multi": lambda: rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(3), rnn_cell.BasicRNNCell(2)]),
}


def _flat(s):
    return [leaf for item in s for leaf in _flat(item)] if isinstance(s, (tuple, list)) else [s]


def both_paths(make_cell, xs, lengths=None, time_major=False, bidirectional=False, dtype=tf.float64, backend=None):
    """(known-time results, unknown-time results, gradients of each w.r.t. the input and every variable),
    one cell object (so one set of variables) driven over the same data both ways."""
    batch_axis = 1 if time_major else 0
    with tf.Graph().as_default():
        cell = make_cell()
        cell_bw = make_cell() if bidirectional else None
        known = tf.placeholder(dtype, xs.shape)
        unknown = tf.placeholder(dtype, [None] * 2 + [xs.shape[2]])
        seq = tf.placeholder(tf.int32, (xs.shape[batch_axis],)) if lengths is not None else None
        runs = []
        for x in (known, unknown):
            if bidirectional:
                outs, states = tf.nn.bidirectional_dynamic_rnn(cell, cell_bw, x, sequence_length=seq, dtype=dtype,
                                                               time_major=time_major)
            else:
                outs, states = tf.nn.dynamic_rnn(cell, x, sequence_length=seq, dtype=dtype, time_major=time_major)
            flat = _flat(outs) + _flat(states)
            loss = tf.add_n([tf.reduce_sum(t * (k + 1.0)) for k, t in enumerate(flat)])
            runs.append((flat, tf.gradients(loss, [x] + tf.trainable_variables())))
        assert runs[1][0][0].shape.as_list()[1 - batch_axis] is None  # the time dimension stays unknown
        feed = {known: xs, unknown: xs}
        if lengths is not None:
            feed[seq] = lengths
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            return sess.run(runs, feed)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("time_major", [False, True])
def test_unknown_time_equals_the_known_time_path(kind, time_major):
    xs = np.random.default_rng(1).normal(size=(5, 3, 2) if time_major else (3, 5, 2))
    (k_vals, k_grads), (u_vals, u_grads) = both_paths(CELLS[kind], xs, time_major=time_major)
    for a, b in zip(k_vals + k_grads, u_vals + u_grads):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_length_with_an_unknown_time(backend, bidirectional):
    xs = np.random.default_rng(2).normal(size=(3, 6, 2))
    lengths = np.array([6, 2, 0], np.int32)
    (k_vals, k_grads), (u_vals, u_grads) = both_paths(CELLS["basic_lstm"], xs, lengths, bidirectional=bidirectional,
                                                        backend=backend)
    for a, b in zip(k_vals + k_grads, u_vals + u_grads):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    assert np.all(u_vals[0][1, 2:] == 0) and np.all(u_vals[0][2] == 0)  # past each example's length


def test_one_graph_runs_any_number_of_steps(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, None, 3))
        cell = rnn_cell.BasicRNNCell(2, activation=tf.identity)
        out, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            w, b = sess.run(cell.variables)
            for steps in (1, 7):
                xv = np.random.default_rng(steps).normal(size=(2, steps, 3)).astype(np.float32)
                got_out, got_state = sess.run([out, state], {x: xv})
                h, want = np.zeros((2, 2)), []
                for t in range(steps):
                    h = np.concatenate([xv[:, t], h], 1) @ w + b
                    want.append(h)
                np.testing.assert_allclose(got_out, np.stack(want, 1), rtol=1e-4, atol=1e-5)
                np.testing.assert_allclose(got_state, h, rtol=1e-4, atol=1e-5)


def test_unknown_time_gradient_matches_finite_differences(backend):
    xs = np.random.default_rng(3).normal(size=(2, 4, 2))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, None, 2))
        lengths = tf.constant([4, 3])
        cell = rnn_cell.GRUCell(3, kernel_initializer=tf.constant_initializer(0.3))
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float64)
        y = tf.reduce_sum(out * out) + tf.reduce_sum(tf.sin(state))
        (g,) = tf.gradients(y, [x])
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(g, {x: xs})
            num = numeric_gradient(lambda a: float(sess.run(y, {x: a[0]})), [xs.copy()], 0, 1e-6)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-9)


def test_training_with_an_unknown_time_reduces_the_loss():
    rng = np.random.default_rng(4)
    xs, ys = rng.normal(size=(4, 5, 2)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    with tf.Graph().as_default():
        tf.set_random_seed(1)  # the same initial weights whatever ran before (from these 40 steps reach only 0.53x)
        x = tf.placeholder(tf.float32, (None, None, 2))
        _, state = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(3), x, dtype=tf.float32)
        loss = tf.reduce_mean(tf.square(state.h - ys))
        step = tf.train.AdamOptimizer(0.05).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(loss, {x: xs})
            for _ in range(120):
                sess.run(step, {x: xs})
            assert sess.run(loss, {x: xs}) < 0.5 * first
