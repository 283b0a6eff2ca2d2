"""Graphs spanning two devices: ops under `tf.device('/cpu:0')` in a Session on a device backend run on the
host (numpy) and the rest on the session's backend, with copies where values cross (nnplug/devices.py,
nnplug/compiler/place.py). Here the device backend is OpenCL on PoCL; the CuPy cases skip, with the reason,
where there is no GPU. References are float64 NumPy."""
import re

import numpy as np
import pytest

import nnplug as tf
from nnplug import devices, plugins
from nnplug.compiler.place import COPY
from nnplug.errors import BackendError


def _available(name):
    cls = plugins.backend_classes().get(name, (None,))[0]
    if cls is None:
        return False, f"the {name} backend plugin is not installed"
    try:
        return cls.is_available()
    except Exception as e:  # noqa: BLE001 - a broken driver is a reason to skip, not a failure here
        return False, f"{type(e).__name__}: {e}"


_cl_ok, _cl_why = _available("opencl")
_cuda_ok, _cuda_why = _available("cupy")
_xp_ok, _xp_why = _available("arrayapi")
needs_opencl = pytest.mark.skipif(not _cl_ok, reason=f"OpenCL backend unavailable: {_cl_why}")
needs_arrayapi = pytest.mark.skipif(not _xp_ok, reason=f"arrayapi plugin unavailable: {_xp_why}")
needs_gpu = pytest.mark.skipif(not _cuda_ok, reason=f"cupy backend unavailable: {_cuda_why}")
CPU = "/job:localhost/replica:0/task:0/device:CPU:0"
RS = np.random.RandomState(7)


def _listing(plan):
    return re.sub(r"plan_\d+", "plan", plan.source)


def _kernel_backends(plan):
    """Graph op name -> the names of the backends its kernels were made by."""
    found = {}
    for _, spec in plan.kernels:
        if spec.op_type != COPY:
            found.setdefault(spec.name, set()).add(spec.backend.name)
    return found


