"""Silent wrong numbers found by a hostile review, now refused or computed as TF1 does: integer feeds
that do not fit, integer division, empty reductions, malformed placeholder shapes, dependency cycles, a
closed Session."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError


@pytest.mark.parametrize("dtype,value,fits", [
    (tf.int32, [2 ** 40 + 1], "int32"), (tf.uint8, [-1, 300], "uint8"), (tf.int8, [128], "int8"),
])
def test_integer_feeds_that_do_not_fit_are_refused(dtype, value, fits):
    with tf.Graph().as_default():
        x = tf.placeholder(dtype, (None,), name="ids")
        with tf.Session() as sess:
            with pytest.raises(ValueError, match=rf"'ids:0'.*do not fit {fits}"):
                sess.run(x, {x: value})
            assert sess.run(x, {x: [1, 2]}).tolist() == [1, 2]  # values that fit still feed


def test_integer_loads_that_do_not_fit_are_refused():
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(2, np.int32), name="counts")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(ValueError, match=r"variable 'counts:0'.*do not fit int32"):
                v.load(np.array([2 ** 32 + 5, 1]), sess)
            assert sess.run(v).tolist() == [0, 0]  # unchanged


def test_integer_division_is_exact_floor_division(backend):
    big = 2 ** 53 + 1
    with tf.Graph().as_default():
        a, b = tf.constant([big, -7, 7], tf.int64), tf.constant([1, 2, -2], tf.int64)
        with tf.Session(backend=backend) as sess:
            assert sess.run(a // b).tolist() == [big, -4, -4]
            assert sess.run(tf.div(a, b)).tolist() == [big, -4, -4]  # TF1's div floors integers
            assert sess.run(tf.div(tf.constant(-7.0), 2.0)) == -3.5
            assert sess.run(tf.divide(tf.constant(-7), 2)) == -3.5  # true division


@pytest.mark.parametrize("reduce", [tf.reduce_max, tf.reduce_min, lambda t, axis: tf.argmax(t, axis=axis)])
def test_extremes_of_nothing_are_an_error_naming_the_op(reduce, backend):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        y = reduce(x, axis=0)
        with tf.Session(backend=backend) as sess:
            with pytest.raises(InvalidArgumentError, match=r"cannot run on the fed shapes.*empty"):
                sess.run(y, {x: np.zeros((0, 3), np.float32)})
            assert sess.run(tf.reduce_sum(x, axis=0), {x: np.zeros((0, 3), np.float32)}).tolist() == [0, 0, 0]


@pytest.mark.parametrize("shape,error", [((-5, 3), ValueError), ((2.5, 3), TypeError), ((True, 3), TypeError)])
def test_placeholder_shapes_are_checked(shape, error):
    with pytest.raises(error, match="shape .* of 'feature'"):
        tf.placeholder(tf.float32, shape, name="feature")


def test_dependency_cycles_are_refused_by_name():
    with tf.Graph().as_default():
        a = tf.constant(1.0, name="a")
        b = tf.add(a, 1.0, name="b")
        c = tf.add(b, 1.0, name="c")
        b.op.control_inputs.append(c.op)
        with tf.Session() as sess:
            with pytest.raises(InvalidArgumentError, match="dependency cycle.*'b' -> 'c' -> 'b'"):
                sess.run(c)


def test_late_control_inputs_without_a_cycle_still_run():
    with tf.Graph().as_default():
        v = tf.Variable(0.0)
        x = tf.constant(1.0, name="x")
        y = x + 1.0
        bump = v.assign_add(5.0)
        x.op.control_inputs.append(bump.op)  # made after x: creation order is no longer topological
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(y) == 2.0 and sess.run(v) == 5.0


def test_a_closed_session_says_so():
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())
        sess.close()
        for call in (lambda: sess.run(v), lambda: sess.variable_value(v), lambda: sess.load_variable(v, 2.0)):
            with pytest.raises(RuntimeError, match="closed Session"):
                call()


def test_assign_add_of_an_uninitialised_variable_is_a_precondition_error():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="counter")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value counter"):
                sess.run(v.assign_add(1.0))


def test_integer_division_by_zero_is_refused_on_the_cpu():
    with tf.Graph().as_default():
        y = tf.placeholder(tf.int32, (2,))
        q = tf.floordiv(tf.constant([7, 8]), y, name="quotient")
        with tf.Session(backend="numpy") as sess:
            assert sess.run(q, {y: [2, 3]}).tolist() == [3, 2]
            with pytest.raises(InvalidArgumentError, match="Integer division by zero in Div op 'quotient'"):
                sess.run(q, {y: [2, 0]})


def test_a_read_ordered_after_an_assign_is_not_merged_with_the_read_before_it():
    """The same op on the same variable before and after an assign (ordered by a control dependency) gives
    two values, as in TF1 ([9, 4]), not one merged subexpression."""
    with tf.Graph().as_default():
        v = tf.Variable(3.0)
        before = tf.square(v)
        a = v.assign_sub(1.0)
        with tf.control_dependencies([a]):
            after = tf.square(v)
            again = tf.square(v)  # no store between these two: one value is right
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert [float(x) for x in sess.run([before, after, again])] == [9.0, 4.0, 4.0]
