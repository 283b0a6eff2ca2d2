"""RNN cells and drivers (nnplug/ops/rnn_cell.py, rnn.py) against hand-written float64 NumPy cells, TF1's
variable names, per-example sequence lengths against per-example static unrolls, and the errors."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError

rnn_cell = tf.nn.rnn_cell


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- float64 NumPy cells, written from TF1's definitions -----------------------------------------------
def np_basic_rnn(x, h, w):
    kernel, bias = w
    h = np.tanh(np.concatenate([x, h], 1) @ kernel + bias)
    return h, h


def np_lstm(x, state, w, forget_bias=1.0, peep=None, clip=None, proj=None):
    c, h = state
    kernel, bias = w[:2]
    i, j, f, o = np.split(np.concatenate([x, h], 1) @ kernel + bias, 4, axis=1)
    if peep is not None:
        wf, wi, wo = peep
        f, i = f + wf * c, i + wi * c
    c = sig(f + forget_bias) * c + sig(i) * np.tanh(j)
    if clip is not None:
        c = np.clip(c, -clip, clip)
    if peep is not None:
        o = o + wo * c
    m = sig(o) * np.tanh(c)
    if proj is not None:
        m = m @ proj
    return m, (c, m)


def np_gru(x, h, w):
    gk, gb, ck, cb = w
    r, u = np.split(sig(np.concatenate([x, h], 1) @ gk + gb), 2, axis=1)
    c = np.tanh(np.concatenate([x, r * h], 1) @ ck + cb)
    h = u * h + (1 - u) * c
    return h, h


def np_unroll(step, xs, state):
    outs = []
    for t in range(xs.shape[1]):
        out, state = step(xs[:, t], state)
        outs.append(out)
    return np.stack(outs, 1), state


def _values(sess, cell):
    return [np.asarray(v, np.float64) for v in sess.run(cell.variables)]


CELLS = {  # name: (make the cell, its state structure from zeros, the NumPy step given the weights)
    "basic_rnn": (lambda: rnn_cell.BasicRNNCell(4), lambda w: (lambda x, s: np_basic_rnn(x, s, w))),
    "basic_lstm": (lambda: rnn_cell.BasicLSTMCell(4, forget_bias=0.7),
                   lambda w: (lambda x, s: np_lstm(x, s, w, 0.7))),
    "lstm_peephole_clip_proj": (
        lambda: rnn_cell.LSTMCell(4, use_peepholes=True, cell_clip=0.3, num_proj=3),
        lambda w: (lambda x, s: np_lstm(x, s, w, 1.0, peep=w[2:5], clip=0.3, proj=w[5]))),
    "gru": (lambda: rnn_cell.GRUCell(4), lambda w: (lambda x, s: np_gru(x, s, w))),
}


def _np_state(state):
    if isinstance(state, tuple):
        return tuple(_np_state(s) for s in state)
    return np.asarray(state, np.float64)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_unrolled_by_dynamic_rnn_matches_numpy(kind):
    make_cell, np_step = CELLS[kind]
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 5, 2))
    with tf.Graph().as_default():
        cell = make_cell()
        x = tf.placeholder(tf.float64, (3, 5, 2))
        out, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float64)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got_out, got_state = sess.run([out, state], {x: xs})
            zero = _np_state(sess.run(cell.zero_state(3, tf.float64)))
            want_out, want_state = np_unroll(np_step(_values(sess, cell)), xs, zero)
    assert out.shape == (3, 5, cell.output_size) and got_out.dtype == np.float64
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12, atol=1e-12)
    for g, w in zip(_flat(got_state), _flat(want_state)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def _flat(s):
    return [leaf for item in s for leaf in _flat(item)] if isinstance(s, tuple) else [s]


def test_variables_are_named_as_tf1_names_them():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3, 5))
        cells = tf.contrib.rnn.MultiRNNCell([tf.contrib.rnn.DropoutWrapper(tf.contrib.rnn.BasicLSTMCell(4),
                                                                           output_keep_prob=0.5),
                                             tf.nn.rnn_cell.GRUCell(3)])
        out, _ = tf.nn.dynamic_rnn(cells, x, dtype=tf.float32)
        tf.nn.dynamic_rnn(rnn_cell.LSTMCell(2, use_peepholes=True, num_proj=1), x, dtype=tf.float32, scope="p")
        names = {v.name: tuple(v.shape) for v in tf.global_variables()}
    assert names == {
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel:0": (9, 16),
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias:0": (16,),
        "rnn/multi_rnn_cell/cell_1/gru_cell/gates/kernel:0": (7, 6),
        "rnn/multi_rnn_cell/cell_1/gru_cell/gates/bias:0": (6,),
        "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel:0": (7, 3),
        "rnn/multi_rnn_cell/cell_1/gru_cell/candidate/bias:0": (3,),
        "p/lstm_cell/kernel:0": (6, 8), "p/lstm_cell/bias:0": (8,),
        "p/lstm_cell/w_f_diag:0": (2,), "p/lstm_cell/w_i_diag:0": (2,), "p/lstm_cell/w_o_diag:0": (2,),
        "p/lstm_cell/projection/kernel:0": (2, 1),
    }
    assert out.shape == (2, 3, 3)


def test_gru_gate_bias_starts_at_one_and_basic_lstm_state_sizes():
    with tf.Graph().as_default():
        gru, lstm = rnn_cell.GRUCell(3), rnn_cell.BasicLSTMCell(5)
        tf.nn.dynamic_rnn(gru, tf.zeros((2, 1, 4)), dtype=tf.float32)
        assert lstm.state_size == rnn_cell.LSTMStateTuple(5, 5) and lstm.output_size == 5
        assert rnn_cell.BasicLSTMCell(5, state_is_tuple=False).state_size == 10
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(gru.variables[1]), np.ones(6, np.float32))


def test_zero_state_takes_a_batch_size_tensor():
    cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(3), rnn_cell.GRUCell(2)])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4, 2))
        state = cell.zero_state(tf.shape(x)[0], tf.float32)
        out, final = tf.nn.dynamic_rnn(cell, x, initial_state=state)
        assert out.shape.as_list() == [None, 4, 2]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            zeros, got = sess.run([state, final], {x: np.ones((7, 4, 2), np.float32)})
    assert zeros[0].c.shape == (7, 3) and zeros[1].shape == (7, 2) and not zeros[0].h.any()
    assert got[0].h.shape == (7, 3)


def test_state_fed_back_continues_the_sequence():
    """Running 6 steps at once equals 3 steps, then 3 more from the fetched state fed back (ch16's loop)."""
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((2, 6, 3)).astype(np.float32)
    with tf.Graph().as_default():
        cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(4) for _ in range(2)])
        x6 = tf.placeholder(tf.float32, (2, 6, 3))
        x3 = tf.placeholder(tf.float32, (2, 3, 3))
        init = cell.zero_state(2, tf.float32)
        out6, _ = tf.nn.dynamic_rnn(cell, x6, initial_state=init)
        out3, final3 = tf.nn.dynamic_rnn(cell, x3, initial_state=init)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            whole = sess.run(out6, {x6: xs})
            first, state = sess.run([out3, final3], {x3: xs[:, :3]})
            second = sess.run(out3, {x3: xs[:, 3:], init: state})
    np.testing.assert_allclose(np.concatenate([first, second], 1), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["basic_lstm", "gru"])
