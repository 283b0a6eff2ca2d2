"""nnplug-profiler: found through its entry point, free when off, and its table adds up when on."""
import os
import subprocess
import sys

import numpy as np
import pytest

import nnplug as tf
import nnplug_profiler
from nnplug import plugins


def train_step(runs=3):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 30])
        y = tf.placeholder(tf.int32, [None])
        w = tf.Variable(np.full((30, 4), 0.01, np.float32), name="w")
        logits = tf.matmul(tf.tanh(x), w, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            feed = {x: np.ones((16, 30), np.float32), y: np.arange(16) % 4}
            for _ in range(runs):
                s.run(step, feed)
            return s.plan_for(step, feed)


@pytest.fixture
def profiler():
    nnplug_profiler.reset()
    yield nnplug_profiler
    nnplug_profiler.disable()
    nnplug_profiler.reset()


def test_discovered_through_its_entry_point():
    pm = plugins.plugin_manager()
    assert pm.get_plugin("profiler") is nnplug_profiler
    assert plugins.plugin_source("profiler")[0] == "nnplug-profiler"
    assert "profiler" not in {p for _, p in plugins.backend_classes().values()}  # not a backend


def test_disabled_leaves_kernels_unwrapped(profiler):
    profiler.disable()
    plan = train_step(1)
    assert not any(hasattr(plan.fn.__globals__[k], "__wrapped__") for k, _ in plan.kernels)
    assert profiler.stats() == {}


def test_enabled_counts_every_kernel_call_and_reports(profiler, capsys):
    profiler.enable()
    plan = train_step(runs=3)
    stats = profiler.stats()
    # every kernel of the step ran in each of the 3 runs (kernels lowered from one op share its name)
    assert stats[("MatMul", "logits")][0] == 3
    step_keys = {(spec.op_type, spec.name) for _, spec in plan.kernels}
    assert step_keys <= set(stats)
    assert all(stats[k][0] % 3 == 0 and stats[k][0] >= 3 and stats[k][1] > 0 for k in step_keys)
    profiler.report()
    out = capsys.readouterr().out
    assert "op type" in out and "MatMul" in out and "logits" in out and "total ms" in out
    assert "Session.run: " in out
    shares = [float(line.split()[-1]) for line in out.splitlines()[2:2 + len(stats)]]
    assert sum(shares) == pytest.approx(100, abs=0.5)


def test_reset_after_warm_up_counts_only_later_runs(profiler):
    """Kernels wrapped before reset() go on counting, from zero (the warm-up's compile time is dropped)."""
    profiler.enable()
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [4])
        y = tf.tanh(x, name="t")
        with tf.Session() as s:
            for _ in range(3):
                s.run(y, {x: np.ones(4, np.float32)})
            profiler.reset()
            assert profiler.stats() == {}
            for _ in range(2):
                s.run(y, {x: np.ones(4, np.float32)})
    assert profiler.stats()[("Tanh", "t")][0] == 2


def test_env_variable_profiles_a_whole_program_and_reports_at_exit(tmp_path):
    prog = ("import numpy as np, nnplug as tf\n"
            "x = tf.placeholder(tf.float32, [None, 3])\n"
            "y = tf.reduce_sum(tf.exp(x), name='total')\n"
            "with tf.Session() as s:\n"
            "    for _ in range(4): s.run(y, {x: np.ones((2, 3), np.float32)})\n")
    env = dict(os.environ, NNPLUG_PROFILE="1")
    proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "where the time went" in proc.stderr and "Exp" in proc.stderr and "Session.run: 4 runs" in proc.stderr
