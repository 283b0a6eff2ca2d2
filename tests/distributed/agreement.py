"""Run under mpiexec by tests/test_distributed_mpi.py: N ranks check data-parallel training against one
process training on the whole batch, broadcasts, Keras fit, and the errors for ranks that disagree.

Every rank prints `PASS <case>` for each case it passed; a failed check raises (and the excepthook then
aborts the job with the rank named), so the test reads the exit status and the PASS lines.
"""
import os
import sys
import time

import numpy as np

import nnplug as tf
import nnplug.distributed as dist
from nnplug import keras

N_IN, N_HIDDEN, N_OUT = 6, 8, 3
STEPS = 4
RTOL, ATOL = 1e-5, 1e-6


def params(seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, (N_IN, N_HIDDEN)).astype(np.float32), rng.normal(0, 0.1, N_HIDDEN).astype(np.float32),
            rng.normal(0, 0.5, (N_HIDDEN, N_OUT)).astype(np.float32), rng.normal(0, 0.1, N_OUT).astype(np.float32)]


def batches(global_batch, steps, seed=7):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(global_batch, N_IN)).astype(np.float32),
             rng.integers(0, N_OUT, global_batch).astype(np.int32)) for _ in range(steps)]


OPTIMIZERS = {
    "GradientDescent": lambda: tf.train.GradientDescentOptimizer(0.5),
    "Momentum": lambda: tf.train.MomentumOptimizer(0.3, 0.9),
    "Adam": lambda: tf.train.AdamOptimizer(0.05),
}


def train(make_opt, data, distributed, global_batch, op=dist.Average, **dist_options):
    """Weights after training the MLP on `data`: the whole batches in one process, or this rank's shard
    of each with DistributedOptimizer (given `dist_options`). With op=Sum the loss is the shard's summed
    loss over the global batch size, so uneven shards add up to the full batch's mean."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (None, N_IN))
        y = tf.placeholder(tf.int32, (None,))
        w1, b1, w2, b2 = [tf.Variable(p) for p in params(seed=1)]
        logits = tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2) + b2
        per_sample = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf.reduce_sum(per_sample) / float(global_batch) if op == dist.Sum else tf.reduce_mean(per_sample)
        opt = make_opt()
        if distributed:
            opt = dist.DistributedOptimizer(opt, op=op, **dist_options)
        step = opt.minimize(loss)
        init = tf.global_variables_initializer()
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        for bx, by in data:
            if distributed:
                bx, by = dist.shard(bx, by)
            sess.run(step, {x: bx, y: by})
        return [sess.run(v) for v in (w1, b1, w2, b2)]


def same_everywhere(arrays, what):
    """Each array equals rank 0's on every rank (gathered and compared here)."""
    for i, a in enumerate(arrays):
        gathered = dist.allgather(np.asarray(a)[None], name=f"{what}[{i}]")
        for r in range(1, dist.size()):
            np.testing.assert_allclose(gathered[r], gathered[0], rtol=RTOL, atol=ATOL,
                                       err_msg=f"{what}: array {i} on rank {r} differs from rank 0's")


def say(line):
    """One write per line, so mpiexec does not split it while merging the ranks' output."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(name):
    say(f"PASS {name} rank {dist.rank()}")


def case_optimizers(uneven):
    n = dist.size()
    global_batch = 4 * n + (1 if uneven else 0)
    data = batches(global_batch, STEPS)
    op = dist.Sum if uneven else dist.Average
    for name, make_opt in OPTIMIZERS.items():
        want = train(make_opt, data, distributed=False, global_batch=global_batch)
        got = train(make_opt, data, distributed=True, global_batch=global_batch, op=op)
        for w, g, label in zip(want, got, ("w1", "b1", "w2", "b2")):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{name} {label} vs one process")
        assert not np.allclose(want[0], params(1)[0]), f"{name}: training did not move the weights"
        same_everywhere(got, name)
        check(f"{name}{' uneven' if uneven else ''}")


def one_step_stats(**dist_options):
    dist.STATS.reset()
    train(OPTIMIZERS["GradientDescent"], batches(4 * dist.size(), 1), True, 4 * dist.size(), **dist_options)
    return dist.stats()


def case_fusion():
    """One fused buffer by default; a small threshold splits the gradients as the bucket rule says: the
    overlapped allreduce fills its buckets from the last layer's gradients, the blocking one from the first."""
    total = sum(p.nbytes for p in params(1))  # w1 192 bytes, b1 32, w2 96, b2 12
    for overlap in (True, False):
        stats = one_step_stats(overlap=overlap)
        assert (stats["calls"], stats["buffers"], stats["bytes"]) == (1, 1, total), stats
    os.environ["NNPLUG_FUSION_THRESHOLD"] = str((N_IN + 1) * N_HIDDEN * 4)  # w1 + b1 fill one buffer
    try:
        overlapped, blocking = one_step_stats(overlap=True), one_step_stats(overlap=False)
    finally:
        del os.environ["NNPLUG_FUSION_THRESHOLD"]
    # buckets [b2 w2 b1] (140 bytes) and [w1] (192): one allreduce each, w1's waited for first by its update
    assert (overlapped["calls"], overlapped["buffers"], overlapped["bytes"]) == (2, 2, total), overlapped
    assert overlapped["last_bytes"] == 140, overlapped
    # one allreduce of the buffers [w1 b1] and [w2 b2]
    assert (blocking["calls"], blocking["buffers"], blocking["bytes"]) == (1, 2, total), blocking
    check("fusion")


