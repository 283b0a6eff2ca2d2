"""Allreduce between the ranks of one machine through MPI-3 shared memory, reduced once, by all ranks.

MPI's allreduce of a large buffer goes in several rounds, each needing the peer to be running, and its
data passes through MPI's copies and then out of the fusion buffer. Here each fused bucket has a window of
shared memory (MPI_Win_allocate_shared over the machine's ranks) holding a slot per rank and one result:

1. every rank's contribution is in its slot: the compiler has the kernels that compute a bucket's
   gradients write them there (`homes`, given to the static buffer plan), so nothing is copied; what is
   not already there is packed in;
2. the ranks meet (a non-blocking barrier, which the progress thread polls while the backward pass goes on);
3. each rank reduces its own segment of the bucket over all ranks' slots, in rank order and in cache-sized
   chunks (scaled for an average in the same chunk), into the shared result: every rank reads the same
   bits, and the reduction is spread over the ranks instead of done by each of them in full;
4. the ranks meet again: every segment is written, and no rank reads a slot any more, so the slots may
   be computed into again; the results are views of the shared result.

The results stay valid until the same allreduce runs again (its op's outputs say so: the compiler copies
them before they are fetched or stored). Stores are made visible to the other ranks by MPI_Win_sync
before each barrier (MPI's unified memory model).

Windows are made collectively and live until the job ends, one per bucket of each allreduce op (by the
op's name, which every rank agrees on, and the bucket's size and dtype): the ranks make them when they
first compile or run that op, in the same order. A window is made only where /dev/shm has room for it
twice over (tmpfs pages that are not there kill a process with SIGBUS when touched), as every rank of
the machine must agree; otherwise that allreduce goes through MPI.

Used for a graph kernel's allreduce when every rank of the job is on this machine; NNPLUG_SHARED_MEMORY=0
uses MPI's allreduce instead.
"""
import os

import numpy as np

from . import runtime

ENV = "NNPLUG_SHARED_MEMORY"
SHM_DIR = "/dev/shm"
UFUNCS = {"average": np.add, "sum": np.add, "min": np.minimum, "max": np.maximum}
CHUNK_BYTES = 256 * 1024  # a reduction chunk stays in the core's cache between its add and its scaling


def usable(job):
    """Whether allreduces of this job go through shared memory: all its ranks share this machine."""
    return job.size > 1 and job.local_size == job.size and os.environ.get(ENV, "").strip() != "0"


class BucketWindow:
    """A slot of `size` elements of `dtype` for every rank of the machine and a shared result of as many,
    in one shared window (rank 0's part holds the result after its slot)."""

    def __init__(self, job, size, dtype):
        MPI, self.job, self.size, self.dtype = job.MPI, job, size, np.dtype(dtype)
        mine = (2 if job.local_rank == 0 else 1) * size * self.dtype.itemsize
        with job.lock:  # a collective over the machine's ranks
            self.window = MPI.Win.Allocate_shared(mine, self.dtype.itemsize, comm=job.local)
            self.window.Lock_all()
            job.shared_windows.append(self.window)  # freed at exit, in creation order, by every rank alike
            parts = [np.frombuffer(self.window.Shared_query(r)[0], self.dtype) for r in range(job.local_size)]
        self.slots = [p[:size] for p in parts]
        self.result = parts[0][size:2 * size]
        n = job.local_size
        self.segment = (job.local_rank * size // n, (job.local_rank + 1) * size // n)

    def mine(self):
        """This rank's slot: its contribution goes here before post()."""
        return self.slots[self.job.local_rank]

    def reduce_segment(self, op, scale=None):
        """After the first barrier: this rank's segment of every rank's slot reduced by `op` (times
        `scale`) into the shared result; the ranks then meet again (post()) before any reads it."""
        with self.job.lock:
            self.window.Sync()
        ufunc, out = UFUNCS[op], self.result
        step = max(1, CHUNK_BYTES // self.dtype.itemsize)
        lo, hi = self.segment
        for a in range(lo, hi, step):
            b = min(hi, a + step)
            piece = out[a:b]
            ufunc(self.slots[0][a:b], self.slots[1][a:b], out=piece)
            for slot in self.slots[2:]:
                ufunc(piece, slot[a:b], out=piece)
            if scale is not None:
                np.multiply(piece, scale, out=piece, casting="unsafe")


def post(job, windows):
    """Once this rank's slots (or result segments) are written: make them visible and post a barrier
    (the caller holds the job's lock); returns its MPI requests."""
    for w in windows:
        w.window.Sync()
    return [job.local.Ibarrier()]


class Pool:
    """The job's windows, by (allreduce op name, bucket index, size, dtype)."""

    def __init__(self, job):
        self.job = job
        self.windows = {}
        self.refused = set()  # keys whose window /dev/shm had no room for on some rank

    def window(self, key, size, dtype):
        """The window of bucket `key` of `size` elements of `dtype` (made collectively on first use), or
        None: /dev/shm has no room for it on some rank, so that allreduce goes through MPI."""
        key = (key, size, np.dtype(dtype))
        got = self.windows.get(key)
        if got is not None or key in self.refused:
            return got
        nbytes = (self.job.local_size + 1) * size * key[2].itemsize
        if not _room_everywhere(self.job, nbytes):
            self.refused.add(key)
            return None
        got = self.windows[key] = BucketWindow(self.job, size, dtype)
        return got


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
