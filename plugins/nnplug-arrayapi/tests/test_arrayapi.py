"""nnplug-arrayapi against the numpy backend, on array-api-strict (which rejects any non-standard call)."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins

pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")


@pytest.fixture(autouse=True)
def strict_namespace(monkeypatch):
    monkeypatch.setenv("NNPLUG_ARRAYAPI_NAMESPACE", "array_api_strict")


def run_on(backend, build, feeds):
    g = tf.Graph()
    with g.as_default():
        fetches = build()
        with tf.Session(backend=backend) as s:
            s.run(tf.global_variables_initializer())
            return s.run(fetches, {g.get_tensor_by_name(k): v for k, v in feeds.items()})


rs = np.random.RandomState(0)
X = rs.randn(6, 8)
Y = rs.randint(0, 8, 6)
W = rs.randn(8, 5)


def test_discovered_through_its_entry_point():
    cls, plugin = plugins.backend_classes()["arrayapi"]
    assert plugin == "arrayapi" and cls.__module__ == "nnplug_arrayapi.backend"
    assert plugins.get_backend("xp").xp.__name__ == "array_api_strict"


def test_ops_and_gradients_match_numpy():
    def build():
        x = tf.placeholder(tf.float64, [None, 8], name="x")
        y = tf.placeholder(tf.int32, [None], name="y")
        w = tf.constant(W)
        h = tf.matmul(x, w)
        outs = [tf.tanh(h), tf.sigmoid(h), tf.nn.relu(h), tf.reduce_max(h, 1), tf.reduce_mean(h, 0),
                tf.transpose(h), tf.concat([h, x], 1)[:, 1:7:2], tf.gather(h, [2, 0, 2]), tf.one_hot(y, 8),
                tf.nn.softmax(h), tf.nn.log_softmax(h), tf.argmax(h, 1), tf.cast(h > 0, tf.int32)]
        loss = (tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x))
                + tf.reduce_sum(tf.gather(h, [1, 1, 4])) + tf.reduce_sum(outs[0] * outs[1] + outs[2]))
        return outs + tf.gradients(loss, [x])
    feeds = {"x:0": X, "y:0": Y.astype(np.int32)}
    ref, got = run_on("numpy", build, feeds), run_on("arrayapi", build, feeds)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-12)


def test_mlp_training_matches_numpy():
    def build():
        tf.set_random_seed(5)
        x = tf.placeholder(tf.float32, [None, 8], name="x")
        y = tf.placeholder(tf.int32, [None], name="y")
        w1 = tf.Variable(tf.truncated_normal([8, 16], stddev=0.3, seed=1))
        w2 = tf.Variable(tf.random_normal([16, 8], stddev=0.3, seed=2))
        logits = tf.matmul(tf.tanh(tf.matmul(x, w1)), w2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
        return loss, step, w1

    def train(backend):
        g = tf.Graph()
        with g.as_default():
            loss, step, w1 = build()
            feeds = {g.get_tensor_by_name("x:0"): X.astype(np.float32), g.get_tensor_by_name("y:0"): Y}
            with tf.Session(backend=backend) as s:
                s.run(tf.global_variables_initializer())
                losses = [s.run([loss, step], feeds)[0] for _ in range(5)]
                return np.array(losses), s.run(w1)
    (ref, w_ref), (got, w_got) = train("numpy"), train("arrayapi")
    np.testing.assert_allclose(got, ref, rtol=1e-5)  # same seeds give the same initial weights too
    np.testing.assert_allclose(w_got, w_ref, rtol=1e-5, atol=1e-6)
    assert got[-1] < got[0]


def test_missing_namespace_is_reported_by_name(monkeypatch):
    monkeypatch.setenv("NNPLUG_ARRAYAPI_NAMESPACE", "no_such_array_lib")
    ok, why = plugins.backend_classes()["arrayapi"][0].is_available()
    assert not ok and "no_such_array_lib" in why


@pytest.mark.skipif(importlib.util.find_spec("nnplug.testing") is None,
                    reason="nnplug.testing (the conformance suite) is not in this nnplug")
def test_conformance_suite():
    proc = subprocess.run([sys.executable, "-m", "nnplug.testing", "arrayapi", "-q", "-x"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