def case_overlap():
    """The allreduce overlapped with the backward pass (three buckets here) trains to the weights the
    blocking allreduce gives, with every optimizer, through MPI's allreduce and through shared memory."""
    from nnplug.distributed import runtime, shared
    global_batch = 4 * dist.size()
    data = batches(global_batch, STEPS)
    os.environ["NNPLUG_FUSION_THRESHOLD"] = str((N_HIDDEN + 1) * N_OUT * 4)  # buckets [b2 w2] [b1] [w1]
    try:
        for name, make_opt in OPTIMIZERS.items():
            os.environ[shared.ENV] = "0"  # MPI's allreduce
            blocking = train(make_opt, data, True, global_batch, overlap=False)
            runs = {"MPI": train(make_opt, data, True, global_batch, overlap=True)}
            del os.environ[shared.ENV]
            dist.STATS.reset()
            runs["shared memory"] = train(make_opt, data, True, global_batch, overlap=True)
            assert dist.stats()["buffers"] == 3 * STEPS, dist.stats()
            made = {(size, dtype) for _, size, dtype in shared.pool(runtime.job()).windows}  # the buckets' windows
            sizes = (N_HIDDEN * N_OUT + N_OUT, N_HIDDEN, N_IN * N_HIDDEN)
            assert all((n, np.dtype(np.float32)) in made for n in sizes), made
            for how, overlapped in runs.items():
                for w, g, label in zip(blocking, overlapped, ("w1", "b1", "w2", "b2")):
                    np.testing.assert_allclose(g, w, rtol=0, atol=1e-6, err_msg=f"{name} {label}: overlapped ({how}) "
                                                                                 f"vs blocking")
                same_everywhere(overlapped, f"{name} overlapped ({how})")
            check(f"overlap {name}")
    finally:
        os.environ.pop(shared.ENV, None)
        del os.environ["NNPLUG_FUSION_THRESHOLD"]


def case_shared_memory_room():
    """Where /dev/shm lacks room on one rank, every rank leaves that allreduce to MPI (and trains alike)."""
    from types import SimpleNamespace

    from nnplug.distributed import runtime, shared
    data = batches(4 * dist.size(), 2)
    want = train(OPTIMIZERS["Momentum"], data, True, 4 * dist.size(), fusion_threshold=1)  # one window per tensor
    real_statvfs = shared.os.statvfs
    if dist.rank() == dist.size() - 1:
        shared.os.statvfs = lambda path: SimpleNamespace(f_bavail=0, f_frsize=4096)
    pool = shared.pool(runtime.job())
    made, pool.windows = pool.windows, {}  # as if no window had been made yet
    try:
        got = train(OPTIMIZERS["Momentum"], data, True, 4 * dist.size(), fusion_threshold=1)
        refused = {(size, dtype) for _, size, dtype in pool.refused}
        assert not pool.windows and (N_IN * N_HIDDEN, np.dtype(np.float32)) in refused, (pool.windows, refused)
    finally:
        shared.os.statvfs = real_statvfs
        pool.windows = made
        pool.refused.clear()
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
    check("shared memory room")


