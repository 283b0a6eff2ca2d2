"""The record/replay state machine (nnplug/replay.py) that the CUDA graph and OpenCL runners share, on the CPU:
a NumPy backend whose "capture" logs every kernel call of one run and whose replay calls them again into the
recorded buffers (what a CUDA graph does), checked against the plain numpy backend, bit for bit."""
import contextlib

import numpy as np
import pytest

import nnplug as tf
from nnplug import plugins
from nnplug.backend import IDENTITY
from nnplug.hookspecs import hookimpl
from nnplug.replay import MAX_RECORDINGS, WARMUP, NotRecordable, RecordReplayRunner, rebound_slots
from nnplug_numpy.backend import NumpyBackend


def _as_buffers(value):
    """Kernel results as arrays a replay can write into (NumPy hands out immutable scalars for 0-d)."""
    if isinstance(value, tuple):
        return tuple(_as_buffers(v) for v in value)
    return np.array(value) if isinstance(value, np.generic) else value


def _write(recorded, value):
    if isinstance(recorded, tuple):
        for r, v in zip(recorded, value):
            _write(r, v)
    elif value is not recorded:
        np.copyto(recorded, value)


class LoggingRunner(RecordReplayRunner):
    """Records a run as the list of its kernel calls; a replay repeats them, writing every result into the
    buffer the recorded call produced, and copies rebound variables back, like a captured CUDA graph."""

    def __init__(self, backend, plan):
        super().__init__(backend, plan)
        self.replays, self.forgotten, self.log = 0, 0, None

    def record(self, V, feeds):
        self.static = [np.array(a) for a in feeds]
        before, self.log = list(V), []
        with self.backend.logging_into(self.log):
            self.out = out = self.fn(V, *self.static)
        try:
            rebound = rebound_slots(V, before, out)
        except NotRecordable as e:
            raise NotRecordable(e.reason, out) from None
        for slot in rebound:
            np.copyto(before[slot], V[slot])
            self.log.append((np.copyto, (before[slot], V[slot]), {}, None))
            V[slot] = before[slot]
        return out, rebound

    def replay(self, feeds):
        self.replays += 1
        for buf, a in zip(self.static, feeds):
            np.copyto(buf, a)
        for fn, args, kw, result in self.log:
            value = fn(*args, **kw)
            if result is not None:
                _write(result, value)
        return self.out

    def forget(self):
        self.forgotten += 1
        self.log = None


class CapturingNumpy(NumpyBackend):
    """NumPy with a recording plan runner. Fetches are always copied, as from a device."""

    name = "capturing-numpy"
    aliases = ()
    recording = None

    def kernel(self, spec):
        k = super().kernel(spec)
        if k is IDENTITY:
            return k

        def logged(*args, **kw):
            out = k(*args, **kw)
            if self.recording is not None:
                out = _as_buffers(out)
                self.recording.append((k, args, kw, out))
            return out
        return logged

    @contextlib.contextmanager
    def logging_into(self, log):
        self.recording = log
        try:
            yield
        finally:
            self.recording = None

    def plan_runner(self, plan):
        return LoggingRunner(self, plan)

    def to_host(self, value, persistent=False):
        return np.array(value)


class _Plugin:
    @staticmethod
    @hookimpl
    def nnplug_backends():
        return [CapturingNumpy]


@pytest.fixture(scope="module")
def capturing():
    name = plugins.register_plugin(_Plugin, name="test-capturing-numpy")
    yield CapturingNumpy.name
    plugins.unregister_plugin(name)


