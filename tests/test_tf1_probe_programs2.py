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