def test_ragged_sequence_length_equals_per_example_static_unroll(kind):
    rng = np.random.default_rng(2)
    lengths = np.array([5, 0, 2, 4], np.int32)
    xs = rng.standard_normal((4, 5, 3))
    with tf.Graph().as_default():
        cell = CELLS[kind][0]()
        x = tf.placeholder(tf.float64, (4, 5, 3))
        n = tf.placeholder(tf.int32, (4,))
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=n, dtype=tf.float64)
        singles = []
        for b, length in enumerate(lengths):  # the same cell (its variables), one example, only its steps
            steps = [x[b:b + 1, t] for t in range(length)]
            singles.append(tf.nn.static_rnn(cell, steps, dtype=tf.float64) if length else ([], None))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got_out, got_state = sess.run([out, state], {x: xs, n: lengths})
            zero = sess.run(cell.zero_state(1, tf.float64))
            for b, (outs, st) in enumerate(singles):
                L = lengths[b]
                want_out, want_state = sess.run([outs, st], {x: xs}) if L else ([], zero)
                if L:
                    np.testing.assert_allclose(got_out[b, :L], np.concatenate(want_out), rtol=1e-12, atol=1e-13)
                assert not got_out[b, L:].any(), "outputs past an example's length must be zero"
                for g, w in zip(_flat(got_state), _flat(want_state)):
                    np.testing.assert_allclose(g[b], w[0], rtol=1e-12, atol=1e-13)