def _model(rebind=False, dropout=False):
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        x = tf.placeholder(tf.float32, (None, 6), name="x")
        y = tf.placeholder(tf.int32, (None,), name="y")
        h = tf.layers.dense(tf.nn.dropout(x, rate=0.5, seed=2) if dropout else x, 8, activation=tf.tanh)
        logits = tf.layers.dense(h, 3)
        loss = tf.losses.softmax_cross_entropy(tf.one_hot(y, 3), logits)
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        if rebind:  # assigned a fresh product each step: the variable is rebound, not updated in place
            s = tf.Variable(np.zeros((6, 6), np.float32), name="second_moment")
            with tf.control_dependencies([train]):
                train = tf.group(train, tf.assign(s, tf.matmul(x, x, transpose_a=True)))
        init = tf.global_variables_initializer()
    return g, x, y, loss, train, init


def _train(backend, steps=12, rows=10, between=None, **model):
    """Losses, final weights and the training steps' runners (short batch, full batch) of `steps` steps;
    every third batch, the first included, is short."""
    g, x, y, loss, train, init = _model(**model)
    rng = np.random.default_rng(0)
    losses = []
    with tf.Session(graph=g, backend=backend) as s:
        s.run(init)
        weights = g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
        for i in range(steps):
            n = rows if i % 3 else rows - 3
            feed = {x: rng.standard_normal((n, 6)).astype(np.float32), y: rng.integers(0, 3, n).astype(np.int32)}
            losses.append(s.run([train, loss], feed)[1])
            if between is not None:
                between(i, s, weights, init)
        runners = [p.run for p in s._plans.values() if p.has_assign and p.var_reads and "f1" in p.source]
        return np.array(losses), s.run(weights), runners


def _same(got, want):
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_steps_warm_up_then_replay_with_eager_numbers(capturing):
    want_losses, want, _ = _train("numpy")
    losses, got, runners = _train(capturing)
    short, full = runners  # a plan and a runner each; 8 of the 12 steps have full batches
    assert short.why is None and short.recordings == 1 and short.replays == 4 - WARMUP - 1
    assert full.why is None and full.eager_runs == WARMUP and full.recordings == 1
    assert full.replays == 8 - WARMUP - 1  # the recorded run was itself a step
    np.testing.assert_array_equal(losses, want_losses)
    _same(got, want)


def test_rebound_variables_stay_in_their_own_buffers(capturing):
    buffers = []

    def second_moment_buffer(i, s, weights, init):
        var = next(w for w in weights if w.name == "second_moment:0")
        buffers.append(s._values[s._slots[var]])

    want_losses, want, _ = _train("numpy", rebind=True)
    losses, got, runners = _train(capturing, rebind=True, between=second_moment_buffer)
    assert all(r.recordings == 1 and r.why is None for r in runners)
    assert buffers[-1] is buffers[-2] is buffers[-4]  # replays of both plans write the one buffer
    np.testing.assert_array_equal(losses, want_losses)
    _same(got, want)


@pytest.mark.parametrize("how", ["load_variable", "initializer"])
def test_a_variable_rebound_elsewhere_makes_the_step_record_again(capturing, how):
    def rebind(i, s, weights, init):
        if i in (5, 11):  # after the full batches' runner replayed: it warms up, records and replays again
            if how == "initializer":
                s.run(init)
            else:
                s.load_variable(weights[0], s.variable_value(weights[0]) * 0.5)

    want_losses, want, _ = _train("numpy", steps=18, between=rebind)
    losses, got, runners = _train(capturing, steps=18, between=rebind)
    full = runners[1]
    assert full.recordings == 3 and full.forgotten == 2 and full.replays == 3 and full.why is None
    np.testing.assert_array_equal(losses, want_losses)
    _same(got, want)


def test_a_step_whose_variables_keep_moving_gives_up_and_stays_eager(capturing):
    def reload_after_each_step(i, s, weights, init):
        s.load_variable(weights[0], s.variable_value(weights[0]))

    want_losses, want, _ = _train("numpy", steps=45, between=reload_after_each_step)
    losses, got, runners = _train(capturing, steps=45, between=reload_after_each_step)
    for runner, calls in zip(runners, (15, 30)):  # 4 x (2 warm-up runs + 1 recorded), then eager
        assert runner.recordings == MAX_RECORDINGS and runner.replays == 0
        assert runner.why == f"recorded {MAX_RECORDINGS} times, and its variables keep being rebound by other runs"
        assert runner.eager_runs == calls - MAX_RECORDINGS * (WARMUP + 1)  # counted since the last rebind
    np.testing.assert_array_equal(losses, want_losses)
    _same(got, want)


