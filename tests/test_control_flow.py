"""tf.cond and tf.case: values, only the taken branch runs, gradients by finite differences, bad input."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import check_gradient


def test_cond_picks_a_branch_per_run(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, None, name="tf_x")
        y = tf.placeholder(tf.float32, None, name="tf_y")
        res = tf.cond(x < y, lambda: tf.add(x, y), lambda: tf.subtract(x, y))
        assert repr(res) == 'Tensor("cond/Merge:0", dtype=float32)'  # as TF1 prints it
        with tf.Session(backend=backend) as sess:
            assert sess.run(res, {x: 1.0, y: 2.0}) == 3.0
            assert sess.run(res, {x: 2.0, y: 1.0}) == 1.0


def test_only_the_taken_branch_runs(backend):
    with tf.Graph().as_default():
        flag = tf.placeholder(tf.bool, (), name="flag")
        hits = tf.Variable(0.0, name="hits")
        misses = tf.Variable(0.0, name="misses")
        out = tf.cond(flag, lambda: hits.assign_add(1.0), lambda: misses.assign_add(1.0))
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            for f in (True, True, False, True):
                sess.run(out, {flag: f})
            assert sess.run([hits, misses]) == [3.0, 1.0]


def test_nested_outputs_and_tensors_from_outside(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 2))
        w = tf.Variable(np.array([[1.0], [2.0]], np.float32))
        big = tf.reduce_sum(x) > 10.0
        a, b = tf.cond(big, lambda: (tf.matmul(x, w), x * 0.0), lambda: (-tf.matmul(x, w), x))
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            xv = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
            ga, gb = sess.run([a, b], {x: xv})
            np.testing.assert_allclose(ga, -(xv @ [[1.0], [2.0]]))
            np.testing.assert_array_equal(gb, xv)
            ga, _ = sess.run([a, b], {x: xv * 10})
            np.testing.assert_allclose(ga, (xv * 10) @ [[1.0], [2.0]], rtol=1e-6)


@pytest.mark.parametrize("take_true", [True, False])
def test_cond_gradient_matches_finite_differences(backend, take_true):
    pred = np.array(take_true)

    def build(x, y):
        p = tf.constant(pred)
        return tf.cond(p, lambda: tf.tanh(x) * y, lambda: tf.exp(x) + y * y)

    check_gradient(build, [np.linspace(-1, 1, 6).reshape(2, 3), np.linspace(0.5, 2, 6).reshape(2, 3)], backend)


def test_training_through_a_cond(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        train_mode = tf.placeholder(tf.bool, ())
        w = tf.Variable(0.0)
        pred = tf.cond(train_mode, lambda: w * x, lambda: tf.stop_gradient(w) * x)
        loss = tf.reduce_mean(tf.square(pred - 3.0 * x))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            xv = np.array([1.0, 2.0], np.float32)
            for _ in range(100):
                sess.run(step, {x: xv, train_mode: True})
            assert abs(sess.run(w) - 3.0) < 1e-3


def test_case_takes_the_first_true_predicate(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, ())
        r = tf.case([(x < 0, lambda: tf.constant(-1)), (x < 10, lambda: tf.constant(1))],
                    default=lambda: tf.constant(100))
        with tf.Session(backend=backend) as sess:
            assert [sess.run(r, {x: v}) for v in (-5, 3, 50)] == [-1, 1, 100]


def test_branches_must_agree():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, ())
        with pytest.raises(ValueError, match="different structures"):
            tf.cond(p, lambda: (tf.constant(1.0), tf.constant(2.0)), lambda: tf.constant(1.0))
        with pytest.raises(TypeError, match="output 0 is float32 in the true branch .* int32 in the false"):
            tf.cond(p, lambda: tf.constant(1.0), lambda: tf.constant(1))
        with pytest.raises(TypeError, match="must be a bool scalar"):
            tf.cond(tf.constant([True, False]), lambda: tf.constant(1.0), lambda: tf.constant(2.0))


def test_branch_shapes_must_agree_at_run_time():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (None,))
        r = tf.cond(p, lambda: x, lambda: tf.concat([x, x], 0), name="lengths")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="cond 'lengths/Merge'.*shapes?|output 0"):
                sess.run(r, {p: True, x: [1.0]})


def test_while_loop_values_and_limits(backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, ())
        i, acc = tf.while_loop(lambda i, a: i < 5, lambda i, a: (i + 1, a * x), [tf.constant(0), tf.constant(1.0)])
        capped = tf.while_loop(lambda k: k < 100, lambda k: k * 2, tf.constant(3), maximum_iterations=4)
        w = tf.Variable(np.ones(3, np.float32))
        total = tf.while_loop(lambda k, s: k < 3, lambda k, s: (k + 1, s + w * tf.cast(k, tf.float32)),
                              (tf.constant(0), tf.zeros(3)))[1]
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run([i, acc], {x: 2.0}) == [5, 32.0]
            assert sess.run(capped) == 48  # 3 * 2**4: stopped by maximum_iterations
            np.testing.assert_array_equal(sess.run(total), [3.0, 3.0, 3.0])


def test_while_loop_bad_input():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"body returns 1 tensors as \[T\] for 2 loop variables \[T, T\]"):
            tf.while_loop(lambda a, b: a < 3, lambda a, b: a + 1, [tf.constant(0), tf.constant(1)])
        with pytest.raises(TypeError, match="loop variable 0 .* enters as int32 but the body returns float32"):
            tf.while_loop(lambda a: a < 3, lambda a: tf.cast(a, tf.float32), [tf.constant(0)])
        with pytest.raises(TypeError, match="while_loop 'while_2': cond must be a bool scalar, got int32"):
            tf.while_loop(lambda a: a, lambda a: a - 1, [tf.constant(3)])


def test_a_body_changing_a_shape_is_refused_at_build_compile_or_run_time():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"while_loop 'while': loop variable 0 \('ones:0'\) enters the loop with "
                                             r"shape \(2,\) but the body returns .* shape \(4,\); .*shape_invariants"):
            tf.while_loop(lambda v: tf.size(v) < 8, lambda v: tf.concat([v, v], 0), [tf.ones((2,))])
        x = tf.placeholder(tf.float32, (None, 3), name="x")
        turned = tf.while_loop(lambda k, v: k < 1, lambda k, v: (k + 1, tf.reshape(v, [3, -1])), [0, x], name="turn")
        m = tf.constant([1.0, -2.0, 3.0])
        masked = tf.while_loop(lambda k, v: k < 2, lambda k, v: (k + 1, tf.boolean_mask(v, v > 0)), [0, m], name="mask")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"while_loop 'turn/Exit': loop variable 1 \('x:0'\) enters the loop with shape "
                                     r"\(2, 3\) but the body makes it \(3, 2\)"):
                sess.run(turned, {x: np.ones((2, 3), np.float32)})  # compiled for these shapes
            np.testing.assert_array_equal(sess.run(turned, {x: np.ones((3, 3), np.float32)})[1], np.ones((3, 3)))
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"while_loop 'mask/Exit': loop variable 1 .* enters the loop with shape \(3,\) "
                                     r"but the body makes it \(2,\)"):
                sess.run(masked)  # the size is known only once the body has run


def test_shape_invariants_let_a_loop_variable_grow(backend):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int32, ())
        grown = tf.while_loop(lambda v: tf.size(v) < n, lambda v: tf.concat([v, v * 2.0], 0), tf.ones((1,)),
                              shape_invariants=tf.TensorShape([None]))
        assert grown.shape.as_list() == [None]
        with tf.Session(backend=backend) as sess:
            np.testing.assert_array_equal(sess.run(grown, {n: 8}), [1, 2, 2, 4, 2, 4, 4, 8])
            np.testing.assert_array_equal(sess.run(grown, {n: 2}), [1, 2])
            with pytest.raises(tf.errors.InvalidArgumentError, match="size depends on fed values"):
                sess.run(grown * 2.0, {n: 2})  # its size is known only once the loop has run
        with pytest.raises(ValueError, match=r"loop variable 0 .* has shape \(1,\), which its shape invariant \(2,\)"):
            tf.while_loop(lambda v: True, lambda v: v, [tf.ones((1,))], shape_invariants=[tf.TensorShape([2])])


def test_a_body_updating_a_variable_sees_each_new_value(backend):
    with tf.Graph().as_default():
        v = tf.Variable(1.0)

        def body(k, total):
            with tf.control_dependencies([v.assign(v * 2.0)]):
                return k + 1, total + tf.identity(v.value())
        _, total = tf.while_loop(lambda k, t: k < 3, body, [0, tf.constant(0.0)])
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(total) == 2.0 + 4.0 + 8.0
            assert sess.run(v) == 8.0


def test_tensor_arrays_and_structures_as_loop_variables_and_cond_outputs(backend):
    with tf.Graph().as_default():
        flag = tf.placeholder(tf.bool, ())
        ta = tf.TensorArray(tf.float32, size=2)
        picked = tf.cond(flag, lambda: ta.write(0, 1.0).write(1, 2.0), lambda: ta.write(0, -1.0).write(1, -2.0))
        assert isinstance(picked, tf.TensorArray)
        state = {"a": tf.constant(1.0), "b": (tf.constant(2), tf.constant([3.0, 4.0]))}
        out = tf.while_loop(lambda s: s["b"][0] < 5,
                            lambda s: {"a": s["a"] * 2.0, "b": (s["b"][0] + 1, s["b"][1] - 1.0)}, state)
        with tf.Session(backend=backend) as sess:
            np.testing.assert_array_equal(sess.run(picked.stack(), {flag: False}), [-1.0, -2.0])
            got = sess.run(out)
            assert got["a"] == 8.0 and got["b"][0] == 5
            np.testing.assert_array_equal(got["b"][1], [0.0, 1.0])
        with pytest.raises(ValueError, match="cond 'cond_1': the branches return different structures: "
                                             r"TensorArray 'TensorArray' and TensorArray 'other'"):
            other = tf.TensorArray(tf.float32, size=2, tensor_array_name="other")
            tf.cond(flag, lambda: ta.write(0, 1.0), lambda: other.write(0, 1.0))


def test_one_loop_variable_in_a_list_comes_back_on_its_own():
    with tf.Graph().as_default():
        alone = tf.while_loop(lambda v: v < 5, lambda v: v + 1, [tf.constant(0)])
        same = tf.while_loop(lambda v: v < 5, lambda v: [v + 1], [tf.constant(0)], return_same_structure=True)
        assert isinstance(alone, tf.Tensor) and isinstance(same, list) and len(same) == 1
        with tf.Session() as sess:
            assert sess.run(alone) == 5 and sess.run(same) == [5]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_reading_one_result_of_a_loop(backend, sign):
    """The branches read one output of the While op (which has several): only that one is fed to them."""
    def build(x):
        _, y = tf.while_loop(lambda i, a: i < 2, lambda i, a: (i + 1, tf.sin(a) * x), [0, x])
        return tf.cond(tf.reduce_sum(y) * sign > 0, lambda: y * 2.0, lambda: tf.square(y))
    check_gradient(build, [np.linspace(0.2, 1.0, 3)], backend)