def _mlp(pin=None, pin_inputs=None):
    """A seeded two-layer MLP training step; `pin` puts the whole model, `pin_inputs` only its
    placeholders under that device."""
    tf.set_random_seed(3)
    with tf.device(pin_inputs or pin or ""):
        x = tf.placeholder(tf.float32, (None, 6), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")
    with tf.device(pin or ""):
        h = tf.layers.dense(x, 8, activation=tf.nn.tanh, name="h")
        logits = tf.layers.dense(h, 3, name="out")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    return x, y, loss, train


def _plan_of(backend, **pins):
    with tf.Graph().as_default():
        x, y, loss, train = _mlp(**pins)
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            return sess.plan_for([loss, train], {x: np.zeros((4, 6), np.float32), y: np.zeros(4, np.int64)})


# -- one device: compiled exactly as before -------------------------------------------------------------
def test_a_graph_pinned_to_the_session_device_compiles_as_an_unpinned_one():
    plain, pinned = _plan_of("numpy"), _plan_of("numpy", pin="/cpu:0")
    assert _listing(pinned) == _listing(plain) and COPY not in plain.source
    assert plain.copies == 0 and [d.name for d in plain.devices] == ["numpy"]
    assert len(pinned.buffers) == len(plain.buffers) > 0


@needs_opencl
def test_host_placeholders_feeding_device_ops_change_nothing_on_opencl():
    from nnplug_opencl.replay import StepReplayer
    plain, pinned = _plan_of("opencl"), _plan_of("opencl", pin_inputs="/cpu:0")
    assert _listing(pinned) == _listing(plain) and COPY not in pinned.source
    assert isinstance(pinned.run, StepReplayer) and pinned.devices == plain.devices  # the backend's own runner


@needs_opencl
def test_a_graph_all_on_the_cpu_of_an_opencl_session_is_the_numpy_plan():
    host, on_cpu = _plan_of("numpy"), _plan_of("opencl", pin="/cpu:0")
    assert _listing(on_cpu) == _listing(host)  # numpy's kernels, numpy's buffer plan, no copies
    assert [d.name for d in on_cpu.devices] == ["numpy"] and on_cpu.copies == 0
    assert all(isinstance(b, np.ndarray) for b in on_cpu.buffers.values())


# -- values, gradients and kernels across two devices ---------------------------------------------------
def _two_device_graph():
    """x (fed) -> on the CPU: h = tanh(x @ w1) -> on the device: p = softmax(h @ w2); loss and grads."""
    w1v, w2v = RS.randn(5, 4), RS.randn(4, 3)
    x = tf.placeholder(tf.float64, (None, 5), name="x")
    with tf.device("/cpu:0"):
        w1 = tf.Variable(w1v, name="w1")
        h = tf.tanh(tf.matmul(x, w1, name="host_matmul"), name="host_tanh")
    w2 = tf.Variable(w2v, name="w2")
    p = tf.nn.softmax(tf.matmul(h, w2, name="dev_matmul"), name="dev_softmax")
    loss = tf.reduce_sum(p * p, name="loss")
    g1, g2 = tf.gradients(loss, [w1, w2])
    return x, (w1v, w2v), [h, p, loss, g1, g2]


def _reference(xv, w1, w2):
    """float64 NumPy forward and the hand-derived gradients of sum(softmax(tanh(x w1) w2)^2)."""
    h = np.tanh(xv @ w1)
    z = h @ w2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dp = 2 * p
    dz = p * (dp - (dp * p).sum(1, keepdims=True))
    dh = dz @ w2.T
    return [h, p, (p * p).sum(), xv.T @ (dh * (1 - h * h)), h.T @ dz]


@needs_opencl
def test_values_and_gradients_across_host_and_device_match_float64_numpy():
    with tf.Graph().as_default():
        x, (w1, w2), fetches = _two_device_graph()
        xv = RS.randn(6, 5)
        with tf.Session(backend="opencl") as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(fetches, {x: xv})
            plan = sess.plan_for(fetches, {x: xv})
    for g, want in zip(got, _reference(xv, w1, w2)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
    ran = _kernel_backends(plan)
    assert ran["host_matmul"] == ran["host_tanh"] == {"numpy"}  # the cpu-pinned ops: numpy's kernels
    assert ran["dev_matmul"] == {"opencl"} and ran["gradients/host_tanh_grad/TanhGrad"] == {"opencl"}
    # to the device: h (read there by dev_matmul and two gradient ops: one copy) and x (for w1's gradient);
    # the fetched h is read back from the host, where it was made
    assert plan.copies == plan.source.count(COPY) == 2, plan.source
    assert {d.name for d in plan.devices} == {"numpy", "opencl"}


@needs_opencl
def test_a_host_value_read_twice_on_the_device_is_copied_once_and_a_variable_again_after_its_assign():
    with tf.Graph().as_default():
        with tf.device("/cpu:0"):
            v = tf.Variable(np.arange(3.0), name="v")
            doubled = tf.multiply(v, 2.0, name="doubled")
        before = tf.add(doubled, tf.sin(doubled), name="before")  # two device readers of one host value
        with tf.control_dependencies([before]):
            bump = v.assign_add(tf.constant([10.0, 10.0, 10.0], tf.float64))
        with tf.control_dependencies([bump]):
            after = tf.add(v.value(), 0.5, name="after")  # reads v on the device once more, after the assign
        with tf.Session(backend="opencl") as sess:
            sess.run(v.initializer)
            plan = sess.plan_for([before, after])
            got_before, got_after = sess.run([before, after])
            assert np.array_equal(sess.run(v), np.arange(3.0) + 10)
    d = 2 * np.arange(3.0)
    np.testing.assert_allclose(got_before, d + np.sin(d), rtol=1e-12)
    np.testing.assert_allclose(got_after, np.arange(3.0) + 10.5, rtol=1e-12)
    copies = [line for line in plan.source.splitlines() if COPY in line]
    assert len(copies) == 2, plan.source  # `doubled` once for both readers; v after its assign
    assert plan.source.index("V[0] = ") < plan.source.index(copies[1])


@needs_opencl
def test_feeds_go_to_the_device_that_reads_them_and_fetches_come_from_where_they_are_made():
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, (None,), name="ids")
        with tf.device("/cpu:0"):
            counted = tf.reduce_sum(ids * 3, name="counted")  # reads the feed on the host only
        dev = tf.cast(ids, tf.float32) * 0.5
        with tf.Session(backend="opencl") as sess:
            feed = {ids: np.array([1, 2, 4], np.int32)}
            host_only = sess.plan_for(counted, feed)
            assert host_only.copies == 0 and [d.name for d in host_only.devices] == ["numpy"]
            assert sess.run(counted, feed) == 21
            both = sess.plan_for([counted, dev], feed)
            assert both.copies == 1  # the feed once, to the device; each fetch read back from its own
            assert [d.name for d in both.fetch_devices] == ["numpy", "opencl"]
            c, d = sess.run([counted, dev], {ids: np.array([5, 5], np.int32)})
            assert c == 30 and np.array_equal(d, [2.5, 2.5])


@needs_opencl
def test_host_steps_get_planned_buffers_from_the_host():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (4, 4), name="x")
        with tf.device("/cpu:0"):
            w = tf.Variable(np.eye(4, dtype=np.float32), name="w")
            h = tf.tanh(tf.matmul(x, w)) + 1.0
        loss = tf.reduce_sum(tf.square(h))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        with tf.Session(backend="opencl") as sess:
            sess.run(tf.global_variables_initializer())
            plan = sess.plan_for([loss, train], {x: np.ones((4, 4), np.float32)})
            sess.run(train, {x: np.ones((4, 4), np.float32)})
    # numpy's static buffer plan for the host steps (OpenCL plans none: its memory pool serves its own)
    assert plan.buffers and all(isinstance(b, np.ndarray) for b in plan.buffers.values())


