"""The graph IR as a TF1 user sees it: printing, unique names, scopes, dtypes, operators, build-time errors."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.shapes import ShapeError


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_tensor_and_variable_print_as_tf1(g):
    x = tf.placeholder(tf.float32, shape=(None, 1), name="x_input")
    w = tf.Variable(tf.zeros(shape=(1,)), name="weight")
    assert repr(x) == 'Tensor("x_input:0", shape=(?, 1), dtype=float32)'
    assert repr(w) == "<nnplug.Variable 'weight:0' shape=(1,) dtype=float32>"
    assert repr(tf.constant([[1, 2]], name="c")) == 'Tensor("c:0", shape=(1, 2), dtype=int32)'
    assert repr(tf.placeholder(tf.int64, shape=(), name="s")) == 'Tensor("s:0", shape=(), dtype=int64)'


def test_unique_names(g):
    w1 = tf.Variable(tf.zeros((1,)), name="weight")
    w2 = tf.Variable(tf.zeros((1,)), name="weight")
    w3 = tf.Variable(tf.zeros((1,)), name="weight")
    assert [w1.name, w2.name, w3.name] == ["weight:0", "weight_1:0", "weight_2:0"]
    a, b = tf.add(1.0, 2.0), tf.add(1.0, 2.0)
    assert (a.name, b.name) == ("Add:0", "Add_1:0")
    assert g.get_tensor_by_name("weight_1:0") is w2.value()
    assert g.get_operation_by_name("weight_2") is w3.op


def test_name_scopes_nest_and_stay_unique(g):
    with tf.name_scope("net"):
        a = tf.add(1.0, 2.0, name="a")
        with tf.name_scope("inner"):
            b = tf.identity(a)
    with tf.name_scope("net"):
        c = tf.add(1.0, 2.0, name="a")
    assert a.name == "net/a:0"
    assert b.name == "net/inner/Identity:0"
    assert c.name == "net_1/a:0"


def test_variable_scope_and_get_variable_reuse(g):
    with tf.variable_scope("layer"):
        k = tf.get_variable("kernel", shape=(2, 3))
        y = tf.multiply(k, 2.0)
    assert k.name == "layer/kernel:0" and y.name.startswith("layer/")
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("kernel", shape=(2, 3)) is k
        with pytest.raises(ValueError, match=r"layer/bias does not exist"):
            tf.get_variable("bias", shape=(3,))
    with pytest.raises(ValueError, match=r"layer/kernel already exists"):
        with tf.variable_scope("layer"):
            tf.get_variable("kernel", shape=(2, 3))
    with tf.variable_scope("layer", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("kernel", shape=(2, 3)) is k
        b = tf.get_variable("bias", shape=(3,), initializer=tf.initializers.Zeros())
    assert b.name == "layer/bias:0"
    with tf.variable_scope("layer", reuse=True):
        with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)|\(3, 2\).*\(2, 3\)"):
            tf.get_variable("kernel", shape=(3, 2))
    assert set(tf.global_variables()) == {k, b}


def test_collections_and_trainable(g):
    a = tf.Variable(1.0, name="a")
    b = tf.Variable(2.0, name="b", trainable=False)
    assert tf.global_variables() == [a, b]
    assert tf.trainable_variables() == [a]


def test_dtypes_are_exported():
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"):
        d = getattr(tf, name)
        assert d.name == name and d == np.dtype(name if name != "bool" else np.bool_)
    assert tf.as_dtype("float") is tf.float32


def test_constants_follow_tf1_dtype_rules(g):
    assert tf.constant(1.0).dtype == tf.float32
    assert tf.constant(1).dtype == tf.int32
    assert tf.constant(True).dtype == tf.bool
    assert tf.constant(np.float64(1.0)).dtype == tf.float64
    assert tf.constant(np.arange(3, dtype=np.int64)).dtype == tf.int64


def test_python_operators_build_ops(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    y = tf.placeholder(tf.float32, (3,), name="y")
    cases = {"Add": x + y, "Sub": x - y, "Mul": x * y, "Div": x / y, "Pow": x ** 2.0, "Neg": -x,
             "Less": x < y, "LessEqual": x <= y, "Greater": x > y, "GreaterEqual": x >= y,
             "StridedSlice": x[:, 1]}
    for op_type, t in cases.items():
        assert t.op.type == op_type
    assert (x + y).shape == (None, 3)
    assert (x < y).dtype == tf.bool
    assert x[:, 1].shape == (None,)
    assert (x @ tf.transpose(x)).op.type == "MatMul"
    assert (2.0 - x).op.inputs[1] is x  # reflected operators keep the operand order
    w = tf.Variable(np.ones((3,), np.float32))
    assert (w * x).shape == (None, 3)  # variables act as their value
    with pytest.raises(TypeError, match="bool"):
        bool(x)


def test_operators_run_with_numpy_semantics(g):
    x = tf.placeholder(tf.float32, (2, 3))
    xv = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    with tf.Session() as s:
        out = s.run([x + 1, 1 - x, x * x, x / 2, x ** 2, -x, abs(x), x > 0, x[1, ::-1], x[None, :, 1], x @ tf.transpose(x)],
                    {x: xv})
    refs = [xv + 1, 1 - xv, xv * xv, xv / 2, xv ** 2, -xv, np.abs(xv), xv > 0, xv[1, ::-1], xv[None, :, 1], xv @ xv.T]
    for got, ref in zip(out, refs):
        np.testing.assert_allclose(got, ref)
        assert got.dtype == ref.dtype if ref.dtype != np.float64 else got.dtype == np.float32


def test_integer_division_is_true_division(g):
    a = tf.constant([7, -7], dtype=tf.int32)
    with tf.Session() as s:
        q, f = s.run([a / 2, a // 2])
    assert q.dtype == np.float64 and list(q) == [3.5, -3.5]
    assert f.dtype == np.int32 and list(f) == [3, -4]


def test_build_time_shape_mismatch_names_both_shapes(g):
    a = tf.placeholder(tf.float32, (2, 3), name="a")
    b = tf.placeholder(tf.float32, (4, 3), name="b")
    with pytest.raises(ShapeError) as e:
        a + b
    msg = str(e.value)
    assert "(2, 3)" in msg and "(4, 3)" in msg and "'a:0'" in msg and "'b:0'" in msg
    with pytest.raises(ShapeError, match=r"\(2, 3\) @ \(4, 3\)"):
        tf.matmul(a, b)
    with pytest.raises(ShapeError, match=r"6 elements.*\(2, 3\).*\[4, -1\]"):
        tf.reshape(a, (4, -1))
    with pytest.raises(ShapeError, match=r"concat"):
        tf.concat([a, tf.placeholder(tf.float32, (2, 3, 1))], 0)
    with pytest.raises(TypeError, match="float32.*int32|int32.*float32"):
        a + tf.constant(1, dtype=tf.int32)


def test_unknown_dims_broadcast_at_build_time(g):
    x = tf.placeholder(tf.float32, (None, 1))
    w = tf.placeholder(tf.float32, (4,))
    assert (x * w).shape == (None, 4)
    assert tf.reduce_sum(x * w, axis=0).shape == (4,)
    assert tf.reshape(x * w, (-1, 2)).shape == (None, 2)
    assert tf.squeeze(tf.placeholder(tf.float32, (None, 1)), axis=1).shape == (None,)


def test_graphs_are_separate():
    g1, g2 = tf.Graph(), tf.Graph()
    with g1.as_default():
        a = tf.constant(1.0)
        assert tf.get_default_graph() is g1
    with g2.as_default():
        with pytest.raises(ValueError, match="another graph"):
            tf.add(a, tf.constant(2.0))
    assert a.graph is g1
    assert [op.type for op in g1.get_operations()] == ["Const"]


def test_reset_default_graph():
    tf.reset_default_graph()
    first = tf.get_default_graph()
    tf.constant(1.0, name="k")
    tf.reset_default_graph()
    assert tf.get_default_graph() is not first
    assert tf.get_default_graph().get_operations() == []
