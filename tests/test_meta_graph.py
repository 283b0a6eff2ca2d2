"""Meta graphs: a graph saved as plain data beside its checkpoint and rebuilt in a new process, as TF1
programs do (`saver.save(sess, p)`, then `tf.train.import_meta_graph(p + '.meta').restore(sess, p)`);
hostile or broken files give clear errors naming the file and the op."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnplug as tf
from nnplug.train.meta_graph import MetaGraphError


def _train_and_save(prefix):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, (None, 3), name="x_input")
        y = tf.placeholder(tf.float32, (None,), name="y_input")
        w = tf.Variable(tf.random_normal((3, 1), stddev=0.1), name="weight")
        b = tf.Variable(0.0, name="bias")
        pred = tf.squeeze(tf.matmul(x, w) + b, name="prediction")
        cost = tf.reduce_mean(tf.square(y - pred), name="cost")
        tf.train.GradientDescentOptimizer(0.1).minimize(cost, name="train_op")
        xs = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
        ys = xs @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(50):
                sess.run("train_op", {x: xs, y: ys})
            expected = sess.run(pred, {x: xs})
            tf.train.Saver().save(sess, prefix)
    return xs, expected


def test_rebuilt_in_a_new_process_predicts_the_same(tmp_path):
    prefix = str(tmp_path / "trained-model")
    xs, expected = _train_and_save(prefix)
    np.save(tmp_path / "xs.npy", xs)
    script = textwrap.dedent(f"""
        import numpy as np, nnplug as tf
        with tf.Session() as sess:
            saver = tf.train.import_meta_graph({prefix!r} + ".meta")
            saver.restore(sess, {prefix!r})
            pred = tf.get_default_graph().get_tensor_by_name("prediction:0")
            out = sess.run(pred, {{"x_input:0": np.load({str(tmp_path / "xs.npy")!r})}})
            np.save({str(tmp_path / "out.npy")!r}, out)
            print(len(tf.trainable_variables()), sess.run("cost:0", {{"x_input:0": np.load({str(tmp_path / "xs.npy")!r}),
                                                                   "y_input:0": np.zeros(32, np.float32)}}) > 0)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "True"]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-6)


def test_import_scope_and_training_continues(tmp_path):
    prefix = str(tmp_path / "m")
    xs, expected = _train_and_save(prefix)
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="copy")
        assert g.get_operation_by_name("copy/train_op").type == "NoOp"
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            np.testing.assert_allclose(sess.run("copy/prediction:0", {"copy/x_input:0": xs}), expected, rtol=1e-6)
            sess.run("copy/train_op", {"copy/x_input:0": xs, "copy/y_input:0": np.zeros(32, np.float32)})
            assert not np.allclose(sess.run("copy/prediction:0", {"copy/x_input:0": xs}), expected)


def _saved(tmp_path):
    prefix = str(tmp_path / "m")
    _train_and_save(prefix)
    return prefix + ".meta", json.loads(open(prefix + ".meta").read())


def _write(tmp_path, data):
    path = tmp_path / "bad.meta"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["ops"][0].update(name="a\n__import__('os').system('echo pwned')"), "not a valid op name"),
    (lambda d: d["ops"][0].update(type="EvilOp"), "op type 'EvilOp' is not registered"),
    (lambda d: d["ops"][-1].update(inputs=["nowhere:0"]), "no earlier op makes"),
    (lambda d: d.update(version=99), "has version 99"),
    (lambda d: d.update(format="pickle"), "not an nnplug meta graph"),
    (lambda d: d.update(ops="nope"), "field 'ops' must be a list"),
])
def test_broken_files_are_refused_by_name(tmp_path, mutate, message):
    _, data = _saved(tmp_path)
    mutate(data)
    path = _write(tmp_path, data)
    with tf.Graph().as_default():
        with pytest.raises((MetaGraphError, ValueError), match=message) as e:
            tf.train.import_meta_graph(path)
    assert "bad.meta" in str(e.value) or message in ("has version 99",) or "op" in str(e.value)


def test_constant_arrays_are_checked_before_allocating(tmp_path):
    _, data = _saved(tmp_path)
    const = next(op for op in data["ops"] if op["type"] == "Const" and "array" in json.dumps(op["attrs"]))
    value = const["attrs"]["value"]["array"]
    value["shape"] = [1 << 20, 1 << 20]  # a terabyte declared, a few bytes held
    with tf.Graph().as_default():
        with pytest.raises(MetaGraphError, match="declares .* elements"):
            tf.train.import_meta_graph(_write(tmp_path, data))
    value["shape"], value["dtype"] = [1], "|O"
    with tf.Graph().as_default():
        with pytest.raises(MetaGraphError, match="not allowed"):
            tf.train.import_meta_graph(_write(tmp_path, data))


def test_not_json_and_missing_files(tmp_path):
    (tmp_path / "junk.meta").write_bytes(b"\x80\x04\x95 pickle-ish")
    with tf.Graph().as_default():
        with pytest.raises(MetaGraphError, match="junk.meta' is not valid JSON"):
            tf.train.import_meta_graph(str(tmp_path / "junk.meta"))
        with pytest.raises(MetaGraphError, match="cannot read meta graph"):
            tf.train.import_meta_graph(str(tmp_path / "missing.meta"))


def test_export_meta_graph_without_a_saver(tmp_path):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,), name="x")
        tf.add(x * 2.0, 1.0, name="out")
        tf.train.export_meta_graph(str(tmp_path / "g.meta"))
    with tf.Graph().as_default() as g:
        assert tf.train.import_meta_graph(str(tmp_path / "g.meta")) is None  # no variables: no Saver
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run("out:0", {"x:0": [1.0, 2.0]}), [3.0, 5.0])