def case_progress():
    """A posted allreduce completes while this thread makes no MPI call (the progress thread polls it)."""
    from nnplug.distributed import collectives
    n = dist.size()
    flight = collectives.start_allreduce([np.full(1000, dist.rank() + 1.0, np.float32)], op=dist.Sum, check=False)
    deadline = time.monotonic() + 30
    while not flight.pending.done and time.monotonic() < deadline:
        time.sleep(0.001)
    assert flight.pending.done, "the posted allreduce did not complete in the background"
    np.testing.assert_array_equal(collectives.finish_allreduce(flight)[0], np.full(1000, n * (n + 1) / 2))
    check("progress")


def case_numpy_collectives():
    r, n = dist.rank(), dist.size()
    total = dist.allreduce(np.arange(5.0) * (r + 1), op=dist.Sum)
    np.testing.assert_array_equal(total, np.arange(5.0) * n * (n + 1) / 2)
    mean = dist.allreduce(np.float32(r))
    assert float(mean) == (n - 1) / 2, mean
    assert int(dist.allreduce(np.int64(r), op=dist.Max)) == n - 1
    ragged = dist.allgather(np.full((r + 1, 2), r, np.int32))
    np.testing.assert_array_equal(ragged, np.concatenate([np.full((k + 1, 2), k) for k in range(n)]))
    np.testing.assert_array_equal(dist.broadcast(np.array([r, 10 + r]), root_rank=n - 1), [n - 1, 10 + n - 1])
    check("numpy collectives")


def case_graph_gradients():
    """d/dx of sum over ranks of sum(allreduce_mean(x)^2) and of an allgather's output."""
    r, n = dist.rank(), dist.size()
    with tf.Graph().as_default():
        x = tf.Variable(np.full(3, r + 1.0, np.float32))
        s = dist.allreduce(x)
        g = tf.gradients(tf.reduce_sum(s * s), x)[0]
        gathered = dist.allgather(x * 1.0)
        weights = tf.constant(np.arange(3 * n, dtype=np.float32))
        gg = tf.gradients(tf.reduce_sum(gathered * weights), x)[0]
        b = dist.broadcast(x * 1.0, root_rank=0)
        gb = tf.gradients(tf.reduce_sum(b * b), x)[0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            s_v, g_v, gat_v, gg_v, gb_v = sess.run([s, g, gathered, gg, gb])
    mean = (n + 1) / 2
    np.testing.assert_allclose(s_v, np.full(3, mean))
    np.testing.assert_allclose(g_v, np.full(3, 2 * mean))  # each rank's 2s, averaged
    np.testing.assert_allclose(gat_v, np.repeat(np.arange(1.0, n + 1), 3))
    np.testing.assert_allclose(gg_v, n * np.arange(3 * r, 3 * r + 3))  # every rank's loss sees these weights
    np.testing.assert_allclose(gb_v, np.full(3, 2.0 * n) if r == 0 else np.zeros(3))  # the root gets all n
    check("graph gradients")


def case_shared_results():
    """Through shared memory the gradients are computed in the allreduce's window (no byte is packed),
    and the reduced values, views of the window's result, are copied before they are fetched or stored:
    what a step fetched or assigned keeps its value after the next step."""
    r, n = dist.rank(), dist.size()
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (4,))
        kept = tf.Variable(np.zeros(4, np.float32))
        mean = dist.allreduce(x * 2.0, name="doubled")  # the Mul writes straight into the window
        keep = kept.assign(mean)
        with tf.Session() as sess:
            sess.run(kept.initializer)
            dist.STATS.reset()
            sess.run(keep, {x: np.full(4, r + 1.0, np.float32)})
            assert dist.stats()["packed"] == 0, dist.stats()
            first = sess.run(mean, {x: np.full(4, 3.0 * (r + 1), np.float32)})  # another plan, the same window
            second = sess.run(mean, {x: np.full(4, 10.0 * (r + 1), np.float32)})
            np.testing.assert_allclose(sess.run(kept), np.full(4, n + 1.0))  # the mean of 2 (r + 1) over the ranks
    np.testing.assert_allclose(first, np.full(4, 3.0 * (n + 1)))
    np.testing.assert_allclose(second, np.full(4, 10.0 * (n + 1)))
    # the training step: every gradient is computed in place, and training ends where one process does
    global_batch = 4 * n
    data = batches(global_batch, STEPS)
    want = train(OPTIMIZERS["Momentum"], data, False, global_batch)
    dist.STATS.reset()
    for overlap in (True, False):
        got = train(OPTIMIZERS["Momentum"], data, True, global_batch, overlap=overlap)
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    assert dist.stats()["calls"] == 2 * STEPS and dist.stats()["packed"] == 0, dist.stats()
    check("shared results")


