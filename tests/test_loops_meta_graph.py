"""Meta graphs of graphs with control flow: a TF1 program saves a model built with tf.while_loop, tf.cond,
dynamic_rnn, map_fn/scan or a TensorArray (`saver.save` writes `<prefix>.meta`), and another graph (or
process) rebuilds it with `import_meta_graph`, restores the checkpoint and gets the same numbers from the
loop's outputs and from a training step whose gradients go through the loop. Mutated control-flow
attributes are refused naming the file, the op and the field."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnplug as tf
from nnplug.train.meta_graph import MetaGraphError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 5, 3)).astype(np.float32)  # batch 2, 5 steps, 3 features
X_LONGER = RNG.normal(size=(2, 8, 3)).astype(np.float32)


def _variable(shape, name):
    return tf.Variable(RNG.normal(scale=0.4, size=shape).astype(np.float32), name=name)


def _while_tanh():
    x = tf.placeholder(tf.float32, (2, None, 3), name="x")
    w = _variable((3, 3), "w")
    steps = tf.shape(x)[1]

    def body(i, h):
        return i + 1, tf.tanh(tf.matmul(h, w) + tf.gather(x, i, axis=1))
    _, h = tf.while_loop(lambda i, h: i < steps, body, (0, tf.zeros((2, 3))), maximum_iterations=20)
    return x, h


def _cond_in_loop():
    x = tf.placeholder(tf.float32, (2, None, 3), name="x")
    w = _variable((3,), "w")

    def body(i, acc):
        row = tf.gather(x, i, axis=1)
        step = tf.cond(tf.reduce_sum(row) > 0.0, lambda: tf.sin(row * w), lambda: tf.square(row) * w)
        return i + 1, acc + step
    _, acc = tf.while_loop(lambda i, acc: i < tf.shape(x)[1], body, (0, tf.zeros((2, 3))))
    top = tf.cond(tf.reduce_mean(acc) > 0.0, lambda: acc * 2.0, lambda: acc - 1.0)
    return x, top


def _dynamic_lstm():
    x = tf.placeholder(tf.float32, (None, None, 3), name="x")
    out, state = tf.nn.dynamic_rnn(tf.nn.rnn_cell.BasicLSTMCell(4), x, dtype=tf.float32)
    return x, tf.concat([out[:, -1, :], state.h], axis=1)


def _scan_and_map():
    x = tf.placeholder(tf.float32, (2, None, 3), name="x")
    w = _variable((3,), "w")
    time_major = tf.transpose(x, (1, 0, 2))
    summed = tf.scan(lambda acc, row: tf.tanh(acc * w + row), time_major)
    return x, tf.map_fn(lambda row: tf.reduce_sum(row * w, axis=0), summed)


def _tensor_array():
    x = tf.placeholder(tf.float32, (2, None, 3), name="x")
    w = _variable((3, 3), "w")
    n = tf.shape(x)[1]
    ta = tf.TensorArray(tf.float32, size=n)

    def body(i, ta):
        return i + 1, ta.write(i, tf.nn.relu(tf.matmul(tf.gather(x, i, axis=1), w)))
    _, ta = tf.while_loop(lambda i, ta: i < n, body, (0, ta))
    return x, ta.stack()


CASES = {"while": _while_tanh, "cond": _cond_in_loop, "dynamic_rnn": _dynamic_lstm, "scan_map": _scan_and_map,
         "tensor_array": _tensor_array}


def _train_and_save(build, prefix):
    """(outputs at the save, outputs after one more training step) of the original graph."""
    with tf.Graph().as_default():
        tf.set_random_seed(3)
        x, out = build()
        tf.identity(out, name="out")
        loss = tf.reduce_sum(tf.square(out - 0.3), name="loss")
        tf.train.AdamOptimizer(0.05).minimize(loss, name="train")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run("train", {x: X})
            saved = sess.run(out, {x: X}), sess.run(out, {x: X_LONGER})
            tf.train.Saver().save(sess, prefix)
            sess.run("train", {x: X})
            return saved, sess.run(out, {x: X})


@pytest.mark.parametrize("case", sorted(CASES))
def test_restored_loop_runs_and_trains_the_same(tmp_path, case):
    prefix = str(tmp_path / case)
    (at_save, at_save_longer), after_step = _train_and_save(CASES[case], prefix)
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(prefix + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            np.testing.assert_allclose(sess.run("out:0", {"x:0": X}), at_save, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(sess.run("out:0", {"x:0": X_LONGER}), at_save_longer, rtol=1e-6, atol=1e-7)
            sess.run("train", {"x:0": X})  # Adam's slots and its gradients through the loop come back too
            np.testing.assert_allclose(sess.run("out:0", {"x:0": X}), after_step, rtol=1e-5, atol=1e-6)


def test_new_gradients_of_an_imported_loop_match_the_original(tmp_path):
    prefix = str(tmp_path / "m")
    with tf.Graph().as_default():
        x, out = _while_tanh()
        loss = tf.reduce_sum(tf.sin(out), name="loss")
        w = tf.trainable_variables()[0]
        tf.gradients(loss, [w, x])  # a first gradient: the loop now saves what it needs
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            expected = sess.run(tf.gradients(loss, [w, x]), {x: X})  # a second gradient computation
            tf.train.Saver().save(sess, prefix)
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="copy")
        loss = g.get_tensor_by_name("copy/loss:0")
        x = g.get_tensor_by_name("copy/x:0")
        grads = tf.gradients(loss, [tf.trainable_variables()[0], x])
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            for got, want in zip(sess.run(grads, {x: X}), expected):
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_rebuilt_in_a_new_process(tmp_path):
    prefix = str(tmp_path / "rnn")
    (at_save, _), after_step = _train_and_save(_dynamic_lstm, prefix)
    np.save(tmp_path / "x.npy", X)
    script = textwrap.dedent(f"""
        import numpy as np, nnplug as tf
        x = np.load({str(tmp_path / "x.npy")!r})
        with tf.Session() as sess:
            tf.train.import_meta_graph({prefix!r} + ".meta").restore(sess, {prefix!r})
            before = sess.run("out:0", {{"x:0": x}})
            sess.run("train", {{"x:0": x}})
            np.save({str(tmp_path / "out.npy")!r}, np.stack([before, sess.run("out:0", {{"x:0": x}})]))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    before, after = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(before, at_save, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(after, after_step, rtol=1e-5, atol=1e-6)


# -- mutated files ---------------------------------------------------------------------------------------
def _saved_loop(tmp_path, build=_while_tanh):
    prefix = str(tmp_path / "loop")
    _train_and_save(build, prefix)
    return json.loads(open(prefix + ".meta").read())


def _op(data, op_type):
    return next(op for op in data["ops"] if op["type"] == op_type)


def _attrs(data, op_type):
    return _op(data, op_type)["attrs"]


@pytest.mark.parametrize("mutate,message", [
    (lambda d: _attrs(d, "While").update(body={"tuple": [{"tensor": "nowhere:0"}]}),
     r"attr 'body': names the tensor 'nowhere:0', which no earlier op"),
    (lambda d: _attrs(d, "While").update(cond=3), r"attr 'cond' must be a tensor"),
    (lambda d: _attrs(d, "While")["holders"]["tuple"].pop(), r"has \d+ inputs; its attrs describe"),
    (lambda d: _attrs(d, "While").update(n_vars=-1), r"attr 'n_vars' must be a non-negative int"),
    (lambda d: _attrs(d, "While").pop("inner"), r"attr 'inner' is missing"),
    (lambda d: _attrs(d, "While").update(gradients={"dict": []}), r"attr 'gradients' is a cache"),
    (lambda d: _attrs(d, "While").update(cond=_attrs(d, "While")["body"]["tuple"][1]),
     r"attr 'cond' must be a bool tensor"),
    (lambda d: _attrs(d, "WhileGrad").update(forward={"op": "x"}), r"attr 'forward' must be a While op"),
    (lambda d: _attrs(d, "WhileGrad").update(grad_feeds={"tuple": [{"tensor": "w:0"}]}),
     r"attr 'grad_feeds' must be a tuple of placeholders"),
])
def test_mutated_loop_attributes_are_refused_by_name(tmp_path, mutate, message):
    _refused(tmp_path, _saved_loop(tmp_path), mutate, message)


def _refused(tmp_path, data, mutate, message):
    mutate(data)
    path = tmp_path / "bad.meta"
    path.write_text(json.dumps(data))
    with tf.Graph().as_default():
        with pytest.raises(MetaGraphError, match=message) as e:
            tf.train.import_meta_graph(str(path))
    assert "bad.meta" in str(e.value) and "op '" in str(e.value)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: _attrs(d, "TensorArrayV3").update(dtype={"dtype": "variant"}), r"attr 'dtype' must be a dtype"),
    (lambda d: _attrs(d, "TensorArrayV3").update(element_shape="(3,)"), r"attr 'element_shape' must be a shape"),
    (lambda d: _attrs(d, "TensorArrayWriteV3").update(array=7), r"attr 'array' must be a string"),
    (lambda d: _attrs(d, "TensorArrayStackV3").pop("array"), r"attr 'array' \(the array's name\) must be"),
    (lambda d: _attrs(d, "While")["out_specs"]["tuple"][1]["tuple"].__setitem__(0, {"shape": [9, 9]}),
     r"attr 'out_specs' declares output 1 \(9, 9\) float32, but"),
    (lambda d: _attrs(d, "Placeholder").update(dtype={"dtype": "variant"}), r"captured tensor \d+ is variant"),
])
def test_mutated_tensor_array_attributes_are_refused_by_name(tmp_path, mutate, message):
    _refused(tmp_path, _saved_loop(tmp_path, _tensor_array), mutate, message)


def test_an_op_named_before_it_is_made_is_refused(tmp_path):
    data = _saved_loop(tmp_path)
    loop = _op(data, "While")
    data["ops"].remove(loop)
    data["ops"].insert(0, loop)  # now its body and placeholders come after it
    path = tmp_path / "reordered.meta"
    path.write_text(json.dumps(data))
    with tf.Graph().as_default():
        with pytest.raises(MetaGraphError, match=r"reordered\.meta.*no earlier op"):
            tf.train.import_meta_graph(str(path))