# -- training with a variable on the host ---------------------------------------------------------------
def _embedding_model():
    """An embedding table on the CPU (as TF1 programs keep them), a dense layer and Momentum on the device."""
    tf.set_random_seed(11)
    ids = tf.placeholder(tf.int64, (None,), name="ids")
    target = tf.placeholder(tf.float32, (None, 3), name="target")
    with tf.device("/cpu:0"):
        table = tf.Variable(tf.random_normal((12, 4), seed=1), name="table")
        looked_up = tf.nn.embedding_lookup(table, ids)
    # from the host: a device backend may draw its own random numbers (CuPy does)
    w = tf.Variable(np.random.RandomState(2).randn(4, 3).astype(np.float32), name="w")
    out = tf.tanh(tf.matmul(looked_up, w))
    loss = tf.reduce_mean(tf.square(out - target))
    train = tf.train.MomentumOptimizer(0.5, 0.9).minimize(loss)
    return ids, target, table, w, loss, train


def _train(backend, steps=6):
    rs = np.random.RandomState(0)
    with tf.Graph().as_default():
        ids, target, table, w, loss, train = _embedding_model()
        with tf.Session(backend=backend) as sess:
            sess.run(tf.global_variables_initializer())
            losses = []
            for _ in range(steps):
                feed = {ids: rs.randint(0, 12, 5), target: rs.randn(5, 3).astype(np.float32)}
                losses.append(sess.run([loss, train], feed)[0])
            plan = sess.plan_for([loss, train], feed)
            where = type(sess._values[sess._slots[table]])
            slot = tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
            accum = next(v for v in slot if v.op.name.endswith("table/Momentum_momentum"))
            return losses, sess.run(table), sess.run(w), plan, where, type(sess._values[sess._slots[accum]])


@pytest.mark.parametrize("backend", [pytest.param("opencl", marks=needs_opencl),
                                     pytest.param("arrayapi", marks=needs_arrayapi)])  # a plugin's device
