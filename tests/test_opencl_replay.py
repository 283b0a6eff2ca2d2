"""OpenCL step replay (backends/nnplug_opencl/replay.py), forced on for the CPU device here: a recorded and
replayed training step computes exactly what eager runs compute — feeds that change every step, the short
last batch, variables the step rebinds, variables changed between steps by other runs — and steps it must
not replay run eagerly."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import available_backends

pytestmark = pytest.mark.skipif("opencl" not in available_backends(), reason="no OpenCL device here")


def _model(rebind=False):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, (None, 12), name="x")
        y = tf.placeholder(tf.int32, (None,), name="y")
        h = tf.layers.dense(x, 16, activation=tf.tanh, name="h")
        logits = tf.layers.dense(h, 4, name="out")
        loss = tf.losses.softmax_cross_entropy(tf.one_hot(y, 4), logits)
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        if rebind:  # a variable assigned a fresh product each step: rebound, not updated in place
            s = tf.Variable(np.zeros((12, 12), np.float32), name="second_moment")
            with tf.control_dependencies([train]):
                train = tf.group(train, tf.assign(s, tf.matmul(x, x, transpose_a=True)))
        init = tf.global_variables_initializer()
        weights = tf.global_variables()
    return g, x, y, loss, train, init, weights


def _batches(n, rows, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((rows if i % 3 else rows - 5, 12)).astype(np.float32),
             rng.integers(0, 4, rows if i % 3 else rows - 5).astype(np.int32)) for i in range(n)]


def _train(monkeypatch, replay, rebind=False, between=None):
    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", "1" if replay else "0")
    g, x, y, loss, train, init, weights = _model(rebind)
    losses = []
    with tf.Session(graph=g, backend="opencl") as sess:
        sess.run(init)
        for i, (xb, yb) in enumerate(_batches(14, 20)):
            losses.append(sess.run([train, loss], {x: xb, y: yb})[1])
            if between is not None:
                between(i, sess, weights)
        runners = [p.run for p in sess._plans.values() if p.has_assign and p.var_reads and "f1" in p.source]
        return losses, sess.run(weights), runners


def test_replayed_steps_match_eager_runs_exactly(monkeypatch):
    want_losses, want, _ = _train(monkeypatch, replay=False)
    losses, got, runners = _train(monkeypatch, replay=True)
    assert len(runners) == 2 and all(r.why is None and r.commands for r in runners), [r.why for r in runners]
    np.testing.assert_array_equal(losses, want_losses)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_rebound_variables_land_in_their_own_buffers(monkeypatch):
    want_losses, want, _ = _train(monkeypatch, replay=False, rebind=True)
    seen = []

    def buffer_of_second_moment(i, sess, weights):
        var = next(w for w in weights if w.name == "second_moment:0")
        seen.append(sess._values[sess._slots[var]])

    losses, got, runners = _train(monkeypatch, replay=True, rebind=True, between=buffer_of_second_moment)
    assert all(r.commands and [kind for kind, _ in r.log].count("copy") == 1 for r in runners)
    assert seen[-1] is seen[-4]  # replays keep the variable in one buffer
    np.testing.assert_array_equal(losses, want_losses)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_variables_changed_between_steps_are_seen(monkeypatch):
    def reload(i, sess, weights):
        if i in (5, 9):  # a load rebinds the variable: the recorded step must notice
            sess.load_variable(weights[0], sess.variable_value(weights[0]) * 0.5)

    want_losses, want, _ = _train(monkeypatch, replay=False, between=reload)
    losses, got, runners = _train(monkeypatch, replay=True, between=reload)
    assert any(r.recordings >= 2 for r in runners)
    np.testing.assert_array_equal(losses, want_losses)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_steps_drawing_random_numbers_run_eagerly(monkeypatch):
    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", "1")
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.zeros(3, np.float32))
        step = tf.assign_add(v, tf.random_uniform((3,), seed=1))
        init = tf.global_variables_initializer()
    with tf.Session(graph=g, backend="opencl") as sess:
        sess.run(init)
        values = [sess.run(step).copy() for _ in range(5)]
        runner = next(p.run for p in sess._plans.values() if "RandomUniform" in p.source and "V[0]" in p.source)
    assert "random" in runner.why and runner.commands is None
    assert len({tuple(a) for a in np.diff(values, axis=0)}) == 4  # a new draw every step


@pytest.mark.parametrize("flag,cpu,on", [("", True, False), ("", False, True), ("1", True, True), ("0", False, False),
                                         ("off", False, False), ("yes", True, True)])
def test_replay_is_on_by_default_only_for_non_cpu_devices(monkeypatch, flag, cpu, on):
    from nnplug_opencl import replay

    class Device:
        is_cpu = cpu

    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", flag)
    assert replay.enabled(Device()) is on


@pytest.mark.parametrize("replay", [False, True])
def test_a_bad_index_raises_in_eager_and_replayed_steps_and_changes_nothing(monkeypatch, replay):
    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", "1" if replay else "0")
    g = tf.Graph()
    with g.as_default():
        ids = tf.placeholder(tf.int32, (3,), name="ids")
        emb = tf.Variable(np.linspace(-1, 1, 24, dtype=np.float32).reshape(6, 4), name="emb")
        loss = tf.reduce_sum(tf.square(tf.gather(emb, ids, name="lookup") - 0.5))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    good = [np.array([i % 6, (i + 2) % 6, 5], np.int32) for i in range(6)]
    with tf.Session(graph=g, backend="opencl") as sess:
        sess.run(emb.initializer)
        want = sess.run(emb).astype(np.float64)
        for i, batch in enumerate(good):
            if i in (3, 5):  # after the warm-up and the recording: a replay (when on) meets the bad index
                before = sess.run(emb)
                with pytest.raises(tf.errors.InvalidArgumentError, match=r"Gather 'lookup': indices\[1\] = 6 "):
                    sess.run(train, {ids: np.array([0, 6, 1], np.int32)})
                np.testing.assert_array_equal(sess.run(emb), before)
            sess.run(train, {ids: batch})
            np.add.at(want, batch, -0.1 * 2 * (want[batch] - 0.5))  # the gradient step, in float64
            np.testing.assert_allclose(sess.run(emb), want, rtol=1e-5, atol=1e-6)
        runner = next(p.run for p in sess._plans.values() if "Gather" in p.source and p.has_assign)
    assert (runner.recordings == 1 and runner.commands) if replay else runner.recordings == 0
