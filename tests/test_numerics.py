"""nnplug.debugging: NaN/Inf checks name the first op at fault; explain() shows the plan; to_dot() exports DOT."""
import io
import re
import warnings

import numpy as np
import pytest

import nnplug as tf
from nnplug import debugging
from nnplug.errors import InvalidArgumentError
from nnplug.plugins import describe_backends

BACKENDS = [r["name"] for r in describe_backends() if r["available"] and r["name"] in ("numpy", "opencl", "cupy")]


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph
    debugging.disable_check_numerics()


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_op_with_nan_is_named(g, backend):
    x = tf.placeholder(tf.float32, (3,), name="x")
    y = tf.log(x, name="the_log")  # NaN for x < 0
    z = tf.multiply(y, 2.0, name="doubled")  # NaN too, but later
    loss = tf.reduce_sum(z, name="loss")
    with tf.Session(backend=backend) as s:
        assert np.isnan(s.run(loss, {x: [1.0, -1.0, 2.0]}))  # off: NaN flows through silently
        with debugging.check_numerics():
            with pytest.raises(InvalidArgumentError) as e:
                s.run(loss, {x: [1.0, -1.0, 2.0]})
            m = str(e.value)
            assert "NaN" in m and "Log op 'the_log'" in m and "'x:0' float32 (3,)" in m
            assert "doubled" not in m and "loss" not in m
            assert e.value.op is y.op
            # finite inputs: no error, same values as unchecked
            np.testing.assert_allclose(s.run(loss, {x: [1.0, 2.0, 3.0]}), 2 * np.log(6.0), rtol=1e-6)
        assert np.isnan(s.run(loss, {x: [1.0, -1.0, 2.0]}))  # off again


def test_inf_is_reported_with_inputs_state(g):
    a = tf.placeholder(tf.float32, (2,), name="a")
    b = tf.placeholder(tf.float32, (2,), name="b")
    q = tf.divide(a, b, name="ratio")
    out = tf.exp(q, name="grow")
    debugging.enable_check_numerics()
    assert debugging.check_numerics_enabled()
    with tf.Session() as s:
        with pytest.raises(InvalidArgumentError) as e:
            s.run(out, {a: [1.0, 1.0], b: [0.0, 1.0]})
        m = str(e.value)
        assert "Inf in output 0" in m and "ratio" in m and "'a:0'" in m and "'b:0'" in m
        assert "#0 float32 (2,) finite" in m and "#1 float32 (2,) finite" in m
        with pytest.raises(InvalidArgumentError) as e:  # overflow in exp, inputs finite
            s.run(out, {a: [100.0, 1.0], b: [1.0, 1.0]})
        assert "Exp op 'grow'" in str(e.value) and "ratio:0" in str(e.value)
        with pytest.raises(InvalidArgumentError) as e:  # a NaN fed in: the first consumer names it
            s.run(out, {a: [np.nan, 1.0], b: [1.0, 1.0]})
        assert "ratio" in str(e.value) and "#0 float32 (2,) holds NaN" in str(e.value)


def test_nan_in_gradient_of_composite_op(g):
    x = tf.placeholder(tf.float32, (2, 3), name="logits")
    sm = tf.nn.softmax(x * tf.constant(np.inf, tf.float32), name="probs")
    with tf.Session() as s:
        with debugging.check_numerics(), pytest.raises(InvalidArgumentError) as e:
            s.run(sm, {x: np.ones((2, 3))})
    assert "Mul op" in str(e.value) and "Inf" in str(e.value)


def test_plans_compiled_before_enabling_are_recompiled(g):
    x = tf.placeholder(tf.float32, (2,), name="x")
    y = tf.sqrt(x, name="root")
    with tf.Session() as s:
        s.run(y, {x: [1.0, -1.0]})  # compiled, unchecked, cached
        debugging.enable_check_numerics()
        with pytest.raises(InvalidArgumentError, match="root"):
            s.run(y, {x: [1.0, -1.0]})
        debugging.disable_check_numerics()
        assert "nnplug-check-numerics" not in [n for n, _ in tf.plugins.plugin_manager().list_name_plugin()]
        assert np.isnan(s.run(y, {x: [1.0, -1.0]})[1])
        assert "checked" not in repr(s.plan_for(y, {x: [1.0, 1.0]}).fn.__globals__.values())


def test_integer_kernels_are_not_wrapped(g):
    i = tf.placeholder(tf.int32, (3,), name="i")
    with tf.Session() as s, debugging.check_numerics():
        assert s.run(i * 2, {i: [1, 2, 3]}).tolist() == [2, 4, 6]


def test_explain_prints_the_plan(g):
    x = tf.placeholder(tf.float32, (None, 4), name="features")
    w = tf.Variable(np.ones((4, 2), np.float32), name="w")
    y = tf.nn.relu(tf.matmul(x, w, name="mm"), name="act")
    with tf.Session() as s:
        s.run(w.initializer)
        buf = io.StringIO()
        src = debugging.explain(y, {x: np.ones((3, 4))}, session=s, file=buf)
        assert buf.getvalue().strip() == src.strip()
        assert re.search(r"def plan_\d+\(V, f0\)", src)
        assert "MatMul mm" in src and "act" in src and "return" in src
        with s.as_default():
            assert "MatMul mm" in debugging.explain(y, {x: np.ones((3, 4))})


def test_explain_lists_planned_buffers(g):
    x = tf.placeholder(tf.float32, (None, 4), name="features")
    y = tf.reduce_sum(tf.nn.relu(tf.matmul(x, tf.ones((4, 2)), name="mm")), axis=1)
    with tf.Session(backend="numpy") as s:
        src = debugging.explain(y, {x: np.ones((3, 4))}, session=s)
    assert re.search(r"out=b\d+\)  # MatMul mm", src), src
    assert "# planned buffers: 1, 0.0 KiB" in src and re.search(r"#   b\d+: \(3, 2\) float32", src), src


def test_to_dot(g):
    x = tf.placeholder(tf.float32, (None, 4), name="features")
    w = tf.constant(np.ones((4, 2), np.float32), name="w")
    y = tf.matmul(x, w, name="mm")
    unused = tf.negative(x, name="unused")
    dot = debugging.to_dot(y)
    assert dot.startswith("digraph nnplug {") and dot.rstrip().endswith("}")
    assert '"features\\nPlaceholder"' in dot and '"mm\\nMatMul"' in dot and "unused" not in dot
    assert dot.count("->") == 2 and '"(?, 4) float32"' in dot and '"(4, 2) float32"' in dot
    assert "unused" in debugging.to_dot(g) and debugging.to_dot(g).count("->") == 3
    del unused
    with pytest.raises(TypeError, match="to_dot"):
        debugging.to_dot([3])
