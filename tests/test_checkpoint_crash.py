"""Kill a process that saves checkpoints at random (seeded) moments, 36 times: after each kill every checkpoint the
folder's index names restores, with the values that step saved, and the next save leaves no temporary file.

The child is forked from this process (nnplug already imported: a kill costs milliseconds, not an interpreter
start) and its fsync is slowed by 2 ms, as on a real disk, so kills land inside writes, between the checkpoint
and the index, and while old checkpoints are deleted. Bounded: the test fails if it takes over 20 s.
"""
import json
import os
import pathlib
import random
import signal
import time
import traceback

import numpy as np
import pytest

import nnplug as tf

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")

KILLS = 36
SEED = 1234
BUDGET_S = 20.0
FSYNC_DELAY_S = 0.002


def _model():
    g = tf.Graph()
    with g.as_default():
        variables = [tf.Variable(np.zeros((64, 64), np.float32), name="w"),
                     tf.Variable(np.zeros(64, np.float64), name="b"),
                     tf.Variable(0, dtype=tf.int64, name="step")]
    return g, variables


def _values_for(k):
    """What step k saves: every variable says k, so a restored checkpoint can be checked against its name."""
    return [np.full((64, 64), k, np.float32), np.full(64, -k, np.float64), np.array(k, np.int64)]


def _child(folder, first_step):
    """Save steps first_step, first_step + 1, ... until killed (or 5 s pass)."""
    code = 0
    try:
        real_fsync = os.fsync

        def slow_fsync(fd):
            time.sleep(FSYNC_DELAY_S)
            real_fsync(fd)
        os.fsync = slow_fsync
        g, variables = _model()
        sess = tf.Session(graph=g)
        saver = tf.train.Saver(variables, max_to_keep=3)
        deadline = time.monotonic() + 5
        k = first_step
        while time.monotonic() < deadline:
            for var, value in zip(variables, _values_for(k)):
                sess.load_variable(var, value)
            saver.save(sess, os.path.join(folder, "model.ckpt"), global_step=k, write_meta_graph=False)
            k += 1
    except BaseException:  # noqa: BLE001 - report to the parent, never run its pytest code
        with open(os.path.join(folder, "child-error.txt"), "w") as f:
            f.write(traceback.format_exc())
        code = 1
    os._exit(code)


def _check_index(folder, sess, variables, saver):
    """Every checkpoint the index names restores, holding the values of the step in its name."""
    index_path = os.path.join(folder, "checkpoint")
    if not os.path.exists(index_path):
        return 0
    with open(index_path) as f:
        index = json.load(f)  # never a half-written index
    names = set(index["all"]) | {index["latest"]}
    for name in names:
        saver.restore(sess, os.path.join(folder, name))
        k = int(name.rsplit("-", 1)[1][: -len(".npz")])
        for var, want in zip(variables, _values_for(k)):
            np.testing.assert_array_equal(sess.variable_value(var), want, err_msg=f"{name} {var.name}")
    latest = tf.train.latest_checkpoint(folder)
    assert latest == os.path.join(folder, index["latest"][: -len(".npz")])
    return len(names)


def _temp_files(folder):
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def test_killed_saves_never_leave_a_broken_index_or_stale_temp_files(tmp_path):
    folder = str(tmp_path)
    rng = random.Random(SEED)
    g, variables = _model()
    sess = tf.Session(graph=g)
    saver = tf.train.Saver(variables, max_to_keep=3)
    start = time.monotonic()
    killed_mid_write = 0
    for kill in range(KILLS):
        assert time.monotonic() - start < BUDGET_S, f"only {kill} kills in {BUDGET_S} s"
        pid = os.fork()
        if pid == 0:
            _child(folder, first_step=1000 * (kill + 1))
        time.sleep(rng.uniform(0.005, 0.06))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        error = pathlib.Path(folder, "child-error.txt")
        assert not error.exists(), error.read_text()
        killed_mid_write += bool(_temp_files(folder))
        _check_index(folder, sess, variables, saver)
        # the next successful save (the parent's, as a restarted job would) cleans up after the dead writer
        for var, value in zip(variables, _values_for(kill)):
            sess.load_variable(var, value)
        saver.save(sess, os.path.join(folder, "model.ckpt"), global_step=kill, write_meta_graph=False)
        assert _temp_files(folder) == []
        assert _check_index(folder, sess, variables, saver) >= 1
    saved_by_children = [n for n in os.listdir(folder)
                         if n.startswith("model.ckpt-") and n.endswith(".npz") and int(n[11:-4]) >= 1000]
    # about one save per child on a quiet machine; a loaded one may start a child too late for its first
    assert len(saved_by_children) >= KILLS // 2, "the children hardly saved: the kills tested nothing"
    assert killed_mid_write >= 3, f"only {killed_mid_write} kills landed inside a write"