def test_bidirectional_dynamic_rnn_backward_pass_reverses_each_valid_part():
    rng = np.random.default_rng(3)
    lengths = np.array([4, 2, 3], np.int32)
    xs = rng.standard_normal((3, 4, 2))
    with tf.Graph().as_default():
        fw, bw = rnn_cell.GRUCell(3), rnn_cell.BasicLSTMCell(2)
        x = tf.placeholder(tf.float64, (3, 4, 2))
        (o_fw, o_bw), (s_fw, s_bw) = tf.nn.bidirectional_dynamic_rnn(fw, bw, x, sequence_length=lengths,
                                                                     dtype=tf.float64)
        names = sorted(v.name for v in tf.global_variables())
        # TF1's definition: the backward cell runs forward over each example's valid steps reversed
        rev = tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)
        o_ref, s_ref = tf.nn.dynamic_rnn(bw, rev, sequence_length=lengths, dtype=tf.float64, scope="ref")
        o_ref = tf.reverse_sequence(o_ref, lengths, seq_axis=1, batch_axis=0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got_bw, want_bw, got_s, want_s = sess.run([o_bw, o_ref, s_bw, s_ref], {x: xs})
    assert names[0].startswith("bidirectional_rnn/bw/basic_lstm_cell/")
    assert any(n.startswith("bidirectional_rnn/fw/gru_cell/gates/") for n in names)
    np.testing.assert_allclose(got_bw, want_bw, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got_s.h, want_s.h, rtol=1e-12, atol=1e-13)
    assert o_fw.shape == (3, 4, 3)


def test_static_bidirectional_and_time_major():
    xs = np.random.default_rng(4).standard_normal((3, 2, 2))  # time-major: [time, batch, depth]
    with tf.Graph().as_default():
        fw, bw = rnn_cell.BasicRNNCell(2), rnn_cell.BasicRNNCell(2)
        x = tf.placeholder(tf.float64, (3, 2, 2))
        outs, _, _ = tf.contrib.rnn.static_bidirectional_rnn(fw, bw, tf.unstack(x), dtype=tf.float64)
        (d_fw, d_bw), _ = tf.nn.bidirectional_dynamic_rnn(fw, bw, x, dtype=tf.float64, time_major=True)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, dyn_fw, dyn_bw = sess.run([tf.stack(outs), d_fw, d_bw], {x: xs})
    np.testing.assert_allclose(got, np.concatenate([dyn_fw, dyn_bw], 2), rtol=1e-12)


def test_dropout_wrapper_keep_prob_placeholder():
    with tf.Graph().as_default():
        tf.set_random_seed(5)
        keep = tf.placeholder(tf.float32, name="keep")
        cell = rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(50), input_keep_prob=keep, output_keep_prob=keep)
        out, _ = tf.nn.dynamic_rnn(cell, tf.ones((4, 3, 6)), dtype=tf.float32)
        assert out.shape == (4, 3, 50)
        plain, _ = tf.nn.dynamic_rnn(cell._cell, tf.ones((4, 3, 6)), dtype=tf.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kept, ref = sess.run([out, plain], {keep: 1.0})
            dropped = sess.run(out, {keep: 0.5})
    np.testing.assert_allclose(kept, ref, rtol=1e-6)
    assert 0.3 < np.mean(dropped == 0) < 0.7


def test_reverse_sequence_and_sequence_mask():
    x = np.arange(24).reshape(4, 3, 2)  # time axis 0, batch axis 1 here
    with tf.Graph().as_default(), tf.Session() as sess:
        rev = sess.run(tf.reverse_sequence(x, [3, 1, 4], seq_axis=0, batch_axis=1))
        mask = sess.run(tf.sequence_mask([1, 3, 0], 4))
        auto = sess.run(tf.sequence_mask(tf.constant([[2], [1]]), dtype=tf.float32))
    want = np.array(x)
    for b, n in enumerate([3, 1, 4]):
        want[:n, b] = x[:n, b][::-1]
    np.testing.assert_array_equal(rev, want)
    np.testing.assert_array_equal(mask, [[1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(auto, [[[1.0, 1.0]], [[1.0, 0.0]]])


def test_sequence_loss_weights_and_averages():
    rng = np.random.default_rng(6)
    logits, targets = rng.standard_normal((2, 3, 4)), rng.integers(0, 4, (2, 3))
    weights = np.array([[1.0, 1.0, 0.0], [1.0, 0.5, 1.0]])
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(logp, targets[..., None], -1)[..., 0] * weights
    with tf.Graph().as_default(), tf.Session() as sess:
        loss = tf.contrib.seq2seq.sequence_loss
        both, per_b, per_t, none = sess.run([
            loss(logits, targets, weights),
            loss(logits, targets, weights, average_across_batch=False),
            loss(logits, targets, weights, average_across_timesteps=False),
            loss(logits, targets, weights, average_across_timesteps=False, average_across_batch=False)])
    np.testing.assert_allclose(both, ce.sum() / weights.sum(), rtol=1e-12)
    np.testing.assert_allclose(per_b, ce.sum(1) / weights.sum(1), rtol=1e-12)
    np.testing.assert_allclose(per_t, ce.sum(0) / weights.sum(0), rtol=1e-12)
    np.testing.assert_allclose(none, ce, rtol=1e-12)


# -- errors -----------------------------------------------------------------------------------------------
def test_unknown_number_of_steps_runs_in_a_loop():  # tests/test_control_flow_rnn.py compares it with this path
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (8, None, 3), name="chars")
        out, _ = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(4), x, dtype=tf.float32)
        assert out.shape.as_list() == [8, None, 4]
        assert any(op.type == "While" for op in tf.get_default_graph().get_operations())


def test_mismatched_state_structure_is_refused_naming_both():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3, 4))
        cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(4), rnn_cell.BasicLSTMCell(4)])
        with pytest.raises(ValueError, match=r"the state given has the structure \(LSTMStateTuple\(c='.*' \(2, 4\), "
                                             r"h=.*\),\), but the cell's state_size is \(LSTMStateTuple\(c=4, h=4\), "
                                             r"LSTMStateTuple\(c=4, h=4\)\)"):
            tf.nn.dynamic_rnn(cell, x, initial_state=(rnn_cell.BasicLSTMCell(4).zero_state(2, tf.float32),))
        with pytest.raises(ValueError, match=r"state tensor '.*' \(2, 5\) does not fit the cell's state_size 4"):
            tf.nn.dynamic_rnn(rnn_cell.GRUCell(4), x, initial_state=tf.zeros((2, 5)))
        with pytest.raises(ValueError, match="without an initial_state, give the state's dtype"):
            tf.nn.dynamic_rnn(rnn_cell.GRUCell(4), x)