def case_broadcast():
    r = dist.rank()
    with tf.Graph().as_default():
        tf.set_random_seed(100 + r)  # every rank draws different initial weights
        w = tf.Variable(tf.random_normal((4, 3)))
        step = tf.Variable(np.int64(r), trainable=False)
        hook = dist.BroadcastGlobalVariablesHook(0)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(w)
            hook.after_create_session(sess)
            after, step_after = sess.run([w, step])
    root = dist.broadcast(before, root_rank=0)
    np.testing.assert_array_equal(after, root)
    assert step_after == 0
    if r != 0:
        assert not np.allclose(before, root), "ranks drew the same initial weights; the test proves nothing"
    same_everywhere([after], "broadcast")
    check("broadcast")


def keras_model(seed):
    np.random.seed(seed)
    tf.set_random_seed(seed)
    model = keras.models.Sequential([keras.layers.Dense(8, input_dim=N_IN, activation="tanh"),
                                     keras.layers.Dense(N_OUT, activation="softmax")])
    return model


def case_keras():
    """Ranks seeded differently, broadcast at train begin, fit on their shards with per-rank batch 4:
    the same weights on every rank, and the weights of one process fitting the matching global batches."""
    import nnplug.distributed.keras as hvd
    r, n = dist.rank(), dist.size()
    per_rank, steps = 4, 3
    rng = np.random.default_rng(3)
    x = rng.normal(size=(per_rank * n * steps, N_IN)).astype(np.float32)
    y = keras.utils.to_categorical(rng.integers(0, N_OUT, len(x)), N_OUT)
    reference = keras_model(seed=11)
    start = reference.get_weights()
    model = keras_model(seed=11 + r)
    model.compile(optimizer=hvd.DistributedOptimizer(keras.optimizers.SGD(lr=0.2, momentum=0.9)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    if r == 0:
        model.set_weights(start)
    xs, ys = hvd.shard(x, y)
    mine, averaged = [], []
    history = model.fit(xs, ys, batch_size=per_rank, epochs=2, shuffle=False, verbose=hvd.verbose(0),
                        callbacks=[hvd.callbacks.BroadcastGlobalVariablesCallback(0),
                                   keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: mine.append(dict(logs))),
                                   hvd.callbacks.MetricAverageCallback(),
                                   keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: averaged.append(logs))])
    same_everywhere(model.get_weights(), "keras fit")
    for before, after in zip(mine, averaged):  # each rank's epoch metrics, then their mean on every rank
        for key in ("loss", "accuracy"):
            np.testing.assert_allclose(after[key], dist.allreduce(np.float64(before[key]), op=dist.Sum) / n)
        same_everywhere([after["loss"], after["accuracy"]], "MetricAverageCallback")
        assert len(set(dist.allgather(np.array([before["loss"]])))) == n, "the shards' losses should differ"
    # one process: global batch b is every rank's batch b, one after the other
    order = np.concatenate([np.arange(k * per_rank * steps + b * per_rank, k * per_rank * steps + (b + 1) * per_rank)
                            for b in range(steps) for k in range(n)])
    reference.compile(optimizer=keras.optimizers.SGD(lr=0.2, momentum=0.9), loss="categorical_crossentropy")
    reference.fit(x[order], y[order], batch_size=per_rank * n, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    assert len(history.history["loss"]) == 2
    check("keras fit")


def case_keras_warmup():
    import nnplug.distributed.keras as hvd
    n = dist.size()
    model = keras_model(seed=5)
    model.compile(optimizer=hvd.DistributedOptimizer(keras.optimizers.SGD(lr=0.1 * n)), loss="categorical_crossentropy")
    rates = []
    record = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: rates.append(model.optimizer.learning_rate))
    x = np.zeros((8, N_IN), np.float32)
    y = keras.utils.to_categorical(np.zeros(8), N_OUT)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False,
              callbacks=[hvd.callbacks.LearningRateWarmupCallback(warmup_epochs=2), record])
    lr = 0.1 * n
    want = [lr / n * (p * (n - 1) / 2 + 1) if p < 2 else lr for p in (0, 0.5, 1, 1.5, 2, 2.5)]
    np.testing.assert_allclose(rates, want)
    check("keras warmup")


