"""What a third probe of classic TF1 programs (the programmer's guide pages on variables, sharing, shapes and
graphs; Hands-On ML's TF chapters) found missing or wrong, checked against TF1's documented names and NumPy."""
import math

import numpy as np
import pytest

import nnplug as tf


def test_initialized_value_lets_a_variable_start_from_another_in_one_run():
    tf.reset_default_graph()
    w = tf.Variable(tf.random_normal([3, 2], seed=1), name="weights")
    w2 = tf.Variable(w.initialized_value(), name="w2")
    w_twice = tf.Variable(w.initialized_value() * 2.0, name="w_twice")
    assert (w2.name, w_twice.name) == ("w2:0", "w_twice:0")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b, t = sess.run([w, w2, w_twice])
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(t, 2 * a)


def test_variable_scope_reuse_flags_and_captured_scope_names():
    tf.reset_default_graph()
    assert tf.get_variable_scope().reuse is False
    with tf.variable_scope("root"):
        with tf.variable_scope("foo", reuse=True):
            with tf.variable_scope("bar", reuse=False):  # TF1: False cannot turn reuse off
                assert tf.get_variable_scope().reuse is True
        assert tf.get_variable_scope().reuse is False
    with tf.variable_scope("foo") as foo_scope:
        pass
    with tf.variable_scope("bar"):
        with tf.variable_scope("baz"):
            with tf.variable_scope(foo_scope):
                v = tf.get_variable("w", [1])
                a = tf.add(1.0, 2.0, name="a")
    assert v.name == "foo/w:0" and a.name == "bar/baz/foo/a:0"  # TF1 names ops under the current scope


def test_python_operators_name_ops_as_tf1():
    tf.reset_default_graph()
    a = tf.placeholder(tf.float32, [2, 2])
    b = tf.constant(np.ones((2, 2), np.float32))
    names = [t.op.name for t in (a + b, 1.0 + a, a - b, a * b, a / b, a ** 2, a @ b, a[0], tf.add(a, b))]
    assert names == ["add", "add_1", "sub", "mul", "truediv", "pow", "matmul", "strided_slice", "Add_2"]  # TF1 uniquifies names ignoring case
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(1.0 + a, {a: np.eye(2)}), np.eye(2) + 1)


def test_get_collection_scope_is_a_regex_and_collection_keys():
    tf.reset_default_graph()
    for name in ("hidden1", "hidden2", "hidden3", "outputs"):
        tf.get_variable(name + "/kernel", [1])
    tf.add_to_collection("extras", 3.0)  # no name: left out of a scoped query, as TF1
    picked = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="hidden[12]")
    assert [v.name for v in picked] == ["hidden1/kernel:0", "hidden2/kernel:0"]
    assert tf.get_collection("extras", scope="h") == [] and tf.get_collection("extras") == [3.0]
    keys = tf.get_default_graph().get_all_collection_keys()
    assert set(keys) >= {tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.TRAINABLE_VARIABLES, "extras"}


def test_size_name_device_and_wide_int_constant():
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, [None, 3])
    s = tf.size(x)
    assert s.name == "Size:0" and tf.shape(x).name == "Shape:0"
    with tf.device("/cpu:0"):
        c = tf.constant(1 << 40)
    assert c.dtype == tf.int64 and c.device == "/device:CPU:0"
    with tf.Session() as sess:
        assert sess.run(s, {x: np.ones((4, 3))}) == 12 and sess.run(c) == 1 << 40


def test_exponential_decay_is_named_after_its_scope():
    tf.reset_default_graph()
    step = tf.Variable(30, trainable=False)
    lr = tf.train.exponential_decay(0.1, step, 10, 0.5)
    assert lr.name == "ExponentialDecay:0"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(lr) == pytest.approx(0.1 * 0.5 ** 3)


@pytest.mark.parametrize("uniform", [False, True])
def test_contrib_variance_scaling_initializer_spread(uniform):
    """He's init of Hands-On ML: stddev sqrt(1.3 * 2 / fan_in) truncated at 2 sd, or uniform +-sqrt(6/fan_in)."""
    tf.reset_default_graph()
    init = tf.contrib.layers.variance_scaling_initializer(uniform=uniform, seed=3)
    value = tf.Session().run(init([400, 300]))
    if uniform:
        limit = math.sqrt(3 * 2.0 / 400)
        assert np.abs(value).max() <= limit and np.abs(value).max() > 0.99 * limit
        assert value.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    else:
        sd = math.sqrt(1.3 * 2.0 / 400)
        assert np.abs(value).max() <= 2 * sd + 1e-6
        assert value.std() == pytest.approx(sd * 0.87962566, rel=0.02)  # a 2-sd truncation's spread
    with pytest.raises(TypeError, match="mode"):
        tf.contrib.layers.variance_scaling_initializer(mode="fan_in")