def test_training_with_an_embedding_table_on_the_cpu_matches_one_device(backend, monkeypatch):
    monkeypatch.setenv("NNPLUG_OPENCL_REPLAY", "1")  # a spanning plan must still run eagerly, step by step
    host = _train("numpy")
    spanning = _train(backend)
    for a, b in zip(host[:3], spanning[:3]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-5, atol=2e-6)
    assert host[0][-1] < host[0][0]  # it trains
    plan, table_storage = spanning[3], spanning[4]
    assert table_storage is np.ndarray and spanning[5] is np.ndarray  # the table and its slot live on the host
    ran = _kernel_backends(plan)
    assert ran["embedding_lookup/Gather"] == {"numpy"} and ran["Momentum/ApplyMomentum"] == {"numpy"}
    assert ran["MatMul"] == {backend}
    # looked-up rows and checked ids to the device; the table's gradient back to the host for its update
    # (GatherGrad reads the table only for its shape: never copied); the target feed to the device
    assert plan.copies == 4, plan.source
    assert "spans devices" in plan.replay_obstacle() and not hasattr(plan.run, "recordings")


@needs_opencl
def test_saver_round_trips_a_variable_on_the_host(tmp_path):
    with tf.Graph().as_default():
        ids, target, table, w, loss, train = _embedding_model()
        saver = tf.train.Saver()
        with tf.Session(backend="opencl") as sess:
            sess.run(tf.global_variables_initializer())
            saved = sess.run([table, w])
            path = saver.save(sess, str(tmp_path / "model.ckpt"))
        for backend in ("opencl", "numpy"):
            with tf.Session(backend=backend) as sess:
                saver.restore(sess, path)
                got = sess.run([table, w])
                assert type(sess._values[sess._slots[table]]) is np.ndarray
                np.testing.assert_array_equal(got[0], saved[0])
                np.testing.assert_array_equal(got[1], saved[1])
                np.testing.assert_array_equal(sess.run(tf.nn.embedding_lookup(table, [2, 0])), saved[0][[2, 0]])


@needs_opencl
def test_random_ops_on_the_cpu_draw_the_numbers_numpy_draws():
    draws = []
    for backend in ("numpy", "opencl"):
        with tf.Graph().as_default():
            with tf.device("/cpu:0"):
                r = tf.random_uniform((3, 2), seed=5, name="r")
            s = r * 2.0
            with tf.Session(backend=backend) as sess:
                draws.append(sess.run([r, s]))
    np.testing.assert_array_equal(draws[0][0], draws[1][0])
    np.testing.assert_allclose(draws[1][1], 2 * draws[0][0], rtol=1e-6)


@needs_opencl
def test_control_flow_with_host_ops_inside_its_branches_and_body():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        pred = tf.placeholder(tf.bool, (), name="pred")

        def host_branch():
            with tf.device("/cpu:0"):
                return tf.exp(x) * 2.0

        def body(i, v):
            with tf.device("/cpu:0"):
                v = v * 1.5
            return i + 1, v + 1.0
        picked = tf.cond(pred, host_branch, lambda: tf.sin(x))
        _, looped = tf.while_loop(lambda i, v: i < 3, body, [tf.constant(0), x])
        xv = np.array([0.1, 0.2, 0.3], np.float32)
        with tf.Session(backend="opencl") as sess:
            yes, loop = sess.run([picked, looped], {x: xv, pred: True})
            no = sess.run(picked, {x: xv, pred: False})
    x64 = xv.astype(np.float64)
    np.testing.assert_allclose(yes, 2 * np.exp(x64), rtol=1e-6)
    np.testing.assert_allclose(no, np.sin(x64), rtol=1e-6)
    np.testing.assert_allclose(loop, ((x64 * 1.5 + 1) * 1.5 + 1) * 1.5 + 1, rtol=1e-6)


# -- log_device_placement -------------------------------------------------------------------------------
@needs_opencl
def test_log_device_placement_prints_each_op_once_per_plan_in_tf1_format(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,), name="x")
        with tf.device("/cpu:0"):
            squashed = tf.tanh(x, name="squash")
        doubled = tf.multiply(squashed, 2.0, name="double")
        with tf.Session(backend="opencl", config=tf.ConfigProto(log_device_placement=True)) as sess:
            device = sess.placement.device_name(sess.backend)
            for _ in range(2):
                sess.run(doubled, {x: [0.0, 1.0]})
    lines = capsys.readouterr().err.splitlines()
    assert device == "/job:localhost/replica:0/task:0/device:OPENCL:0"
    assert lines.count(f"squash: (Tanh): {CPU}") == 1
    assert lines.count(f"double: (Mul): {device}") == 1
    assert f"x: (Placeholder): {device}" in lines