def expect_mismatch(fn, *needles):
    try:
        fn()
    except dist.RankMismatchError as e:
        message = str(e)
        for needle in needles:
            assert needle in message, f"{needle!r} not in the error: {message}"
        return message
    raise AssertionError("ranks disagreed but no RankMismatchError was raised")


def case_mismatched_shapes():
    r = dist.rank()

    def run():
        with tf.Graph().as_default():
            w = tf.Variable(np.ones((3, 4 + (r == 1)), np.float32), name="odd")
            v = tf.Variable(np.ones(2, np.float32), name="even")
            loss = tf.reduce_sum(w * w) + tf.reduce_sum(v)
            step = dist.DistributedOptimizer(tf.train.GradientDescentOptimizer(0.1)).minimize(loss)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                sess.run(step)

    if dist.size() > 1:
        expect_mismatch(run, "tensor 'odd:0'", "rank 0 has shape (3, 4) float32", "rank 1 has (3, 5) float32")
        expect_mismatch(lambda: dist.allreduce(np.zeros(2 + r, np.float32), name="metric"),
                        "tensor 'metric'", "rank 0 has shape (2,)")
        from nnplug.distributed import shared
        if r == 1:  # one rank leaves shared memory: every rank learns it before any data moves
            os.environ[shared.ENV] = "0"

        def road():
            with tf.Graph().as_default(), tf.Session() as sess:
                sess.run(dist.allreduce(tf.constant([1.0]), name="road"))
        try:
            expect_mismatch(road, "allreduce 'road': ranks disagree: rank 0 passes shared_memory=True, rank 1 "
                                  "shared_memory=False")
        finally:
            os.environ.pop(shared.ENV, None)
    check("mismatched shapes")


def case_backend_mismatch():
    """Rank 1 runs its session on another backend: the first collective names both backends."""
    other = "arrayapi"
    from nnplug import plugins
    if dist.size() == 1 or not any(d["name"] == other and d["available"] for d in plugins.describe_backends()):
        say(f"SKIP backend mismatch: needs 2 ranks and the '{other}' backend")
        return
    r = dist.rank()

    def run():
        with tf.Graph().as_default():
            s = dist.allreduce(tf.constant([1.0, 2.0]))
            with tf.Session(backend=other if r == 1 else "numpy") as sess:
                sess.run(s)

    expect_mismatch(run, f"rank 1 runs backend '{other}' but rank 0 runs 'numpy'")
    check("backend mismatch")


def case_other_backend():
    """The host kernels on a backend without kernels of its own (arrays copied to and from the host)."""
    from nnplug import plugins
    available = {d["name"] for d in plugins.describe_backends() if d["available"]}
    if "arrayapi" not in available:
        say("SKIP other backend: the arrayapi plugin is not installed")
        return
    with tf.Graph().as_default():
        x = tf.Variable(np.full((2, 2), dist.rank() + 1.0, np.float32))
        total = dist.allreduce(x, op=dist.Sum)
        with tf.Session(backend="arrayapi") as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(total), np.full((2, 2), dist.size() * (dist.size() + 1) / 2))
    check("arrayapi backend")


CASES = {
    "optimizers": lambda: case_optimizers(uneven=False),
    "uneven": lambda: case_optimizers(uneven=True),
    "fusion": case_fusion,
    "progress": case_progress,
    "room": case_shared_memory_room,
    "overlap": case_overlap,
    "numpy": case_numpy_collectives,
    "gradients": case_graph_gradients,
    "shared": case_shared_results,
    "broadcast": case_broadcast,
    "keras": case_keras,
    "warmup": case_keras_warmup,
    "mismatch": case_mismatched_shapes,
    "backend": case_backend_mismatch,
    "arrayapi": case_other_backend,
}


if __name__ == "__main__":
    dist.init()
    for name in sys.argv[1:] or list(CASES):
        CASES[name]()
    say(f"DONE rank {dist.rank()} of {dist.size()}")
