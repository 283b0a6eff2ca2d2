"""The MPI job this process belongs to: who it is (rank, size, node-local rank), and how it waits.

One process per device, as Horovod runs (`mpiexec -n 4 python train.py`). Every collective is started
non-blocking and polled with a deadline (`NNPLUG_COLLECTIVE_TIMEOUT`, seconds), so a rank waiting for a
peer that died or stalled raises an error instead of hanging. Which peers did not arrive is read from a
one-sided MPI window where each rank counts the collectives it has entered. An uncaught exception on any
rank prints the rank and aborts the whole job (`MPI_Abort`), so the other ranks stop within seconds.

A collective may also be posted now and waited for later (`post_collective`, `wait_collective`): MPI
moves its data only while some thread calls into MPI, so a background thread polls the posted ones
while the caller computes (MPI is used "serialized": one lock for all calls).
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np

INSTALL_HINT = ('nnplug.distributed needs mpi4py and an MPI library: pip install "nnplug[mpi]" '
                '(in an editable clone: pip install -e ".[mpi]"), which installs mpi4py and the MPICH wheel')
TIMEOUT_ENV = "NNPLUG_COLLECTIVE_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
# Waiting polls flat out for SPIN_SECONDS (a peer that is already there answers within microseconds),
# then sleeps NAP between polls: a waiting rank must leave its core to the ranks still computing, since
# on a machine with more work than cores a spinning rank slows the very peer it waits for (spinning for
# 10 ms cost a 2-rank training step 12 % on 2 busy cores, next to a sleeping wait). Past LONG_WAIT the
# naps grow to MAX_NAP, so that a rank idling for a slow peer costs next to nothing.
SPIN_SECONDS = 0.00005
NAP = 0.0001
LONG_WAIT = 0.05
MAX_NAP = 0.002
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
PEEK_SECONDS = 2.0  # how long a timed-out rank may take to read its peers' counters
# A posted allreduce of a few MB between two ranks on one machine completes in two to six polls (MPICH
# moves a whole message per poll, by a single copy): the progress thread polls soon after a post, then
# ever less often (the nap doubles, up to PROGRESS_MAX_NAP), so it finishes within a few ms while
# costing the compute a few hundred wake-ups per second at most.
PROGRESS_FIRST_NAP = 0.0001
PROGRESS_MAX_NAP = 0.002


class DistributedError(RuntimeError):
    """Something about the MPI job: not initialised, ranks that disagree, a peer that failed."""


class RankMismatchError(DistributedError, ValueError):
    """Ranks called a collective with different tensors (shapes, dtypes, names) or backends."""


class CollectiveTimeoutError(DistributedError, TimeoutError):
    """A collective did not complete within NNPLUG_COLLECTIVE_TIMEOUT seconds."""


class _Job:
    """This process's place in the MPI job, and the counter window peers read after a timeout."""

    def __init__(self, MPI, comm):
        self.MPI = MPI
        self.comm = comm.Dup()  # our own traffic never matches the user's messages on COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)  # the ranks on this machine
        self.local_rank, self.local_size = self.local.Get_rank(), self.local.Get_size()
        self.shared_windows = []  # shared-memory windows over `local` (shared.py), freed at close in order
        self.shared_pool = None  # shared.py's pool of those windows, made on first use
        self.window = MPI.Win.Allocate(8, 8, comm=self.comm)
        self.counter = np.frombuffer(self.window.tomemory(), dtype=np.int64)
        self.window.Lock_all()
        self.counter[0] = 0
        self.window.Sync()
        self.entered = 0
        self.lock = threading.Lock()  # MPI is initialised "serialized": one thread in it at a time
        self.progress = _Progress(MPI, self.lock)
        atexit.register(self.close)  # before mpi4py's MPI_Finalize (atexit runs last-registered first)

    def close(self):
        """Free the windows and communicators (collective: every rank does it at a normal exit)."""
        self.progress.stop()
        if self.window is not None and not self.MPI.Is_finalized():
            for window in [*self.shared_windows, self.window]:
                window.Unlock_all()
                window.Free()
            self.local.Free()
            self.comm.Free()
        self.window = None

    def enter(self):
        """Count one more collective; peers read the count if they time out waiting."""
        self.entered += 1
        self.counter[0] = self.entered
        self.window.Sync()
        return self.entered

    def peer_counts(self):
        """{rank: collectives it has entered} for every peer readable within PEEK_SECONDS."""
        MPI = self.MPI
        out = np.zeros(self.size, np.int64)
        reqs = {r: self.window.Rget([out[r:r + 1], MPI.INT64_T], r) for r in range(self.size) if r != self.rank}
        deadline = time.monotonic() + PEEK_SECONDS
        done = {}
        while reqs and time.monotonic() < deadline:
            for r in [r for r, q in reqs.items() if q.Test()]:
                done[r] = int(out[r])
                del reqs[r]
            time.sleep(0.001)
        return done


