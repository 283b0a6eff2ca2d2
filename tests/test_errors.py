"""Every bad input gets an error that names what is at fault: the placeholder, variable, op, shapes, file.

Each test asserts the message content, not just the exception type.
"""
import re

import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import BackendError, FailedPreconditionError, InvalidArgumentError
from nnplug.shapes import ShapeError


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _msg(excinfo):
    return str(excinfo.value)


# -- feeds -------------------------------------------------------------------------------------------------
def test_ragged_feed_names_placeholder_and_expectation(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x_input")
    with tf.Session() as s, pytest.raises(ValueError) as e:
        s.run(x * 2.0, {x: [[1, 2, 3], [1, 2]]})
    assert "ragged" in _msg(e) and "'x_input:0'" in _msg(e) and "float32" in _msg(e) and "(?, 3)" in _msg(e)


@pytest.mark.parametrize("value, what", [([["a", "b", "c"]], "strings"), (None, "None"),
                                         (np.array([[1, 2, object()]], dtype=object), "object")])
def test_non_numeric_feed(g, value, what):
    x = tf.placeholder(tf.float32, (None, 3), name="x_input")
    with tf.Session() as s, pytest.raises(TypeError) as e:
        s.run(x * 2.0, {x: value})
    assert what in _msg(e) and "'x_input:0'" in _msg(e) and "float32 of shape (?, 3)" in _msg(e)


@pytest.mark.parametrize("value, given", [([1.0, 2.0, 3.0], "(3,)"), (np.zeros((2, 4)), "(2, 4)"),
                                          (np.zeros((1, 1, 3)), "(1, 1, 3)"), (5.0, "()")])
def test_feed_of_wrong_rank_or_dimension(g, value, given):
    x = tf.placeholder(tf.float32, (None, 3), name="x_input")
    with tf.Session() as s, pytest.raises(ValueError) as e:
        s.run(x * 2.0, {x: value})
    assert f"shape {given}" in _msg(e) and "'x_input:0'" in _msg(e) and "(?, 3)" in _msg(e)


def test_float_fed_into_int_placeholder(g):
    idx = tf.placeholder(tf.int32, (2,), name="idx")
    with tf.Session() as s, pytest.raises(TypeError) as e:
        s.run(idx + 1, {idx: [1.5, 2.0]})
    assert "float" in _msg(e) and "int32" in _msg(e) and "'idx:0'" in _msg(e) and "(2,)" in _msg(e)


def test_good_feeds_are_cast_to_the_placeholder_dtype(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x_input")
    i = tf.placeholder(tf.int64, (), name="i")
    with tf.Session() as s:
        out = s.run(x * 2.0, {x: [[1, 2, 3]]})  # ints into float32: cast
        assert out.dtype == np.float32 and out.tolist() == [[2, 4, 6]]
        assert s.run(i + 1, {i: np.int8(4)}) == 5


def test_missing_feed_names_placeholder_dtype_and_shape(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x_input")
    with tf.Session() as s, pytest.raises(InvalidArgumentError) as e:
        s.run(x * 2.0)
    assert "placeholder tensor 'x_input'" in _msg(e) and "float32" in _msg(e) and "(?, 3)" in _msg(e)


def test_feed_key_that_is_not_a_tensor(g):
    x = tf.placeholder(tf.float32, (3,), name="x")
    with tf.Session() as s:
        with pytest.raises(TypeError) as e:
            s.run(x * 2.0, {3: [1, 2, 3]})
        assert "cannot feed 3" in _msg(e) and "feed_dict keys must be tensors" in _msg(e)
        with pytest.raises(TypeError) as e:
            s.run(x * 2.0, {"y": [1, 2, 3]})
        assert "cannot feed 'y'" in _msg(e) and "no operation named 'y'" in _msg(e)
        assert s.run(x * 2.0, {"x:0": [1, 2, 3]}).tolist() == [2, 4, 6]  # a name works


def test_feed_and_fetch_of_another_graph(g):
    x = tf.placeholder(tf.float32, (3,), name="x")
    other = tf.Graph()
    with other.as_default():
        z = tf.placeholder(tf.float32, (3,), name="other_input")
        z2 = tf.multiply(z, 2.0, name="other_double")
    with tf.Session() as s:
        with pytest.raises(ValueError) as e:
            s.run(x * 2.0, {z: [1, 2, 3]})
        assert "'other_input:0'" in _msg(e) and "another graph" in _msg(e)
        with pytest.raises(ValueError) as e:
            s.run(z2)
        assert "'other_double:0'" in _msg(e) and "another graph" in _msg(e)
        with pytest.raises(ValueError) as e:
            s.run(z2.op)
        assert "'other_double'" in _msg(e) and "another graph" in _msg(e)


def test_mixing_graphs_at_build_time(g):
    x = tf.placeholder(tf.float32, (3,), name="x")
    other = tf.Graph()
    with other.as_default():
        z = tf.placeholder(tf.float32, (3,), name="other_input")
    with pytest.raises(ValueError) as e:
        tf.add(x, z)
    assert "'other_input:0'" in _msg(e) and "another graph" in _msg(e) and "Add" in _msg(e)


def test_unknown_fetch_name_suggests_closest(g):
    tf.placeholder(tf.float32, (3,), name="x_input")
    with tf.Session() as s, pytest.raises(KeyError) as e:
        s.run("x_inptu:0")
    assert "'x_inptu'" in _msg(e) and "did you mean 'x_input'" in _msg(e)


def test_fetch_of_a_non_tensor(g):
    with tf.Session() as s, pytest.raises(TypeError) as e:
        s.run(3.5)
    assert "cannot fetch 3.5" in _msg(e)


def test_uninitialised_variable_is_named(g):
    v = tf.Variable(tf.zeros((3,)), name="weight")
    w = tf.Variable(tf.ones((3,)), name="other")
    with tf.Session() as s:
        s.run(w.initializer)
        for fetch in (v, v * 2.0 + w):
            with pytest.raises(FailedPreconditionError) as e:
                s.run(fetch)
            assert "uninitialized value weight" in _msg(e) and "'weight:0'" in _msg(e)
            assert "other" not in _msg(e)


# -- unknown names -----------------------------------------------------------------------------------------
def test_unknown_backend_lists_installed_and_suggests():
    with pytest.raises(BackendError) as e:
        tf.Session(backend="numpi")
    assert "unknown backend 'numpi'" in _msg(e) and "numpy" in _msg(e) and "Did you mean 'numpy'" in _msg(e)
    assert "Installed backends:" in _msg(e)
    with pytest.raises(BackendError):
        tf.set_backend("nonsense")


def test_unknown_initializer_lists_known_and_suggests():
    with pytest.raises(ValueError) as e:
        tf.initializers.get("glorot_unifrom")
    assert "did you mean 'glorot_uniform'" in _msg(e) and "he_normal" in _msg(e) and "zeros" in _msg(e)


# -- build-time shape and dtype mismatches -----------------------------------------------------------------
def _build_error(fn):
    with pytest.raises(ShapeError) as e:
        fn()
    return _msg(e)


def test_matmul_inner_dimensions(g):
    a = tf.placeholder(tf.float32, (None, 3), name="a")
    b = tf.placeholder(tf.float32, (4, 5), name="b")
    m = _build_error(lambda: tf.matmul(a, b, name="mm"))
    assert "MatMul op 'mm'" in m and "'a:0' (?, 3)" in m and "'b:0' (4, 5)" in m and "inner" in m


def test_broadcasting_mismatch(g):
    a = tf.placeholder(tf.float32, (None, 3), name="a")
    c = tf.placeholder(tf.float32, (4,), name="c")
    m = _build_error(lambda: a + c)
    assert re.search(r"Add op '\w+'", m) and "(?, 3)" in m and "(4,)" in m and "broadcast" in m
    assert "'a:0'" in m and "'c:0'" in m


def test_concat_mismatch(g):
    a = tf.placeholder(tf.float32, (None, 3), name="a")
    b = tf.placeholder(tf.float32, (4, 5), name="b")
    m = _build_error(lambda: tf.concat([a, b], axis=0, name="cat"))
    assert "Concat op 'cat'" in m and "'a:0' (?, 3)" in m and "'b:0' (4, 5)" in m and "dimension 1" in m


def test_reshape_element_count(g):
    b = tf.placeholder(tf.float32, (4, 5), name="b")
    m = _build_error(lambda: tf.reshape(b, (3, 7), name="rs"))
    assert "Reshape op 'rs'" in m and "20 elements" in m and "(4, 5)" in m and "[3, 7]" in m


def test_reshape_element_count_at_run_time(g):
    c = tf.placeholder(tf.float32, None, name="c")
    r = tf.reshape(c, (3, 7), name="rs")
    with tf.Session() as s, pytest.raises(InvalidArgumentError) as e:
        s.run(r, {c: np.zeros(5)})
    assert "Reshape op 'rs'" in _msg(e) and "5 elements" in _msg(e) and "(5,)" in _msg(e)


def test_assign_shape_and_dtype(g):
    v = tf.Variable(tf.zeros((3,)), name="weight")
    m = _build_error(lambda: tf.assign(v, tf.zeros((4,), name="four"), name="set_w"))
    assert "Assign op 'set_w'" in m and "'weight:0' of shape (3,)" in m and "(4,)" in m and "'four:0'" in m
    with pytest.raises(TypeError) as e:
        v.assign(tf.zeros((3,), dtype=tf.int32, name="ints"))
    assert "'ints:0'" in _msg(e) and "int32" in _msg(e) and "float32" in _msg(e)


def test_binary_dtype_mismatch(g):
    a = tf.placeholder(tf.float32, (3,), name="a")
    d = tf.placeholder(tf.float64, (3,), name="d")
    with pytest.raises(TypeError) as e:
        a + d
    assert "'a:0' (float32)" in _msg(e) and "'d:0' (float64)" in _msg(e) and "cast" in _msg(e)


def test_reduction_axis_out_of_range(g):
    a = tf.placeholder(tf.float32, (None, 3), name="a")
    m = _build_error(lambda: tf.reduce_sum(a, axis=3, name="total"))
    assert "ReduceSum op 'total'" in m and "axis 3" in m and "rank 2" in m


def test_load_variable_shape(g):
    v = tf.Variable(tf.zeros((3,)), name="weight")
    with tf.Session() as s, pytest.raises(ValueError) as e:
        s.load_variable(v, np.zeros(4))
    assert "'weight:0'" in _msg(e) and "(4,)" in _msg(e) and "(3,)" in _msg(e)
