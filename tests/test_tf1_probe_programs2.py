"""What a second probe of classic TF1 programs (the official tutorials Mechanics 101, word2vec, PDE and
Mandelbrot, CS20, Keras 2's examples) found missing or wrong, checked against NumPy and TF1's documented
behaviour."""
import os
import warnings

import numpy as np
import pytest

import nnplug as tf


def test_dtype_given_as_tf1_enum_number():
    """TF1's PDE tutorial writes `tf.constant(a, dtype=1)`: DataType 1 is float32 (types.proto)."""
    tf.reset_default_graph()
    assert tf.as_dtype(1) is tf.float32 and tf.as_dtype(3) is tf.int32 and tf.as_dtype(10) is tf.bool
    assert tf.float64.as_datatype_enum == 2 and tf.int64.as_datatype_enum == 9
    c = tf.constant([[0.5, 1.0]], dtype=1)
    assert c.dtype == tf.float32
    np.testing.assert_array_equal(tf.Session().run(c), np.float32([[0.5, 1.0]]))
    with pytest.raises(TypeError, match="unsupported dtype 8"):
        tf.as_dtype(8)  # complex64: not an nnplug dtype


def test_run_metadata_is_accepted_and_recorded_by_the_file_writer(tmp_path):
    """word2vec_basic: `sess.run(..., options=tf.RunOptions(trace_level=FULL_TRACE), run_metadata=m)` then
    `writer.add_run_metadata(m, 'step%d')`; TensorBoard lists the tag."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [2])
    meta = tf.RunMetadata()
    got = tf.Session().run(x * 3.0, {x: [1.0, 2.0]}, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                           run_metadata=meta)
    np.testing.assert_array_equal(got, [3.0, 6.0])
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        writer.add_run_metadata(meta, "step7", global_step=7)
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert events.Tags()["run_metadata"] == ["step7"]
    with pytest.raises(ValueError, match="trace_level"):
        tf.RunOptions(trace_level=9)


def test_saver_saves_variables_of_a_graph_with_a_data_iterator(tmp_path):
    """CS20: a model fed by `make_initializable_iterator` is checkpointed with `Saver.save(sess, path, gstep)`.
    The iterator cannot go into a meta graph, so the Saver warns naming it, writes no .meta (removing a
    stale one), and the variables still round-trip."""
    tf.reset_default_graph()
    it = tf.data.Dataset.from_tensor_slices(np.arange(4.0, dtype=np.float32)).make_initializable_iterator()
    w = tf.Variable(2.0)
    step = tf.Variable(0, trainable=False)
    out = w * it.get_next()
    train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    saver = tf.train.Saver()
    prefix = str(tmp_path / "huber")
    (tmp_path / "huber-2.meta").write_text("stale")
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), it.initializer])
        assert sess.run(out) == 0.0
        sess.run(train), sess.run(train)
        with pytest.warns(UserWarning, match="MakeIterator"):
            saved = saver.save(sess, prefix, global_step=step)
    assert saved == prefix + "-2" and not os.path.exists(prefix + "-2.meta")
    assert tf.train.latest_checkpoint(str(tmp_path)) == saved
    with tf.Session() as sess:
        saver.restore(sess, saved)
        assert sess.run([w, step]) == [4.0, 2]


def test_keras_backend_get_and_set_value_of_the_learning_rate():
    """Keras 2's schedule idiom: `K.set_value(model.optimizer.lr, v)` in a callback changes the rate the
    next steps use (checked against plain SGD by hand), and `K.get_value` reads it back as a float."""
    from nnplug import keras
    from nnplug.keras import backend as K
    keras.backend.clear_session()
    model = keras.models.Sequential([keras.layers.Dense(1, use_bias=False, kernel_initializer="ones",
                                                        input_shape=(1,))])
    model.compile(keras.optimizers.SGD(lr=0.1), "mse")
    assert K.get_value(model.optimizer.lr) == pytest.approx(0.1) and type(K.get_value(model.optimizer.lr)) is float

    def halve(epoch, logs=None):
        K.set_value(model.optimizer.lr, K.get_value(model.optimizer.lr) * 0.5)

    x, y = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    model.fit(x, y, epochs=3, batch_size=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=halve)])
    w, expected = 1.0, 1.0
    for lr in (0.05, 0.025, 0.0125):  # d/dw (w - 0)^2 = 2w
        expected -= lr * 2 * expected
    w = model.get_weights()[0].item()
    assert w == pytest.approx(expected, rel=1e-5)
    assert K.get_value(model.optimizer.lr) == pytest.approx(0.0125)
    np.testing.assert_array_equal(K.get_value(np.arange(3)), [0, 1, 2])
    with pytest.raises(TypeError, match="optimizer's learning rate"):
        K.set_value(0.5, 1.0)


def test_seq2seq_training_decoder_matches_dynamic_rnn():
    """contrib.seq2seq's TrainingHelper + BasicDecoder + dynamic_decode over [batch, time, depth] inputs
    runs the cell as dynamic_rnn does: the same outputs and final state (the cell's weights shared), the
    argmax as sample_id, and TF1's sequence lengths (the step at which each example finished)."""
    tf.reset_default_graph()
    rs = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [None, None, 3])
    lengths = tf.placeholder(tf.int32, [None])
    cell = tf.nn.rnn_cell.BasicRNNCell(4)
    init = cell.zero_state(tf.shape(x)[0], tf.float32)
    with tf.variable_scope("shared"):
        ref_out, ref_state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, initial_state=init)
    with tf.variable_scope("shared", reuse=True):
        helper = tf.contrib.seq2seq.TrainingHelper(x, lengths)
        decoder = tf.contrib.seq2seq.BasicDecoder(cell, helper, init)
        outputs, state, got_lengths = tf.contrib.seq2seq.dynamic_decode(decoder, impute_finished=True)
    assert len(tf.trainable_variables()) == 2
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    xv = rs.randn(3, 5, 3).astype(np.float32)
    feed = {x: xv, lengths: [5, 2, 4]}
    out, ids, st, lv, r_out, r_state = sess.run([outputs.rnn_output, outputs.sample_id, state, got_lengths,
                                                 ref_out, ref_state], feed)
    np.testing.assert_allclose(out, r_out, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(st, r_state, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ids, np.argmax(out, -1))
    np.testing.assert_array_equal(lv, [5, 2, 4])


class _ChainCell:
    """A cell whose output scores the successor of the (one-hot embedded) input token: token t -> NEXT[t]."""
    NEXT = np.array([1, 2, 3, 4, 0])  # 0 is the end token
    output_size = 5

    def __call__(self, inputs, state):
        return tf.matmul(inputs, tf.constant(np.eye(5, dtype=np.float32)[self.NEXT])), state + 1.0


def test_seq2seq_greedy_decoder_stops_at_the_end_token():
    """GreedyEmbeddingHelper feeds back each step's argmax; an example finishes when it emits end_token.
    Token chains 3 -> 4 -> 0 and 1 -> 2 -> 3 -> 4 -> 0 give TF1's lengths 2 and 4 and stop the state at
    the step all finished; nnplug's outputs have maximum_iterations steps, zeros after that step."""
    tf.reset_default_graph()
    start = tf.placeholder(tf.int32, [None])
    helper = tf.contrib.seq2seq.GreedyEmbeddingHelper(tf.constant(np.eye(5, dtype=np.float32)), start, 0)
    decoder = tf.contrib.seq2seq.BasicDecoder(_ChainCell(), helper, tf.zeros([2, 1]))
    outputs, state, lengths = tf.contrib.seq2seq.dynamic_decode(decoder, maximum_iterations=6)
    ids, st, lv = tf.Session().run([outputs.sample_id, state, lengths], {start: [3, 1]})
    np.testing.assert_array_equal(ids, [[4, 0, 1, 2, 0, 0], [2, 3, 4, 0, 0, 0]])
    np.testing.assert_array_equal(lv, [2, 4])
    np.testing.assert_array_equal(st, [[4.0], [4.0]])
    with pytest.raises(ValueError, match="maximum_iterations"):
        tf.contrib.seq2seq.dynamic_decode(decoder)
