"""nnplug.distributed in one process: the pieces that need no peers (fusion buckets, shards, the launcher's
command line, error messages for ranks that disagree) and a job of one rank (no mpiexec), where every
collective returns its input. The multi-rank behaviour is in test_distributed_mpi.py."""
import importlib.util
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import nnplug as tf
import nnplug.distributed as dist
from nnplug import keras
from nnplug.distributed import collectives, launch, runtime
from nnplug.ops import registry

HAVE_MPI = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason='mpi4py is not installed (pip install -e ".[mpi]")')


# -- without MPI ----------------------------------------------------------------------------------
def test_init_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setattr(runtime, "_job", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` now fails as if it were absent
    with pytest.raises(ImportError) as e:
        dist.init()
    assert 'pip install "nnplug[mpi]"' in str(e.value) and 'pip install -e ".[mpi]"' in str(e.value)
    assert not dist.is_initialized()


def test_using_the_job_before_init_names_init(monkeypatch):
    monkeypatch.setattr(runtime, "_job", None)
    for fn in (dist.size, dist.rank, lambda: dist.allreduce(np.ones(2)), lambda: dist.shard(np.ones(4))):
        with pytest.raises(dist.DistributedError, match=r"nnplug.distributed.init\(\)"):
            fn()


def test_collective_ops_are_host_ops_no_backend_must_implement():
    for name in ("DistAllreduce", "DistBroadcast", "DistAllgather", "DistAllgatherGrad"):
        opdef = registry.get(name)
        assert opdef.host is not None and opdef.stateful
        assert name not in registry.primitives()


def test_buckets_pack_consecutive_arrays_of_one_dtype_up_to_the_threshold():
    f4 = lambda n: np.zeros(n, np.float32)  # noqa: E731 - 4 bytes per element
    arrays = [f4(10), f4(10), f4(30), np.zeros(2, np.float64), f4(1), f4(100), f4(1)]
    assert collectives.buckets(arrays, threshold=80) == [[0, 1], [2], [3], [4], [5], [6]]
    assert collectives.buckets(arrays, threshold=200) == [[0, 1, 2], [3], [4], [5], [6]]
    assert collectives.buckets(arrays, threshold=10 ** 6) == [[0, 1, 2], [3], [4, 5, 6]]
    assert collectives.buckets(arrays, threshold=0) == [[i] for i in range(len(arrays))]


def test_fusion_threshold_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(collectives.FUSION_ENV, raising=False)
    assert collectives.fusion_threshold() == 64 * 1024 * 1024
    monkeypatch.setenv(collectives.FUSION_ENV, "4096")
    assert collectives.fusion_threshold() == 4096
    assert collectives.fusion_threshold(0) == 0  # an explicit value wins
    for bad in ("lots", "-1", "1.5"):
        monkeypatch.setenv(collectives.FUSION_ENV, bad)
        with pytest.raises(ValueError, match=collectives.FUSION_ENV):
            collectives.fusion_threshold()


def test_collective_timeout_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(runtime.TIMEOUT_ENV, raising=False)
    assert runtime.timeout() == 300.0
    monkeypatch.setenv(runtime.TIMEOUT_ENV, "2.5")
    assert runtime.timeout() == 2.5
    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv(runtime.TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=runtime.TIMEOUT_ENV):
            runtime.timeout()


def _desc(shape, name="layer/kernel:0", backend="numpy", collective="allreduce", op="average"):
    return {"collective": collective, "name": "train", "backend": backend, "op": op,
            "tensors": [{"name": "bias:0", "shape": [3], "dtype": "float32"},
                        {"name": name, "shape": list(shape), "dtype": "float32"}]}


def test_disagreement_names_the_tensor_the_shapes_and_the_ranks():
    text = collectives.disagreement("allreduce 'train'", [_desc((3, 4)), _desc((3, 4)), _desc((3, 5))])
    assert text == ("allreduce 'train': ranks disagree: tensor 'layer/kernel:0': rank 0 has shape (3, 4) float32, "
                    "rank 2 has (3, 5) float32")


def test_disagreement_names_backends_collectives_and_options():
    assert "rank 1 runs backend 'opencl' but rank 0 runs 'numpy'" in collectives.disagreement(
        "x", [_desc((2,)), _desc((2,), backend="opencl")])
    assert "rank 0 calls allreduce 'train' while rank 1 calls broadcast 'train'" in collectives.disagreement(
        "x", [_desc((2,)), _desc((2,), collective="broadcast")])
    assert "rank 0 passes op='average', rank 1 op='sum'" in collectives.disagreement(
        "x", [_desc((2,)), _desc((2,), op="sum")])
    short = dict(_desc((2,)), tensors=[])
    assert "rank 0 passes 2 tensors, rank 1 passes 0" in collectives.disagreement("x", [_desc((2,)), short])


@pytest.mark.parametrize("n_rows,size", [(10, 3), (12, 4), (2, 3), (0, 2), (7, 1)])
def test_shards_cover_every_row_once_and_differ_by_at_most_one(n_rows, size):
    x = np.arange(n_rows)
    parts = [dist.shard(x, rank=r, size=size) for r in range(size)]
    np.testing.assert_array_equal(np.concatenate(parts), x)
    lengths = [len(p) for p in parts]
    assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_shard_checks_its_arrays():
    xs, ys = dist.shard(np.arange(10), np.arange(10) * 2, rank=1, size=3)
    np.testing.assert_array_equal(xs, [4, 5, 6])
    np.testing.assert_array_equal(ys, [8, 10, 12])
    with pytest.raises(ValueError, match="array 0 has 10 rows but array 1 has 9"):
        dist.shard(np.arange(10), np.arange(9), rank=0, size=2)
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\)"):
        dist.shard(np.arange(10), rank=2, size=2)


# -- the launcher ---------------------------------------------------------------------------------
def test_parse_hosts():
    assert launch.parse_hosts("node1:2, node2") == [("node1", 2), ("node2", 1)]
    for bad, why in (("node1:x", "'node1:x' has slots 'x'"), ("a:0", "at least one slot"), (",b", "empty host")):
        with pytest.raises(ValueError, match=why):
            launch.parse_hosts(bad)


def _args(**kw):
    base = dict(np=4, hosts=None, hostfile=None, python="/py", script="train.py", script_args=["--epochs", "2"])
    return SimpleNamespace(**{**base, **kw})


def test_launch_command_for_mpich_and_open_mpi(monkeypatch, tmp_path):
    monkeypatch.setattr(launch, "is_open_mpi", lambda mpiexec: False)
    assert launch.command(_args(), "/bin/mpiexec") == ["/bin/mpiexec", "-n", "4", "/py", "train.py", "--epochs", "2"]
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node1:2\nnode2:2\n")
    cmd = launch.command(_args(hosts="node1:2,node2:2", hostfile=str(hostfile)), "mpiexec")
    assert cmd[:7] == ["mpiexec", "-n", "4", "-hosts", "node1:2,node2:2", "-f", str(hostfile)]
    monkeypatch.setattr(launch, "is_open_mpi", lambda mpiexec: True)
    assert launch.command(_args(hosts="a:1,b:3"), "mpirun")[3:5] == ["--host", "a:1,b:3"]
    with pytest.raises(FileNotFoundError, match="--hostfile: no such file"):
        launch.command(_args(hostfile=str(tmp_path / "missing")), "mpirun")


def test_launch_finds_no_mpiexec_and_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'pip install "nnplug\[mpi\]"'):
        launch.find_mpiexec()
    with pytest.raises(FileNotFoundError, match="--mpiexec nowhere-mpiexec: no such executable"):
        launch.find_mpiexec("nowhere-mpiexec")


def test_launch_finds_the_mpiexec_beside_python(monkeypatch, tmp_path):
    fake = tmp_path / "mpiexec"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert launch.find_mpiexec() == str(fake)


def test_launch_main_checks_the_script_and_prints_a_dry_run(monkeypatch, tmp_path, capsys):
    with pytest.raises(SystemExit, match="no such script"):
        launch.main(["-n", "2", str(tmp_path / "missing.py")])
    script = tmp_path / "train.py"
    script.write_text("")
    monkeypatch.setattr(launch, "find_mpiexec", lambda explicit=None: "/opt/mpiexec")
    assert launch.main(["-n", "3", "--dry-run", str(script), "--lr", "0.1"]) == 0
    assert capsys.readouterr().out.split() == ["/opt/mpiexec", "-n", "3", sys.executable, str(script), "--lr", "0.1"]


def test_launch_plugs_into_a_subcommand_parser():
    import argparse
    parser = argparse.ArgumentParser(prog="nnplug")
    launch.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["launch", "-n", "2", "--hosts", "a:1,b:1", "train.py", "--epochs", "3"])
    assert (args.np, args.hosts, args.script, args.script_args, args.fn) == (2, "a:1,b:1", "train.py",
                                                                              ["--epochs", "3"], launch.run)


# -- a job of one rank ----------------------------------------------------------------------------
@needs_mpi
def test_a_job_of_one_rank_returns_every_input():
    dist.init()
    dist.init()  # a second call changes nothing
    assert (dist.size(), dist.rank(), dist.local_size(), dist.local_rank()) == (1, 0, 1, 0)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(dist.allreduce(x), x)
    np.testing.assert_array_equal(dist.allreduce(x, average=False), x)
    np.testing.assert_array_equal(dist.allgather(x), x)
    np.testing.assert_array_equal(dist.broadcast(x, 0), x)
    with tf.Graph().as_default():
        v = tf.Variable(x.astype(np.float32))
        outs = [dist.allreduce(v), dist.allgather(v), dist.broadcast(v, root_rank=0)]
        grads = tf.gradients([tf.reduce_sum(o * o) for o in outs], v)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run(outs + grads)
    for got in values[:3]:
        np.testing.assert_array_equal(got, x)
    np.testing.assert_allclose(values[3], 3 * 2 * x)  # d/dv of three sums of squares of v


@needs_mpi
def test_collective_arguments_are_checked_when_built():
    dist.init()
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="cannot average the int32 tensor"):
            dist.allreduce(tf.constant([1, 2]))
        with pytest.raises(ValueError, match="root_rank must be a rank from 0 to 0, got 1"):
            dist.broadcast(tf.constant([1.0]), root_rank=1)
        with pytest.raises(ValueError, match="unknown reduction 'median'"):
            dist.allreduce(tf.constant([1.0]), op="median")
    with pytest.raises(TypeError, match="cannot average the int64 tensor 'count'"):
        dist.allreduce(np.array([3]), name="count")
    assert int(dist.allreduce(np.array([3]), op=dist.Sum)[0]) == 3
    with pytest.raises(ValueError, match="cannot gather the scalar"):
        dist.allgather(np.float32(1.0))


@needs_mpi
def test_distributed_optimizer_of_one_rank_trains_like_the_wrapped_one():
    dist.init()
    x_np = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)

    def train(wrap):
        with tf.Graph().as_default():
            w = tf.Variable(np.ones((3, 1), np.float32))
            loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(x_np), w) - 1.0))
            opt = tf.train.MomentumOptimizer(0.1, 0.9)
            opt = dist.DistributedOptimizer(opt) if wrap else opt
            step = opt.minimize(loss)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                for _ in range(3):
                    sess.run(step)
                assert opt.get_slot_names() == ["momentum"] and opt.get_slot(w, "momentum") is not None
                return sess.run(w)

    np.testing.assert_array_equal(train(True), train(False))
    with pytest.raises(TypeError, match="wraps an nnplug.train optimizer"):
        dist.DistributedOptimizer("sgd")


@needs_mpi
def test_keras_distributed_optimizer_keeps_the_class_name_and_reads_its_learning_rate_each_step():
    import nnplug.distributed.keras as hvd
    hvd.init()
    opt = hvd.DistributedOptimizer(keras.optimizers.SGD(lr=0.0, momentum=0.0))
    assert type(opt).__name__ == "SGD" and isinstance(opt, keras.optimizers.SGD)
    assert keras.optimizers.serialize(opt)["class_name"] == "SGD"
    with pytest.raises(ValueError, match="already a DistributedOptimizer"):
        hvd.DistributedOptimizer(opt)
    model = keras.models.Sequential([keras.layers.Dense(1, input_dim=2, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=opt, loss="mse")
    x, y = np.array([[1.0, 2.0]], np.float32), np.array([[0.0]], np.float32)
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((2, 1)))  # lr 0: no step
    opt.learning_rate = 0.1
    model.fit(x, y, batch_size=1, epochs=1, verbose=0)
    # mse of w.x = 3 against 0: gradient 2 * 3 * x = [6, 12]; one step of lr 0.1
    np.testing.assert_allclose(model.get_weights()[0], [[1 - 0.6], [1 - 1.2]], rtol=1e-6)
    assert hvd.verbose(2) == 2  # rank 0 keeps its verbosity


@needs_mpi
def test_warmup_callback_needs_the_distributed_optimizer():
    import nnplug.distributed.keras as hvd
    hvd.init()
    model = keras.models.Sequential([keras.layers.Dense(1, input_dim=2)])
    model.compile(optimizer=keras.optimizers.SGD(lr=0.1), loss="mse")
    with pytest.raises(TypeError, match="nnplug.distributed.keras.DistributedOptimizer"):
        model.fit(np.zeros((2, 2)), np.zeros((2, 1)), verbose=0,
                  callbacks=[hvd.callbacks.LearningRateWarmupCallback(warmup_epochs=1)])
    with pytest.raises(ValueError, match="warmup_epochs must be positive"):
        hvd.callbacks.LearningRateWarmupCallback(warmup_epochs=0)


def test_the_package_imports_without_starting_mpi():
    """Importing nnplug.distributed (the CLI does, for `nnplug launch`) must not initialise MPI."""
    import subprocess
    code = "import sys, nnplug.distributed.launch; print('mpi4py.MPI' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bound,ranks,want", [(8, 4, 2), (1, 4, 1), (8, 16, 1)])
def test_ranks_sharing_a_machine_split_its_cores_between_their_blas_threads(monkeypatch, bound, ranks, want):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    for name in runtime.THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(bound)))  # a launcher may bind a rank
    runtime._share_cores(ranks)
    try:
        blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == want for p in blas)
    finally:
        runtime._thread_limit.pop().restore_original_limits()


def test_a_thread_count_the_user_set_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    runtime._share_cores(2)
    assert runtime._thread_limit == []


@needs_mpi
def test_results_never_alias_the_fusion_buffers_a_kernel_reuses():
    """A graph kernel keeps its fusion buffers from run to run; what it returned earlier must not change."""
    dist.init()
    workspace = collectives.Workspace()
    parts = [np.ones((2, 2), np.float32), np.ones(3, np.float32)]
    first = collectives.allreduce(parts, op=dist.Sum, workspace=workspace, check=False)
    second = collectives.allreduce([p * 5 for p in parts], op=dist.Sum, workspace=workspace, check=False)
    for a, b, p in zip(first, second, parts):
        np.testing.assert_array_equal(a, p)
        np.testing.assert_array_equal(b, p * 5)
    halves = [np.ones(4, np.float16)]  # travels as float32, comes back as float16
    assert collectives.allreduce(halves, op=dist.Sum, workspace=workspace, check=False)[0].dtype == np.float16


# -- the allreduce overlapped with the backward pass (one rank: the plan, and values unchanged) -----
def _mlp_step(overlap, threshold, sizes=(6, 8, 8, 3), optimizer=None):
    """(session, train op, feed, variables) of an MLP whose gradients go through grouped_allreduce."""
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():
        x, y = tf.placeholder(tf.float32, (None, sizes[0])), tf.placeholder(tf.int32, (None,))
        h, variables = x, []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = tf.Variable(rng.normal(0, 0.5, (a, b)).astype(np.float32), name=f"w{i + 1}")
            bias = tf.Variable(rng.normal(0, 0.1, b).astype(np.float32), name=f"b{i + 1}")
            variables += [w, bias]
            h = tf.matmul(h, w) + bias
            h = tf.nn.relu(h) if i < len(sizes) - 2 else h
        loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=h)
        opt = optimizer() if optimizer else tf.train.MomentumOptimizer(0.1, 0.9)
        grads_and_vars = opt.compute_gradients(loss)
        if overlap is not None:
            reduced = dist.grouped_allreduce([g for g, _ in grads_and_vars], names=[v.name for _, v in grads_and_vars],
                                             fusion_threshold=threshold, overlap=overlap)
            grads_and_vars = list(zip(reduced, [v for _, v in grads_and_vars]))
        train = opt.apply_gradients(grads_and_vars)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    feed = {x: rng.normal(size=(5, sizes[0])).astype(np.float32), y: rng.integers(0, sizes[-1], 5).astype(np.int32)}
    return sess, train, feed, variables


def _listing(sess, train, feed):
    """The plan's steps as (op type, graph name, names it assigns, names it reads), in order."""
    steps = []
    for line in sess.plan_for(train, feed).source.splitlines()[1:-1]:
        code, _, comment = line.strip().partition("  # ")
        op_type, _, name = comment.partition(" ")
        lhs, _, rhs = code.rpartition(" = ") if " = " in code else ("", "", code)
        writes = [w.strip() for w in lhs.split(",") if w.strip()]
        reads = rhs[rhs.find("(") + 1:rhs.rfind(")")].replace("out=", "").split(", ") if "(" in rhs else [rhs]
        steps.append((op_type, name, writes, [r.strip() for r in reads if r.strip()]))
    return steps


@needs_mpi
def test_overlapped_buckets_start_during_the_backward_pass_and_are_waited_for_at_the_updates():
    dist.init()
    # gradients of w1 (6x8) b1 w2 (8x8) b2 w3 (8x3) b3; bucketed from the last: [b3 w3 b2] [w2] [b1] [w1]
    sess, train, feed, _ = _mlp_step(overlap=True, threshold=(8 * 3 + 3 + 8) * 4)
    steps = _listing(sess, train, feed)
    kinds = [s[0] for s in steps]
    starts = [i for i, k in enumerate(kinds) if k == "DistAllreduceStart"]
    waits = [i for i, k in enumerate(kinds) if k == "DistAllreduceWait"]
    assert len(starts) == len(waits) == 4, kinds
    made_by = {w: i for i, s in enumerate(steps) for w in s[2]}
    backward = [i for i, s in enumerate(steps) if s[1].startswith("gradients/")]
    first_layer_gemm = max(i for i in backward if kinds[i] == "MatMul")  # the last backward GEMM: dL/dw1
    for i in starts:  # each start right after the last step making its gradients
        assert made_by and i == max(made_by[r] for r in steps[i][3]) + 1, steps[i]
    assert max(starts[:3]) < first_layer_gemm < starts[3]  # three of four overlap with dL/dw1's GEMM
    assert [len(steps[i][3]) for i in starts] == [3, 1, 1, 1]  # [b3 w3 b2] is ready first
    for i in waits:  # after every backward step, each just before the first step reading what it waited for
        assert i > max(backward)
        readers = [k for k, s in enumerate(steps) if set(s[3]) & set(steps[i][2])]
        assert readers and min(readers) == i + 1, (steps[i], readers)


@needs_mpi
@pytest.mark.parametrize("optimizer", ["GradientDescent", "Momentum", "Adam"])
def test_a_job_of_one_rank_trains_alike_overlapped_blocking_and_without_allreduce(optimizer):
    dist.init()
    make = {"GradientDescent": lambda: tf.train.GradientDescentOptimizer(0.3),
            "Momentum": lambda: tf.train.MomentumOptimizer(0.1, 0.9), "Adam": lambda: tf.train.AdamOptimizer(0.05)}
    results = []
    for overlap in (True, False, None):
        sess, train, feed, variables = _mlp_step(overlap, threshold=64, optimizer=make[optimizer])
        for _ in range(3):
            sess.run(train, feed)
        results.append(sess.run(variables))
    for got in results[:2]:
        for a, b in zip(got, results[2]):
            np.testing.assert_array_equal(a, b)
    fresh, _, _, variables = _mlp_step(None, 0)
    assert not np.allclose(results[2][0], fresh.run(variables[0]))  # training moved w1


def test_the_schedule_pass_moves_starts_up_and_waits_down_only_past_steps_they_do_not_depend_on():
    from nnplug import dtypes
    from nnplug.compiler.ir import Step, Value
    from nnplug.compiler.schedule import schedule_steps
    spec = object()  # any spec: the pass reads only the op type's OpDef

    def val(kind="temp", index=None):
        return Value((2,), dtypes.float32, kind, index=index)

    def step(op, ins, outs, name):
        return Step(op, None, ins, outs, name, spec=spec)

    var, g1, g2, t, u, ticket, reduced = val("var", 0), val(), val(), val(), val(), val(), val()
    steps = [step("MatMul", [var], [g1], "grad1"),
             step("Mul", [g1], [t], "backward"),
             step("Mul", [t], [g2], "grad2"),
             step("DistAllreduceStart", [g1], [ticket], "start"),
             step("Mul", [t], [u], "more backward"),
             step("DistAllreduceWait", [ticket], [reduced], "wait"),
             step("Sub", [u], [val()], "update 1"),
             step("Sub", [reduced], [val()], "update 2")]
    names = [s.name for s in schedule_steps(steps)]
    assert names == ["grad1", "start", "backward", "grad2", "more backward", "update 1", "wait", "update 2"]
    # a start stays after a store into a variable it reads, and after any other host op (collective order)
    stored = Step("Assign", None, [g2], [var], "store", store=0)
    blocking = step("DistAllreduce", [g2], [val()], "blocking allreduce")
    for barrier in (stored, blocking):
        moved = schedule_steps([steps[1], steps[2], barrier, step("DistAllreduceStart", [var], [ticket], "start")])
        assert [s.name for s in moved][-2:] == [barrier.name, "start"]
    # ... and every step stays put where no op asks to move
    plain = steps[:3] + steps[4:5]
    assert schedule_steps(plain) is plain


@needs_mpi
def test_an_allreduce_left_in_flight_is_finished_before_its_buffers_are_reused():
    """A step that fails between a bucket's start and its wait leaves the allreduce in flight: the next
    start in the same buffers finishes it first, and the old ticket is no longer valid."""
    dist.init()
    workspace = collectives.Workspace()
    parts = [np.ones(3, np.float32), np.full((2, 2), 2.0, np.float32)]
    collectives.start_allreduce(parts, op=dist.Sum, workspace=workspace, check=False)  # never finished
    flight = collectives.start_allreduce([p * 3 for p in parts], op=dist.Sum, workspace=workspace, check=False)
    for got, p in zip(collectives.finish_allreduce(flight), parts):
        np.testing.assert_array_equal(got, p * 3)
    assert workspace.in_flight is None
    from nnplug.distributed import ops
    with pytest.raises(dist.DistributedError, match="allreduce 'x': no allreduce is in flight for ticket 12345"):
        ops._TICKETS.take(12345, "allreduce 'x'")


def test_allreduces_go_through_shared_memory_only_when_every_rank_is_on_this_machine(monkeypatch):
    from nnplug.distributed import shared
    monkeypatch.delenv(shared.ENV, raising=False)
    job = SimpleNamespace(size=4, local_size=4)
    assert shared.usable(job)
    assert not shared.usable(SimpleNamespace(size=4, local_size=2))  # two machines: MPI's allreduce
    assert not shared.usable(SimpleNamespace(size=1, local_size=1))  # nothing to reduce
    monkeypatch.setenv(shared.ENV, "0")
    assert not shared.usable(job)
