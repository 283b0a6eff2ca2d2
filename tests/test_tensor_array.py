"""tf.TensorArray: writes in a while_loop stacked after it, unstack/read, gather/scatter, concat/split, size,
identity, close, dynamic sizes; gradients against finite differences; the errors TF1 raises, naming the
array and the index."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close, check_gradient


def squares_by_loop(n, dtype=tf.float32):
    """[0, 1, 4, ...] written one per iteration, as TF1 code collects per-step results."""
    ta = tf.TensorArray(dtype, size=n)

    def body(i, ta):
        v = tf.cast(i, dtype)
        return i + 1, ta.write(i, tf.stack([v * v, -v]))
    _, ta = tf.while_loop(lambda i, ta: i < n, body, [tf.constant(0), ta])
    return ta


def test_write_per_iteration_and_stack_after_the_loop(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 2))
        ta = squares_by_loop(tf.shape(x)[0])
        stacked = ta.stack()
        assert ta.element_shape == tf.TensorShape([2])  # learned from the write inside the body
        assert stacked.shape.as_list() == [None, 2]
        total = tf.reduce_sum(stacked * x)  # the stack feeds another op: its size is the fed one
        with tf.Session(backend=backend) as sess:
            for n in (1, 4):
                xv = np.arange(2.0 * n, dtype=np.float32).reshape(n, 2)
                want = np.stack([np.arange(n) ** 2, -np.arange(n)], 1)
                got, got_total = sess.run([stacked, total], {x: xv})
                assert_close(got, want.astype(np.float32))
                assert_close(got_total, np.float32((want * xv).sum()))


def test_unstack_read_gather_scatter_size(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        n = tf.shape(x)[0]
        source = tf.TensorArray(tf.float32, size=n, clear_after_read=False).unstack(x)

        def body(i, acc):
            return i + 1, acc + source.read(i) * tf.cast(i + 1, tf.float32)
        weighted = tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.zeros((3,))])[1]
        picked = source.gather([2, 0])
        spread = tf.TensorArray(tf.float32, size=4).scatter([3, 1], x[:2]).gather([1, 3])
        with tf.Session(backend=backend) as sess:
            xv = np.arange(12.0, dtype=np.float32).reshape(4, 3)
            got = sess.run([weighted, picked, spread, source.size()], {x: xv})
            assert_close(got[0], (xv * np.arange(1, 5)[:, None]).sum(0).astype(np.float32))
            assert_close(got[1], xv[[2, 0]])
            assert_close(got[2], xv[[1, 0]])  # x[0] went to index 3, x[1] to index 1
            assert got[3] == 4


def test_concat_and_split_elements_of_different_lengths(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (6, 2))
        ta = tf.TensorArray(tf.float32, size=3, infer_shape=False, clear_after_read=False).split(x, [1, 3, 2])
        back = ta.concat()
        middle = ta.read(1)
        with tf.Session(backend=backend) as sess:
            xv = np.arange(12.0, dtype=np.float32).reshape(6, 2)
            got_back, got_mid = sess.run([back, middle], {x: xv})
            assert_close(got_back, xv)
            assert_close(got_mid, xv[1:4])


def test_dynamic_size_grows_and_identity_and_close(backend):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, ())
        ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=())
        _, ta = tf.while_loop(lambda i, ta: i < n, lambda i, ta: (i + 1, ta.write(i, i * 10)), [0, ta])
        ta = ta.identity()
        stacked, size = ta.stack(), ta.size()
        assert stacked.shape.as_list() == [None]
        with tf.Session(backend=backend) as sess:
            got, got_size = sess.run([stacked, size], {n: 5})
            np.testing.assert_array_equal(got, [0, 10, 20, 30, 40])
            assert got_size == 5
            sess.run(ta.close(), {n: 2})
            with pytest.raises(tf.errors.InvalidArgumentError, match="size depends on fed values"):
                sess.run(stacked + 1, {n: 2})  # known only once the loop has run: fetchable, not consumable


def test_gradient_of_stack_with_respect_to_the_written_values(backend):
    def build(x, w):
        n = tf.shape(x)[0]
        ta = tf.TensorArray(tf.float64, size=n)

        def body(i, h, ta):
            h = tf.tanh(h * w + tf.gather(x, i))
            return i + 1, h, ta.write(i, h * h)
        _, _, ta = tf.while_loop(lambda i, h, ta: i < n, body, [tf.constant(0), tf.zeros_like(w), ta])
        return ta.stack()

    check_gradient(build, [np.linspace(-1, 1, 12).reshape(4, 3), np.array([0.5, -0.3, 0.8])], backend)


def test_gradient_of_unstack_read_in_a_loop(backend):
    def build(x):
        n = tf.shape(x)[0]
        source = tf.TensorArray(tf.float64, size=n).unstack(x)

        def body(i, acc):
            return i + 1, acc * tf.sin(source.read(i)) + 1.0
        return tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.ones((3,), tf.float64)])[1]

    check_gradient(build, [np.linspace(-1, 1, 15).reshape(5, 3)], backend)


def test_gradients_of_gather_scatter_concat_split_and_repeated_reads(backend):
    def build(x):
        ta = tf.TensorArray(tf.float64, size=4, clear_after_read=False).unstack(x)
        twice = ta.read(1) * ta.read(1) + ta.read(3)  # gradients of two reads of one index add up
        picked = ta.gather([3, 0, 3])
        spread = tf.TensorArray(tf.float64, size=3).scatter([2, 0], tf.exp(x[:2])).gather([0, 2])
        parts = tf.reshape(tf.TensorArray(tf.float64, size=2, infer_shape=False).split(x * x, [1, 3]).concat(), (4, 2))
        return tf.concat([twice[None], tf.reshape(picked, (3, 2)), spread, parts], 0)

    check_gradient(build, [np.linspace(-1, 1, 8).reshape(4, 2)], backend)


def test_reading_an_unwritten_index_and_writing_twice_name_the_array():
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=3, tensor_array_name="outputs")
        once = ta.write(0, [1.0, 2.0])
        twice = once.write(0, [3.0, 4.0])
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="TensorArray 'outputs': cannot read index 2: it has not been written"):
                sess.run(once.read(2))
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="TensorArray 'outputs': cannot write to index 0: it has already been written"):
                sess.run(twice.read(0))
            with pytest.raises(tf.errors.InvalidArgumentError, match="cannot stack .*index 1: it has not been written|"
                                                                      "cannot read index 1: it has not been written"):
                sess.run(once.stack())


def test_index_out_of_range_at_build_and_run_time():
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=2, tensor_array_name="steps")
        with pytest.raises(ValueError, match="TensorArray 'steps': cannot write to index 2: out of range for its "
                                             "size 2"):
            ta.write(2, 1.0)
        i = tf.placeholder(tf.int32, ())
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="TensorArray 'steps': cannot write to index 5: out of range for its size 2"):
                sess.run(ta.write(i, 1.0).stack(), {i: 5})
            with pytest.raises(tf.errors.InvalidArgumentError, match="cannot read index -1: indices are >= 0"):
                sess.run(ta.write(0, 1.0).read(i), {i: -1})


def test_wrong_dtype_and_shape_are_refused_when_building():
    with tf.Graph().as_default():
        ta = tf.TensorArray(tf.float32, size=2, tensor_array_name="acts")
        with pytest.raises(TypeError, match="TensorArray 'acts' holds float32 elements; cannot write .* int32 tensor"):
            ta.write(0, tf.constant([1, 2]))
        ta = ta.write(0, tf.zeros((2, 3)))
        with pytest.raises(ValueError, match=r"TensorArray 'acts': .* elements of shape \(4, 3\), but the array's "
                                             r"elements have shape \(2, 3\)"):
            ta.write(1, tf.zeros((4, 3)))


def test_shape_mismatch_clear_after_read_and_unknown_element_shape_at_run_time():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        ta = tf.TensorArray(tf.float32, size=2, tensor_array_name="rows").write(0, x).write(1, x[:1])
        read_twice = tf.TensorArray(tf.float32, size=1, tensor_array_name="once").write(0, x)
        blind = tf.TensorArray(tf.float32, size=1, tensor_array_name="blind")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"TensorArray 'rows': cannot write to index 1 a value of shape \(1,\): its "
                                     r"elements have shape \(3,\)"):
                sess.run(ta.stack(), {x: [1.0, 2.0, 3.0]})
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="TensorArray 'once': cannot read index 0 again: it was cleared"):
                sess.run(read_twice.read(0) + read_twice.read(0), {x: [1.0]})
            with pytest.raises(tf.errors.InvalidArgumentError, match="TensorArray 'blind': .* needs the element "
                                                                     "shape, but no write .* element_shape"):
                sess.run(blind.read(0))


def test_two_gradient_computations_through_one_loop_keep_their_own_arrays(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 2))
        n = tf.shape(x)[0]
        ta = tf.TensorArray(tf.float64, size=n)
        _, ta = tf.while_loop(lambda i, ta: i < n,
                              lambda i, ta: (i + 1, ta.write(i, tf.sin(x[0]) * tf.cast(i, tf.float64))), [0, ta])
        y = ta.stack()
        (g1,) = tf.gradients(tf.reduce_sum(y), [x])
        (g2,) = tf.gradients(tf.reduce_sum(y * y), [x])  # a second computation ("gradients_1")
        with tf.Session(backend=backend) as sess:
            xv = np.array([[0.3, -0.7], [1.0, 2.0], [0.0, 0.0]])
            got1, got2 = sess.run([g1, g2], {x: xv})
            k = np.arange(3.0)
            np.testing.assert_allclose(got1[0], np.cos(xv[0]) * k.sum(), rtol=1e-12)
            np.testing.assert_allclose(got2[0], 2 * np.sin(xv[0]) * np.cos(xv[0]) * (k * k).sum(), rtol=1e-12)
            np.testing.assert_array_equal(got1[1:], 0.0)
            np.testing.assert_allclose(sess.run(g2, {x: xv}), got2, rtol=1e-12)  # alone, the same
