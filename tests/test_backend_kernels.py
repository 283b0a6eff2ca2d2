"""OpDef.backend_kernels: a kernel another package provides for one backend's arrays (the distributed
package's NCCL allreduce for cupy), used before the op's host kernel, which stays the fallback where the
factory returns None; a factory's `spec.replay_obstacle` keeps its plan from being recorded and replayed."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.graph import make_op
from nnplug.ops import registry

OP = "TestBackendKernelTwice"


def _same(shapes, dtypes, attrs):
    return list(zip(shapes, dtypes))


@pytest.fixture
def op_type():
    made = []

    def define(provided):
        def host(spec):
            return lambda x: 2 * x

        def factory(spec):
            made.append(spec.name)
            return provided(spec)
        registry.register(OP, _same, host=host, replace=True, backend_kernels={"numpy": factory})
        return made
    yield define
    registry._REGISTRY.pop(OP, None)


def _run(x):
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, (None,))
        y = make_op(OP, [p], {}, name="twice").outputs[0]
        with tf.Session(backend="numpy") as sess:
            return sess.run(y, {p: x}), sess.plan_for(y, {p: x})


def test_the_provided_kernel_runs_in_place_of_the_host_kernel(op_type):
    made = op_type(lambda spec: lambda x: 3 * x)
    out, _ = _run(np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(out, [3.0, 6.0])
    assert made and made[0] == "twice"


def test_a_factory_that_returns_none_leaves_the_host_kernel(op_type):
    made = op_type(lambda spec: None)
    out, _ = _run(np.array([1.0, 2.0], np.float32))
    np.testing.assert_array_equal(out, [2.0, 4.0])
    assert made


def test_a_kernel_with_a_replay_obstacle_keeps_its_plan_from_replaying(op_type):
    def provided(spec):
        spec.replay_obstacle = "it talks to other processes"
        return lambda x: 3 * x
    op_type(provided)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, (2,))
        v = tf.Variable(np.zeros(2, np.float32))
        step = tf.assign(v, make_op(OP, [p], {}, name="twice").outputs[0])
        with tf.Session(backend="numpy") as sess:
            sess.run(v.initializer)
            plan = sess.plan_for(step, {p: np.ones(2, np.float32)})
    assert plan.replay_obstacle() == "it talks to other processes"