def test_integer_inputs_and_bad_arguments_are_refused():
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, (2, 3, 1), name="ids")
        with pytest.raises(TypeError, match=r"input 'ids:0' \(2, 3, 1\) is int32; RNN inputs must be floating"):
            tf.nn.dynamic_rnn(rnn_cell.GRUCell(2), ids, dtype=tf.float32)
        with pytest.raises(ValueError, match="positive int number of units"):
            rnn_cell.BasicLSTMCell(0)
        with pytest.raises(ValueError, match=r"output_keep_prob must be in \(0, 1\]"):
            rnn_cell.DropoutWrapper(rnn_cell.GRUCell(2), output_keep_prob=0.0)
        with pytest.raises(TypeError, match="cell must be an RNN cell"):
            tf.nn.dynamic_rnn("lstm", tf.zeros((2, 3, 1)), dtype=tf.float32)


def test_embedding_id_out_of_range_names_the_lookup_and_id():
    with tf.Graph().as_default():
        table = tf.Variable(np.ones((10, 3), np.float32))
        ids = tf.placeholder(tf.int32, (2, 2))
        rows = tf.nn.embedding_lookup(table, ids, name="words")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(rows, {ids: [[0, 9], [3, 3]]}).shape == (2, 2, 3)
            for bad in (10, -1):
                with pytest.raises(InvalidArgumentError,
                                   match=rf"embedding_lookup 'words': indices\[1,0\] = {bad} is not in \[0, 10\)"):
                    sess.run(rows, {ids: [[0, 9], [bad, 3]]})


def test_embedding_lookup_over_shards():
    table = np.arange(12.0).reshape(6, 2)
    with tf.Graph().as_default(), tf.Session() as sess:
        ids = np.array([5, 0, 3])
        mod = sess.run(tf.nn.embedding_lookup([table[0::2], table[1::2]], ids))  # id i: shard i % 2, row i // 2
        div = sess.run(tf.nn.embedding_lookup([table[:3], table[3:]], ids, partition_strategy="div"))
        clipped = sess.run(tf.nn.embedding_lookup(table, ids, max_norm=1.0))
    np.testing.assert_array_equal(mod, table[ids])
    np.testing.assert_array_equal(div, table[ids])
    np.testing.assert_allclose(np.linalg.norm(clipped, axis=1), 1.0, rtol=1e-6)


