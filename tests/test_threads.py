"""nnplug.threads: free cores read from /proc/stat (written here by hand), BLAS threads chosen per GEMM size
and switched only when the choice changes, the settings checked, and the numpy backend's MatMul running its
small GEMMs on one BLAS thread (as threadpoolctl reports) with results equal to float64 NumPy."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import threads

STAT = """cpu  {u} 0 0 {i} 0 0 0 0 0 0
cpu0 {u0} 0 0 {i0} 0 0 0 0 0 0
cpu1 {u1} 0 0 {i1} 0 0 0 0 0 0
intr 12345 0 0
ctxt 999
procs_running {running}
procs_blocked 0
"""


class Stat:
    """A /proc/stat file in tmp_path, rewritten per test step; a clock and own-CPU-time the test moves."""

    def __init__(self, path):
        self.path, self.now, self.own = path, 0.0, 0.0

    def write(self, busy0, idle0, busy1, idle1, running=1):
        self.path.write_text(STAT.format(u=busy0 + busy1, i=idle0 + idle1, u0=busy0, i0=idle0, u1=busy1, i1=idle1,
                                         running=running))

    def cores(self, cpus=(0, 1)):
        return threads.FreeCores(cpus, stat_path=str(self.path), interval=0.25, clock=lambda: self.now,
                                 own_seconds=lambda: self.own)


@pytest.fixture
def stat(tmp_path):
    return Stat(tmp_path / "stat")


def test_first_reading_counts_runnable_tasks_other_than_the_caller(stat):
    stat.write(10, 10, 10, 10, running=1)
    assert stat.cores().free() == 2
    stat.write(10, 10, 10, 10, running=2)  # one other task runnable: one core taken
    assert stat.cores().free() == 1
    stat.write(10, 10, 10, 10, running=5)
    assert stat.cores().free() == 1  # never below one


def test_busy_time_of_others_takes_cores_and_our_own_does_not(stat, monkeypatch):
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)  # 100 jiffies per second
    stat.write(1000, 1000, 1000, 1000)
    cores = stat.cores()
    assert cores.free() == 2
    # one second later: cpu0 fully busy, cpu1 idle, and none of it ours -> one core taken
    stat.now, stat.own = 1.0, 0.0
    stat.write(1100, 1000, 1000, 1100)
    assert cores.free() == 1
    # the next second: both busy, but this process ran 1.8 s of it -> others hold 0.2 cores: both free
    stat.now, stat.own = 2.0, 1.8
    stat.write(1200, 1000, 1100, 1100)
    assert cores.free() == 2
    # others at 0.4 of a core (>= BUSY_FRACTION) take it
    stat.now, stat.own = 3.0, 1.8
    stat.write(1240, 1060, 1100, 1200)
    assert cores.free() == 1


def test_readings_are_cached_for_the_interval(stat, monkeypatch):
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)
    stat.write(10, 10, 10, 10)
    cores = stat.cores()
    assert cores.free() == 2
    stat.now = 0.1
    stat.write(40, 10, 40, 10)  # both cores busy by others, but not read before 0.25 s
    assert cores.free() == 2
    stat.now = 0.3
    assert cores.free() == 1


def test_only_the_cores_of_the_affinity_mask_count(stat):
    stat.write(500, 10, 20, 300)
    cores = stat.cores(cpus=[1])
    assert cores.free() == 1
    assert cores.last[:2] == (20, 320)  # cpu1's busy and total jiffies; cpu0 (not ours to use) left out


def test_an_unreadable_stat_file_leaves_every_core_free(tmp_path):
    cores = threads.FreeCores([0, 1, 2], stat_path=str(tmp_path / "missing"))
    assert cores.free() == 3 and not cores.readable
    (tmp_path / "other").write_text("cpu7 1 2 3 4\n")
    assert threads.FreeCores([0], stat_path=str(tmp_path / "other")).free() == 1


class FakeBlas:
    """A threadpoolctl LibController stand-in that records every thread count set."""

    def __init__(self, threads_now):
        self.now, self.calls = threads_now, []

    def get_num_threads(self):
        return self.now

    def set_num_threads(self, n):
        self.now = n
        self.calls.append(n)


class FixedCores:
    def __init__(self, n):
        self.n = n

    def free(self):
        return self.n


def test_small_gemms_run_on_one_thread_large_ones_on_the_free_cores():
    lib, cores = FakeBlas(4), FixedCores(3)
    policy = threads.BlasThreads([lib], cores, split_flops=1000)
    small = policy.wrap(lambda a, b, out=None: ("small", a, b), 999)
    large = policy.wrap(lambda a, b, out=None: ("large", out), 1000)
    assert small(1, 2) == ("small", 1, 2) and lib.calls == [1]
    assert small(1, 2) and lib.calls == [1]  # unchanged choice: nothing set
    assert large(1, 2, out=7) == ("large", 7) and lib.calls == [1, 3]
    cores.n = 8  # more free cores than the library had at the start: the start's count is the ceiling
    large(1, 2)
    assert lib.calls == [1, 3, 4] and policy.switches == 3
    large(1, 2)
    assert lib.calls == [1, 3, 4]


def test_a_count_set_by_someone_else_becomes_the_ceiling():
    lib = FakeBlas(4)
    policy = threads.BlasThreads([lib], FixedCores(4), split_flops=10)
    small, large = policy.wrap(np.matmul, 1), policy.wrap(np.matmul, 100)
    small(np.eye(2), np.eye(2))
    lib.now = 2  # e.g. the distributed runtime's threadpool_limits
    large(np.eye(2), np.eye(2))
    assert lib.calls == [1, 2] and policy.ceiling == 2


def test_a_fixed_count_applies_to_every_gemm():
    lib = FakeBlas(2)
    policy = threads.BlasThreads([lib], FixedCores(1), split_flops=10, fixed=3)
    policy.wrap(np.matmul, 1)(np.eye(2), np.eye(2))
    policy.wrap(np.matmul, 10 ** 9)(np.eye(2), np.eye(2))
    assert lib.calls == [3]


def test_without_a_blas_library_kernels_are_left_as_they_are():
    gemm = np.matmul
    assert threads.BlasThreads([], FixedCores(2)).wrap(gemm, 10 ** 9) is gemm


def test_gemm_flops():
    assert threads.gemm_flops((64, 784), (64, 50)) == 2 * 64 * 784 * 50
    assert threads.gemm_flops((784, 64), (64, 50), transpose_a=True) == 2 * 64 * 784 * 50
    assert threads.gemm_flops((64, 784), (784, 50), transpose_a=True) == 2 * 64 * 784 * 50  # x.T @ grad
    assert threads.gemm_flops((3, 5, 7), (3, 5, 2)) == 2 * 3 * 5 * 2 * 7


def test_settings_are_checked_and_named(monkeypatch):
    monkeypatch.setenv(threads.ENV_THREADS, "two")
    with pytest.raises(ValueError, match="NNPLUG_BLAS_THREADS='two': expected 'auto' or a positive number"):
        threads._setting(threads.ENV_THREADS, int, None)
    monkeypatch.setenv(threads.ENV_THREADS, "0")
    with pytest.raises(ValueError, match="NNPLUG_BLAS_THREADS='0'"):
        threads._setting(threads.ENV_THREADS, int, None)
    monkeypatch.setenv(threads.ENV_THREADS, "auto")
    assert threads._setting(threads.ENV_THREADS, int, None) is None
    monkeypatch.setenv(threads.ENV_SPLIT, "2.5e6")
    assert threads._setting(threads.ENV_SPLIT, float, 1.0) == 2.5e6


def test_numpy_backend_matmul_runs_small_gemms_on_one_blas_thread(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libraries = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
    if not libraries:
        pytest.skip("no BLAS library that threadpoolctl can control")
    before = [lib.get_num_threads() for lib in libraries]
    policy = threads.BlasThreads(libraries, FixedCores(2), split_flops=1e6)
    monkeypatch.setattr(threads, "_POLICY", [policy])
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((8, 16), dtype=np.float32), rng.standard_normal((16, 4), dtype=np.float32)
    big_a, big_b = rng.standard_normal((64, 128), dtype=np.float32), rng.standard_normal((64, 96), dtype=np.float32)
    try:
        g = tf.Graph()
        with g.as_default():
            x, y = tf.placeholder(tf.float32, (None, 16)), tf.placeholder(tf.float32, (None, 128))
            small = tf.matmul(x, tf.constant(b))  # 2*8*16*4 FLOPs: one thread
            large = tf.matmul(tf.constant(big_b), y, transpose_a=True)  # 2*96*64*128 = 1.6 MFLOP: the free cores
        with tf.Session(graph=g, backend="numpy") as sess:
            got = sess.run(small, {x: a})
            assert [lib.get_num_threads() for lib in libraries] == [1] * len(libraries)
            got_large = sess.run(large, {y: big_a})
            assert [lib.get_num_threads() for lib in libraries] == [min(2, policy.ceiling)] * len(libraries)
        np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got_large, big_b.T.astype(np.float64) @ big_a, rtol=1e-4, atol=1e-4)
    finally:
        for lib, n in zip(libraries, before):
            lib.set_num_threads(n)


def test_the_crossover_measurement_times_each_gemm_both_ways_and_restores_the_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libraries = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
    if not libraries:
        pytest.skip("no BLAS library that threadpoolctl can control")
    before = max(lib.get_num_threads() for lib in libraries)
    rows, split, most = threads.measure_crossover(batches=(8,), widths=(4, 16), repeats=2)
    assert most == before and max(lib.get_num_threads() for lib in libraries) == before
    assert [(f, b, w) for f, b, w, _, _ in rows] == [(2 * 8 * 4 * 4, 8, 4), (2 * 8 * 16 * 16, 8, 16)]
    assert all(one > 0 and many > 0 for *_, one, many in rows)
    assert split is None or split in {f for f, *_ in rows}