class Pending:
    """A collective posted (its MPI requests) and not yet waited for; `done` once the progress thread or
    a wait saw it complete."""

    __slots__ = ("what", "seq", "requests", "done")

    def __init__(self, what, seq, requests):
        self.what, self.seq, self.requests = what, seq, requests
        self.done = False


class _Progress:
    """The background thread that polls posted collectives (started on first use), so that their data
    moves while the main thread computes. It calls MPI only under the job's lock and only while some
    collective it watches is unfinished; otherwise it sleeps on a condition."""

    def __init__(self, MPI, lock):
        self._testall = MPI.Request.Testall
        self._cond = threading.Condition(lock)
        self._watched = []
        self._thread = None
        self._stopped = False
        self._nap = PROGRESS_FIRST_NAP

    def watch(self, pending):
        """Poll `pending` from now on (the caller holds the job's lock)."""
        self._watched.append(pending)
        self._nap = PROGRESS_FIRST_NAP
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="nnplug-mpi-progress", daemon=True)
            self._thread.start()
        self._cond.notify()

    def forget(self, pending):
        """Stop polling `pending` (the caller holds the job's lock, and waits for it itself)."""
        if pending in self._watched:
            self._watched.remove(pending)

    def _run(self):
        while True:
            with self._cond:
                while not self._watched and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                for p in self._watched:
                    p.done = self._testall(p.requests)
                self._watched = [p for p in self._watched if not p.done]
                nap, self._nap = self._nap, min(PROGRESS_MAX_NAP, 2 * self._nap)
            time.sleep(nap)

    def stop(self):
        if self._thread is None:
            return
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()
        self._thread = None


_job = None


def _import_mpi():
    try:
        import mpi4py
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.thread_level = "serialized"
    try:
        from mpi4py import MPI
    except ImportError as e:  # mpi4py without a loadable MPI library
        raise ImportError(f"{INSTALL_HINT}; mpi4py is installed but cannot load an MPI library ({e})") from None
    return MPI


def init(comm: Any = None) -> None:
    """Join the MPI job (once; later calls do nothing). Without mpiexec this is a job of one rank."""
    global _job
    if _job is not None:
        return
    MPI = _import_mpi()
    _job = _Job(MPI, comm if comm is not None else MPI.COMM_WORLD)
    if _job.size > 1:
        _install_excepthook()
    if _job.local_size > 1:
        _share_cores(_job.local_size)
    from .. import plugins
    plugins.plugin_manager()  # so that plugin aliases resolve: 'xp' and 'arrayapi' are one backend
    backend_name, _device = plugins.parse_name(plugins.current_backend_name())  # ranks may use different GPUs
    try:
        for check in _init_checks:  # collectives.py registers the agreement of the ranks' backends
            check({"backend": backend_name})
    except RankMismatchError:
        _job = None  # every rank saw the same mismatch: none of them is part of a usable job
        raise


_init_checks = []


def on_init(check):
    """Run check(descriptor) on every rank when the job starts (a collective that must agree)."""
    _init_checks.append(check)
    return check


_thread_limit = []


def _share_cores(ranks_here):
    """Ranks on one machine split its cores: each BLAS (OpenBLAS, MKL, OpenMP) gets cores / ranks threads
    (or the cores the launcher bound this rank to) unless the user set a thread count, since N ranks each
    running all-core BLAS threads oversubscribe the machine many times over (tenfold slower on two cores)."""
    if any(os.environ.get(name) for name in THREAD_ENV):
        return
    total = os.cpu_count() or 1
    bound = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    threads = bound if bound < total else max(1, total // ranks_here)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        warnings.warn(f"{ranks_here} ranks share this machine's {total} cores but threadpoolctl is not installed "
                      f"to split them; set OPENBLAS_NUM_THREADS={threads} (or pip install threadpoolctl)",
                      RuntimeWarning, stacklevel=3)
        return
    _thread_limit.append(threadpool_limits(limits=threads))


