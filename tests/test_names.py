"""Names and attributes never reach executed code, and op names follow TF1's rules.

The compiler's generated source names every value by kind and number; a hostile name (a newline and
Python after it) is refused where TF1 refuses it, and even a name forced past that check is never run."""
import os

import numpy as np
import pytest

import nnplug as tf

HOSTILE = "a\n__import__('pathlib').Path({path!r}).write_text('pwned')\n#"


def test_hostile_op_name_is_refused_at_build_time(tmp_path):
    x = tf.placeholder(tf.float32, (2,), name="x")
    name = HOSTILE.format(path=str(tmp_path / "marker"))
    with pytest.raises(ValueError, match=r"not a valid op name for the Add op.*TF1 names match"):
        tf.add(x, 1.0, name=name)
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize("bad", ["x y", "_leading_underscore", "tab\tname", "semi;colon", "quote'", "-dash"])
def test_invalid_names_name_the_op(bad):
    with pytest.raises(ValueError, match="not a valid op name"):
        tf.constant(1.0, name=bad)


def test_hostile_scope_name_is_refused():
    with pytest.raises(ValueError, match="not a valid scope name for a name scope"):
        with tf.name_scope("ok\nimport os"):
            pass


@pytest.mark.parametrize("good", ["layer1/MatMul", "dense_1", ".hidden", "a-b", "a>b", "x_y"])
def test_valid_names_are_kept(good):
    with tf.Graph().as_default():
        assert tf.constant(1.0, name=good).op.name == good


def test_underscore_is_fine_inside_a_scope():
    """TF1 checks the full scoped name: 'scope/_biases' is valid (the book's CNN uses it)."""
    with tf.Graph().as_default():
        with tf.name_scope("convtest"):
            assert tf.constant(1.0, name="_biases").op.name == "convtest/_biases"


def test_generated_code_holds_no_user_text_even_when_names_are_forced(tmp_path, backend):
    """A name set behind the API's back (as a corrupted file might): the plan runs, the marker is never
    written, and the executed code contains neither the name nor any attribute text."""
    marker = tmp_path / "marker"
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        y = tf.tanh(x * 2.0) + 1.0
        for op in tf.get_default_graph().get_operations():
            op.name = HOSTILE.format(path=str(marker))
        with tf.Session(backend=backend) as sess:
            got = sess.run(y, {x: np.arange(3, dtype=np.float32)})
            plan = sess.plan_for(y, {x: np.zeros(3, np.float32)})
    np.testing.assert_allclose(got, np.tanh(np.arange(3) * 2.0) + 1.0, rtol=1e-6)
    assert not marker.exists()
    assert "pwned" not in plan.code and "pathlib" not in plan.code
    assert "\\n" in plan.source and "pathlib" in plan.source  # the listing shows it, escaped, never run
    assert all(ch.isascii() for ch in plan.code)


def test_code_names_are_generated_identifiers_only(backend):
    import re
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4), name="features")
        w = tf.Variable(np.ones((4, 2), np.float32), name="weights")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            plan = sess.plan_for([loss, train], {x: np.ones((3, 4), np.float32)})
    body = plan.code.split("\n", 1)[1]
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", body))
    assert words <= {"return", "out", "V"} | {w for w in words if re.fullmatch(r"[fctbk]\d+", w)}, words
    assert os.linesep not in " ".join(words)
