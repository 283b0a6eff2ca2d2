"""Allreduce between the ranks of one machine through MPI-3 shared memory, with one meeting per call.

MPI's allreduce of a large buffer goes in several rounds, each needing the peer to be running, and its
data passes through MPI's copies and then out of the fusion buffer. Here every rank packs its buffer into
its own slot of a shared-memory window (MPI_Win_allocate_shared over the machine's ranks), the ranks
meet once (a non-blocking barrier, which the progress thread polls while the backward pass goes on), and
each rank then reduces all ranks' slots, in rank order, straight into a new output array: every rank
gets bitwise the same result, and no rank waits for another a second time.

Each window has two slots per rank, used in turn: a rank fills a slot again only two calls later, after
all ranks have met once more, by which time every peer has finished reading it. Stores are made visible
to the other ranks by MPI_Win_sync before and after the barrier (MPI's unified memory model).

Windows are made collectively and live until the job ends, so they come from one pool per job, by size
and dtype: an allreduce takes one when it starts and gives it back when it finishes, in the same order
on every rank, and a training step needs only as many as it has buckets in flight. A window is made only
where /dev/shm has room for it twice over (tmpfs pages that are not there kill a process with SIGBUS
when touched), as every rank of the machine must agree; otherwise that allreduce goes through MPI.

Used for a graph kernel's allreduce when every rank of the job is on this machine; NNPLUG_SHARED_MEMORY=0
uses MPI's allreduce instead.
"""
import os

import numpy as np

from . import runtime

ENV = "NNPLUG_SHARED_MEMORY"
SHM_DIR = "/dev/shm"
UFUNCS = {"average": np.add, "sum": np.add, "min": np.minimum, "max": np.maximum}


def usable(job):
    """Whether allreduces of this job go through shared memory: all its ranks share this machine."""
    return job.size > 1 and job.local_size == job.size and os.environ.get(ENV, "").strip() != "0"


class SharedSlots:
    """Two slots of `size` elements of `dtype` for every rank of the machine, in one shared window."""

    def __init__(self, job, size, dtype):
        MPI, self.job, self.size, self.dtype = job.MPI, job, size, np.dtype(dtype)
        with job.lock:  # a collective over the machine's ranks
            self.window = MPI.Win.Allocate_shared(2 * size * self.dtype.itemsize, self.dtype.itemsize, comm=job.local)
            self.window.Lock_all()
            job.shared_windows.append(self.window)  # freed at exit, in creation order, by every rank alike
            self.slots = [np.frombuffer(self.window.Shared_query(r)[0], self.dtype, count=2 * size).reshape(2, size)
                          for r in range(job.local_size)]
        self.turn = 0

    def mine(self):
        """This rank's slot for this call: pack the buffer here, then post()."""
        return self.slots[self.job.local_rank][self.turn]

    def reduce(self, op):
        """After the barrier: every rank's slot reduced by `op`, in rank order, into a new array."""
        with self.job.lock:
            self.window.Sync()
        ufunc, parts = UFUNCS[op], [slot[self.turn] for slot in self.slots]
        out = ufunc(parts[0], parts[1])
        for part in parts[2:]:
            ufunc(out, part, out=out)
        self.turn ^= 1
        return out


def post(job, slots):
    """Once this rank has filled its slots: make them visible and post the barrier (the caller holds the
    job's lock); returns its MPI requests."""
    for s in slots:
        s.window.Sync()
    return [job.local.Ibarrier()]


class Pool:
    """The job's windows that no allreduce in flight holds, by (size, dtype)."""

    def __init__(self, job):
        self.job = job
        self._free = {}
        self._refused = set()  # (size, dtype) that /dev/shm had no room for on some rank

    def take(self, size, dtype):
        """A free window for `size` elements of `dtype` (made if none is free), or None: use MPI."""
        key = (size, np.dtype(dtype))
        free = self._free.get(key)
        if free:
            return free.pop(0)
        if key in self._refused:
            return None
        if not _room_everywhere(self.job, self.job.local_size * 2 * size * key[1].itemsize):
            self._refused.add(key)
            return None
        return SharedSlots(self.job, size, dtype)

    def give(self, slots):
        self._free.setdefault((slots.size, slots.dtype), []).append(slots)


def pool(job):
    """The job's pool of windows (made on first use)."""
    if job.shared_pool is None:
        job.shared_pool = Pool(job)
    return job.shared_pool


def _room_everywhere(job, nbytes):
    """Whether /dev/shm has room for `nbytes` twice over on every rank of the machine (they agree)."""
    try:
        stat = os.statvfs(SHM_DIR)
        ok = stat.f_bavail * stat.f_frsize >= 2 * nbytes
    except OSError:  # no /dev/shm: MPI keeps its shared memory elsewhere
        ok = True
    flag = np.array([int(ok)], np.int32)
    runtime.run_collective("shared memory", lambda: [job.local.Iallreduce(job.MPI.IN_PLACE, flag, job.MPI.MIN)])
    return bool(flag[0])