# -- errors ---------------------------------------------------------------------------------------------
def test_an_unknown_device_on_an_op_is_named_with_the_op():
    with tf.Graph().as_default():
        x = tf.constant(1.0, name="c")
        y = tf.negative(x, name="negated")
        y.op.device = "/tpu:0"  # as a graph built elsewhere may carry it
        refused = pytest.raises(tf.errors.InvalidArgumentError,
                                match="operation 'negated'.*unknown device specification '/tpu:0'")
        with refused:
            tf.Session()  # choosing the session's backend from the ops' devices
        with tf.Session(backend="numpy") as sess, refused:
            sess.run(y)  # placing the op when its plan is compiled


@needs_opencl
def test_a_gpu_that_does_not_exist_is_refused_naming_op_and_device_unless_soft():
    if _cuda_ok:
        pytest.skip("a CUDA GPU runs here: '/gpu:3' might exist")
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, (2,), name="x")
        with tf.device("/gpu:3"):
            y = tf.square(x, name="far_away")
        with tf.Session(backend="opencl") as sess, pytest.raises(
                tf.errors.InvalidArgumentError,
                match=r"operation 'far_away'.*'/device:GPU:3'.*cupy.*allow_soft_placement"):
            sess.run(y, {x: [1.0, 2.0]})
        with tf.Session(graph=g, backend="opencl", config=tf.ConfigProto(allow_soft_placement=True)) as sess:
            assert sess.placement(y.op) is sess.backend
            np.testing.assert_allclose(sess.run(y, {x: [1.0, 2.0]}), [1.0, 4.0])
        with tf.device("/gpu:0"):  # the OpenCL session's own accelerator stands for the one GPU
            z = tf.negative(x, name="near")
        with tf.Session(graph=g, backend="opencl") as sess:
            assert sess.placement(z.op) is sess.backend
            assert sess.plan_for(z, {x: [1.0, 2.0]}).copies == 0


def test_a_gpu_backend_that_cannot_run_is_named():
    if _cuda_ok:
        pytest.skip("a CUDA GPU runs here")
    with tf.Graph().as_default():
        c = tf.constant(1.0)
        with tf.device("/gpu:1"):
            y = tf.negative(c, name="on_gpu")
        with tf.Session(backend="numpy") as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="operation 'on_gpu'") as e:
                sess.run(y)
    try:
        plugins.get_backend("cupy:1")
    except BackendError as why:
        assert str(why) in str(e.value)  # why the GPU backend cannot run, as plugins reports it


def test_host_backends_are_told_from_device_backends():
    assert devices.is_host(plugins.get_backend("numpy"))
    if _cl_ok:
        assert not devices.is_host(plugins.get_backend("opencl"))


# -- CuPy (skipped without a GPU) -----------------------------------------------------------------------
@needs_gpu
def test_cupy_session_runs_cpu_pinned_embedding_on_the_host_and_trains_like_numpy():
    host, spanning = _train("numpy"), _train("cupy")
    for a, b in zip(host[:3], spanning[:3]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=2e-5, atol=2e-6)
    assert spanning[4] is np.ndarray and _kernel_backends(spanning[3])["MatMul"] == {"cupy"}


@needs_gpu
def test_gpu_n_pins_ops_to_cupy_device_n():
    import cupy
    if cupy.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("one CUDA device: '/gpu:1' needs two")
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        with tf.device("/gpu:1"):
            far = tf.exp(x, name="far")
        near = tf.add(far, 1.0, name="near")
        with tf.Session(backend="cupy:0") as sess:
            got = sess.run(near, {x: [0.0, 1.0, 2.0]})
            plan = sess.plan_for(near, {x: [0.0, 1.0, 2.0]})
    np.testing.assert_allclose(got, np.exp([0.0, 1.0, 2.0]) + 1, rtol=1e-6)
    assert {spec.backend.device for _, spec in plan.kernels if spec.name == "far"} == {1}
    assert plan.copies == 2  # the feed to device 1; `far` to device 0
