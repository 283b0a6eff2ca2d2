"""Gradients through unrolled RNNs (weights, inputs and initial state) against central finite differences
in float64, with ragged sequence lengths, on every available backend."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.ops.nest import flatten

rnn_cell = tf.nn.rnn_cell
EPS = 1e-6
SAMPLED = 6  # entries per array checked on backends with costly launches (OpenCL): bounded test time


def _entries(shape, backend):
    every = list(np.ndindex(shape))
    if backend in ("numpy", "arrayapi") or len(every) <= SAMPLED:
        return every
    pick = np.random.default_rng(len(every)).choice(len(every), SAMPLED, replace=False)
    return [every[k] for k in sorted(pick)]


def _central_differences(base, backend, loss_at):
    """(loss_at(base + EPS) - loss_at(base - EPS)) / 2 EPS, one entry at a time, at the entries checked (the
    rest NaN)."""
    g = np.full_like(base, np.nan)
    for i in _entries(base.shape, backend):
        values = []
        for step in (EPS, -EPS):
            w = base.copy()
            w[i] += step
            values.append(loss_at(w))
        g[i] = (values[0] - values[1]) / (2 * EPS)
    return g


def _finite_differences(sess, loss, variables, inputs, feed, backend):
    """d loss / d each variable (perturbed in the session) and each fed input (perturbed in the feed), at the
    entries checked (the rest NaN)."""
    grads = []
    for var in variables:
        base = sess.variable_value(var).astype(np.float64)

        def loss_with(w, var=var):
            var.load(w, sess)
            return sess.run(loss, feed)
        grads.append(_central_differences(base, backend, loss_with))
        var.load(base, sess)
    for x in inputs:
        grads.append(_central_differences(feed[x], backend, lambda v, x=x: sess.run(loss, {**feed, x: v})))
    return grads


CELLS = {  # name: (the cell, per-example lengths or None)
    "lstm": (lambda: rnn_cell.LSTMCell(3, use_peepholes=True, num_proj=2, forget_bias=0.5), [3, 2]),
    "basic_lstm_stack": (lambda: rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(3), rnn_cell.BasicLSTMCell(2)]),
                         [3, 2]),
    "gru": (lambda: rnn_cell.GRUCell(3), [3, 2]),
    # without lengths, plain LSTM layers run as LSTMSequence ops (nnplug/ops/lstm_sequence.py)
    "fused_lstm_stack": (lambda: rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(3, forget_bias=0.5),
                                                        rnn_cell.LSTMCell(2)]), None),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_unrolled_rnn_gradients_match_finite_differences(backend, kind):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((2, 3, 2))
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        make_cell, lengths = CELLS[kind]
        cell = make_cell()
        x = tf.placeholder(tf.float64, (2, 3, 2))
        init = cell.zero_state(2, tf.float64)
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=init)
        leaves = [out] + flatten(state)
        loss = tf.add_n([tf.reduce_sum(t * rng.uniform(0.5, 1.5, tuple(t.shape))) for t in leaves])
        variables = cell.trainable_variables
        analytic = tf.gradients(loss, variables + [x])
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            for var in variables:  # away from zero biases, so every path carries a gradient
                var.load(sess.variable_value(var) + rng.uniform(-0.3, 0.3, tuple(var.shape)), sess)
            feed = {x: xs}
            got = sess.run(analytic, feed)
            want = _finite_differences(sess, loss, variables, [x], feed, backend)
    for v, g, w in zip([v.name for v in variables] + ["inputs"], got, want):
        checked = ~np.isnan(w)
        np.testing.assert_allclose(g[checked], w[checked], rtol=1e-5, atol=1e-7,
                                   err_msg=f"gradient of {v} ({kind}, {backend})")


def test_gradient_reaches_the_initial_state_and_embedding(backend):
    """The char-RNN path: ids -> embedding_lookup -> LSTM from a fed initial state -> dense -> loss."""
    rng = np.random.default_rng(2)
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, (2, 3))
        table = tf.Variable(rng.standard_normal((5, 2)))
        cell = rnn_cell.BasicLSTMCell(2)
        c0 = tf.placeholder(tf.float64, (2, 2))
        h0 = tf.placeholder(tf.float64, (2, 2))
        out, _ = tf.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(table, ids),
                                   initial_state=rnn_cell.LSTMStateTuple(c0, h0))
        loss = tf.reduce_sum(tf.layers.dense(tf.reshape(out, [-1, 2]), 3, name="logits") ** 2)
        analytic = tf.gradients(loss, [table, c0, h0])
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            feed = {ids: [[0, 4, 4], [1, 0, 2]], c0: rng.standard_normal((2, 2)), h0: rng.standard_normal((2, 2))}
            got = sess.run(analytic, feed)
            want = _finite_differences(sess, loss, [table], [c0, h0], feed, backend)
    for name, g, w in zip(["table", "c0", "h0"], got, want):
        checked = ~np.isnan(w)
        np.testing.assert_allclose(g[checked], w[checked], rtol=1e-5, atol=1e-7, err_msg=name)
    assert not got[0][3].any(), "an id never looked up gets no gradient"