def test_plain_lstm_layers_run_fused_and_match_the_cell_by_cell_unroll():
    """dynamic_rnn runs plain LSTM layers as LSTMSequence ops; static_rnn unrolls the same cells step by
    step: outputs, states and gradients agree, forwards and (bidirectional) backwards, time-major too."""
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((3, 5, 2))
    with tf.Graph().as_default() as g:
        cell = rnn_cell.MultiRNNCell([rnn_cell.DropoutWrapper(rnn_cell.BasicLSTMCell(4, forget_bias=0.3)),
                                      rnn_cell.LSTMCell(3)])
        bw = rnn_cell.BasicLSTMCell(2)
        x = tf.placeholder(tf.float64, (3, 5, 2))
        (out, out_bw), (state, state_bw) = tf.nn.bidirectional_dynamic_rnn(cell, bw, x, dtype=tf.float64)
        out_tm, _ = tf.nn.dynamic_rnn(cell, tf.transpose(x, (1, 0, 2)), dtype=tf.float64, time_major=True,
                                      scope="bidirectional_rnn/fw")
        fused_ops = [op.name for op in g.get_operations() if op.type == "LSTMSequence"]
        steps = tf.unstack(x, axis=1)
        ref, ref_state = tf.nn.static_rnn(cell, steps, dtype=tf.float64, scope="bidirectional_rnn/fw")
        ref_bw, ref_state_bw = tf.nn.static_rnn(bw, steps[::-1], dtype=tf.float64, scope="bidirectional_rnn/bw")
        loss_fused = tf.reduce_sum(out * out) + tf.reduce_sum(state[1].c) + tf.reduce_sum(out_bw ** 3.0)
        loss_ref = tf.reduce_sum(tf.stack(ref, 1) ** 2.0) + tf.reduce_sum(ref_state[1].c) \
            + tf.reduce_sum(tf.stack(ref_bw[::-1], 1) ** 3.0)
        weights = tf.trainable_variables()
        assert len(weights) == 6 and len(fused_ops) == 5  # 2 + 2 layers (fw, time-major) + 1 (bw)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run([out, out_tm, state, out_bw, state_bw, tf.gradients(loss_fused, weights + [x])], {x: xs})
            want = sess.run([tf.stack(ref, 1), tf.stack(ref, 0), ref_state, tf.stack(ref_bw[::-1], 1), ref_state_bw,
                             tf.gradients(loss_ref, weights + [x])], {x: xs})
    for g_, w_ in zip(_flat(tuple(got[:5])) + got[5], _flat(tuple(want[:5])) + want[5]):
        np.testing.assert_allclose(g_, w_, rtol=1e-10, atol=1e-12)


def test_a_single_step_sequence_runs_fused_and_unrolled():
    """ch16's sampling graph: batch 1, one step, the state fed back."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (1, 1, 3))
        fused, _ = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(2), x, dtype=tf.float64)
        unrolled, _ = tf.nn.dynamic_rnn(rnn_cell.GRUCell(2), x, dtype=tf.float64)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            a, b = sess.run([fused, unrolled], {x: np.ones((1, 1, 3))})
    assert a.shape == b.shape == (1, 1, 2)


def test_feeds_as_ch16_writes_them():
    """A state structure as a feed_dict key (the fetched state fed back), and ids in a float array."""
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, (1, 1))
        cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(2)])
        init = cell.zero_state(1, tf.float32)
        out, final = tf.nn.dynamic_rnn(cell, tf.one_hot(ids, 4), initial_state=init)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            x = np.zeros((1, 1))
            x[0, 0] = 3
            state = sess.run(init)
            first, state = sess.run([out, final], {ids: x, init: state})
            second = sess.run(out, {ids: x, init: state})
            assert not np.allclose(first, second)  # the fed state took effect
            with pytest.raises(TypeError, match=r"'Placeholder:0'.*unless they are whole numbers"):
                sess.run(out, {ids: [[1.5]], init: state})
            with pytest.raises(ValueError, match=r"the value must nest like the key \(2 entries\)"):
                sess.run(out, {ids: x, init[0]: [np.zeros((1, 2))]})


def test_rnn_graphs_survive_a_meta_graph_round_trip(tmp_path):
    """Saver.save writes the meta graph (TF1's default): the RNN ops' attributes are plain values."""
    ids = [[1, 2, 3], [4, 0, 1]]
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, (2, 3), name="x")
        emb = tf.get_variable("emb", (5, 4))
        out, _ = tf.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(3), tf.nn.embedding_lookup(emb, x), dtype=tf.float32)
        out = tf.identity(tf.reverse_sequence(out, [3, 1], seq_axis=1), name="out")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            want = sess.run(out, {x: ids})
            saver.save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(str(tmp_path / "m.meta"))
        with tf.Session() as sess:
            saver.restore(sess, str(tmp_path / "m"))
            np.testing.assert_array_equal(sess.run("out:0", {"x:0": ids}), want)