def test_steps_with_an_obstacle_stay_eager(capturing):
    want_losses, want, _ = _train("numpy", dropout=True)
    losses, got, runners = _train(capturing, dropout=True)
    assert runners and all("random" in r.why and r.recordings == r.replays == 0 for r in runners)
    np.testing.assert_array_equal(losses, want_losses)
    _same(got, want)
    g, x, y, loss, train, init = _model()
    with tf.Session(graph=g, backend=capturing) as s:
        s.run(init)
        feed = {x: np.ones((4, 6), np.float32), y: np.zeros(4, np.int32)}
        first = [s.run(loss, feed) for _ in range(5)]
        (runner,) = [p.run for p in s._plans.values() if not p.has_assign]
    assert "only steps that update variables" in runner.why and runner.replays == 0 and runner.eager_runs == 5
    assert len(set(first)) == 1


class _Plan:
    def __init__(self, fn, obstacle=None):
        self.fn, self.var_reads, self.obstacle = fn, [0], obstacle

    def replay_obstacle(self):
        return self.obstacle


class _Host:
    to_device = staticmethod(np.asarray)


def test_a_recording_that_fails_after_running_the_step_does_not_run_it_twice():
    calls = []

    class Refusing(RecordReplayRunner):
        def record(self, V, feeds):
            out = self.fn(V, *feeds)
            raise NotRecordable("the driver refused", out)

    runner = Refusing(_Host(), _Plan(lambda V, a: calls.append(a) or (a * 2,)))
    results = [runner([None], [np.float32(i)])[0] for i in range(5)]
    assert results == [0, 2, 4, 6, 8] and len(calls) == 5
    assert runner.why == "the driver refused" and runner.eager_runs == 4 and runner.recordings == 0


def test_a_backend_switch_keeps_every_step_eager():
    runner = RecordReplayRunner(_Host(), _Plan(lambda V, a: (a + 1,)), off="switched off")
    assert [runner([None], [np.int64(i)])[0] for i in range(4)] == [1, 2, 3, 4]
    assert runner.why == "switched off" and runner.eager_runs == 4


def test_rebound_slots_names_what_cannot_be_copied_back():
    a, b, c = np.zeros(2), np.zeros(2), np.zeros(2)
    assert rebound_slots([a, c], [a, b], (c,)) == [1]  # fetching the new value is fine
    with pytest.raises(NotRecordable, match="variable slot 1 is initialised by this step"):
        rebound_slots([a, c], [a, None], ())
    with pytest.raises(NotRecordable, match="fetches a variable it also updates"):
        rebound_slots([a, c], [a, b], (b,))


def test_cuda_graph_runner_imports_without_cupy_and_shares_the_state_machine(monkeypatch):
    from nnplug_cupy import graphs
    assert issubclass(graphs.GraphRunner, RecordReplayRunner)

    class NoCupy(_Host):
        cupy = None

    monkeypatch.setenv("NNPLUG_CUDA_GRAPHS", "0")
    runner = graphs.GraphRunner(NoCupy(), _Plan(lambda V, a: (a * 3,)))
    assert [runner([None], [np.int64(i)])[0] for i in range(4)] == [0, 3, 6, 9]
    assert runner.why == "NNPLUG_CUDA_GRAPHS is off" and runner.graph is None and runner.captures == 0
    monkeypatch.setenv("NNPLUG_CUDA_GRAPHS", "1")
    assert graphs.GraphRunner(NoCupy(), _Plan(None, obstacle="random")).why == "random"