def is_initialized() -> bool:
    return _job is not None


def job(what="this"):
    if _job is None:
        raise DistributedError(f"call nnplug.distributed.init() before {what} (it joins the MPI job that "
                               f"mpiexec or `nnplug launch` started, or a job of one process without them)")
    return _job


def size() -> int:
    """Number of ranks in the job."""
    return job("size()").size


def rank() -> int:
    """This process's rank, 0 .. size()-1."""
    return job("rank()").rank


def local_size() -> int:
    """Number of ranks on this machine."""
    return job("local_size()").local_size


def local_rank() -> int:
    """This process's rank among those on its machine (pick the GPU with it)."""
    return job("local_rank()").local_rank


def timeout():
    """Seconds a collective may wait for its peers: NNPLUG_COLLECTIVE_TIMEOUT, default 300."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{TIMEOUT_ENV} must be positive, got {raw!r}")
    return value


def run_collective(what, start):
    """Enter one collective: `start()` posts the non-blocking MPI calls and returns their requests; wait
    for them all, raising CollectiveTimeoutError (naming the peers that did not arrive) past the deadline."""
    wait_collective(post_collective(what, start, background=False))


def post_collective(what, start, background=True):
    """Enter one collective (`start()` posts its non-blocking MPI calls and returns their requests) and
    return at once: a Pending for wait_collective. Ranks must post their collectives in one order.
    `background`: the progress thread polls it until then."""
    j = job(what)
    with j.lock:
        pending = Pending(what, j.enter(), start())
        if background:
            j.progress.watch(pending)
    return pending


def wait_collective(pending):
    """Wait for a posted collective as run_collective does (the same deadline and errors)."""
    j = job(pending.what)
    with j.lock:
        j.progress.forget(pending)
        _wait(j, pending.requests, pending.what, pending.seq)
        pending.done = True


def _wait(j, requests, what, seq):
    Testall = j.MPI.Request.Testall
    if Testall(requests):
        return
    now = time.monotonic()
    spin_until, long_after, deadline, nap = now + SPIN_SECONDS, now + LONG_WAIT, now + timeout(), NAP
    while not Testall(requests):
        now = time.monotonic()
        if now < spin_until:
            continue
        if now > deadline:
            raise CollectiveTimeoutError(_timeout_message(j, what, seq))
        if now > long_after:
            nap = min(MAX_NAP, nap * 1.5)
        time.sleep(nap)


def _timeout_message(j, what, seq):
    counts = j.peer_counts()
    missing = sorted(r for r, c in counts.items() if c < seq)
    unknown = sorted(set(range(j.size)) - set(counts) - {j.rank})
    head = f"{what} timed out after {timeout():g} s on rank {j.rank} of {j.size} (collective #{seq})"
    if missing:
        where = ", ".join(f"rank {r} at #{counts[r]}" for r in missing)
        tail = f": rank{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} did not arrive ({where})"
    elif unknown:
        tail = f": could not read the progress of ranks {', '.join(map(str, unknown))}"
    else:
        tail = ": every rank entered it, so the ranks are running different collectives in the same turn"
    return (head + tail + f". Raise {TIMEOUT_ENV} if a rank is just slow (it is {timeout():g} s now).")


def _install_excepthook():
    previous = sys.excepthook

    def abort_job(exc_type, exc, tb):
        """Print the error with this rank's name, then take the whole job down instead of leaving peers
        blocked in a collective."""
        previous(exc_type, exc, tb)
        j = _job
        sys.stderr.write(f"nnplug.distributed: rank {j.rank} of {j.size} failed with {exc_type.__name__}: "
                         f"{exc}; aborting all {j.size} ranks\n")
        sys.stderr.flush()
        sys.stdout.flush()
        j.comm.Abort(1)

    sys.excepthook = abort_job
