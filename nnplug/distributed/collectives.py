"""Collectives on NumPy arrays over MPI: allreduce with tensor fusion, broadcast, allgather, and the
agreement check that turns ranks passing different tensors into an error naming the tensor and the ranks.

Tensor fusion as Horovod does it: the arrays of one call are packed, in order and by dtype, into buffers
of at most NNPLUG_FUSION_THRESHOLD bytes (default 64 MiB; 0 sends each array alone), and each buffer
goes out as one MPI allreduce; all buffers are posted before any is waited on. An allreduce can also be
started now and finished later (`start_allreduce`, `finish_allreduce`), so that a training step computes
while it is in flight. A graph kernel's allreduce between ranks that all share this machine goes through
shared memory instead (shared.py). `STATS` counts the buffers and the seconds the caller spent in allreduce.

Descriptors travel as JSON bytes (never pickles), so no rank ever unpickles what another sent.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time

import numpy as np

from . import runtime, shared
from .runtime import RankMismatchError

Average, Sum, Min, Max = "average", "sum", "min", "max"
REDUCE_OPS = (Average, Sum, Min, Max)
FUSION_ENV = "NNPLUG_FUSION_THRESHOLD"
DEFAULT_FUSION_THRESHOLD = 64 * 1024 * 1024


class Stats:
    """What allreduce calls cost: the last call's fused buffers, bytes and seconds, and running totals;
    `packed`: the bytes copied into fused buffers (gradients computed in shared memory need no copy)."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls = self.buffers = self.bytes = self.packed = 0
        self.seconds = 0.0
        self.last_buffers = self.last_bytes = 0
        self.last_seconds = 0.0

    def record(self, buffers, nbytes, seconds, packed):
        self.calls += 1
        self.buffers += buffers
        self.bytes += nbytes
        self.packed += packed
        self.seconds += seconds
        self.last_buffers, self.last_bytes, self.last_seconds = buffers, nbytes, seconds

    def as_dict(self):
        return {k: getattr(self, k) for k in ("calls", "buffers", "bytes", "packed", "seconds", "last_buffers",
                                               "last_bytes", "last_seconds")}

    def __repr__(self):
        per = self.seconds / self.calls * 1e3 if self.calls else 0.0
        return (f"<allreduce stats: {self.calls} calls, {self.buffers} fused buffers, {self.bytes} bytes, "
                f"{per:.3f} ms per call>")


STATS = Stats()


def fusion_threshold(value: int | str | None = None) -> int:
    """Bytes per fused buffer: `value`, else NNPLUG_FUSION_THRESHOLD, else 64 MiB (0: no fusion)."""
    source = "fusion_threshold"
    if value is None:
        raw = os.environ.get(FUSION_ENV, "").strip()
        if not raw:
            return DEFAULT_FUSION_THRESHOLD
        value, source = raw, FUSION_ENV
    try:
        threshold = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source} must be a whole number of bytes, got {value!r}") from None
    if threshold < 0:
        raise ValueError(f"{source} must be >= 0 bytes, got {threshold}")
    return threshold


def buckets(arrays, threshold):
    """Indices of `arrays` (anything with .dtype and .nbytes) grouped into fused buffers: consecutive
    arrays of one dtype, at most `threshold` bytes together (an array larger than that travels alone)."""
    groups, current, nbytes = [], [], 0
    for i, a in enumerate(arrays):
        fits = current and arrays[current[0]].dtype == a.dtype and nbytes + a.nbytes <= threshold
        if not fits and current:
            groups.append(current)
            current, nbytes = [], 0
        current.append(i)
        nbytes += a.nbytes
    if current:
        groups.append(current)
    return groups


def _wire_dtype(dtype):
    """The dtype a buffer travels in: MPI has no half floats, so float16 is reduced in float32."""
    return np.dtype(np.float32) if dtype == np.float16 else dtype


class Workspace:
    """The fusion buffers one kernel keeps from run to run. MPI moves data between buffers it has seen
    before far faster: a fresh 7 MB buffer costs an allreduce ~7 ms more on a 2-core VM (its memory is
    registered anew each time). Results are copied out, so no output aliases a buffer that is reused.
    `key` (the op's name) and `shared` (decided when the kernel is made): the kernel's allreduce goes
    through shared-memory windows of its own (shared.py), whose results it hands out as views."""

    def __init__(self, key=None, shared=False):
        self.lock = threading.Lock()  # one run at a time may use the buffers
        self._buffers = {}
        self.in_flight = None  # the allreduce started in these buffers and not finished yet
        self.key, self.shared = key, shared

    def settle(self):
        """Finish an allreduce left in flight here (a step that failed between its start and its wait),
        so that its buffers can be used again; its results are dropped. The caller holds the lock."""
        if self.in_flight is not None:
            _finish(self.in_flight)

    def buffer(self, index, size, dtype):
        buf = self._buffers.get(index)
        if buf is None or buf.size != size or buf.dtype != dtype:
            buf = self._buffers[index] = np.empty(size, dtype)
        return buf

    def windows(self, layout):
        """The shared-memory window of each fused buffer of `layout`, or None (then MPI's allreduce
        takes them all) where the job is not on one machine or one could not be had."""
        if not self.shared:
            return None
        pool = shared.pool(runtime.job())
        windows = [pool.window((self.key, k), size, wire) for k, (size, wire) in enumerate(layout)]
        return None if any(w is None for w in windows) else windows


def shared_homes(likes, threshold, workspace):
    """Where each of the arrays an allreduce will be given (`likes`: shapes and dtypes) should be computed
    so that it needs no packing: a view of this rank's slot in its bucket's shared window, or None."""
    groups = buckets(likes, fusion_threshold(threshold))
    windows = workspace.windows(_layout(likes, groups))
    homes = [None] * len(likes)
    for g, w in zip(groups, windows or ()):
        offset = 0
        for i in g:
            a = likes[i]
            if _wire_dtype(a.dtype) == a.dtype:
                homes[i] = w.mine()[offset:offset + a.size].reshape(a.shape)
            offset += a.size
    return homes


def _layout(arrays, groups):
    """(elements, dtype on the wire) of each group's fused buffer."""
    return [(sum(arrays[i].size for i in g), _wire_dtype(arrays[g[0]].dtype)) for g in groups]


def _fusion_buffers(arrays, groups, workspace):
    """One flat buffer per group, in the group's dtype on the wire: the workspace's, or new ones."""
    return [workspace.buffer(k, size, wire) if workspace is not None else np.empty(size, wire)
            for k, (size, wire) in enumerate(_layout(arrays, groups))]


def _pack(parts, buf, scale=None):
    """Copy `parts` one after the other into `buf` (times `scale`, in the same pass); a part computed
    in its place there already (shared_homes) stays as it is. Returns the bytes copied."""
    offset = copied = 0
    for p in parts:
        piece = buf[offset:offset + p.size]
        if scale is None:
            if not _is_at(p, piece):
                piece[...] = p.reshape(-1)
                copied += piece.nbytes
        else:
            np.multiply(p.reshape(-1), scale, out=piece, casting="unsafe")
            copied += piece.nbytes
        offset += p.size
    return copied


def _is_at(array, place):
    return (array.dtype == place.dtype and array.flags.c_contiguous
            and array.__array_interface__["data"][0] == place.__array_interface__["data"][0])


def _unpack(groups, bufs, arrays, copy):
    """Arrays shaped and typed like `arrays`, cut from the groups' buffers (copied first when `copy`)."""
    out = [None] * len(arrays)
    for g, buf in zip(groups, bufs):
        if copy and buf.dtype == arrays[g[0]].dtype:  # (a change of dtype copies anyway)
            buf = buf.copy()
        offset = 0
        for i in g:
            a = arrays[i]
            piece = buf[offset:offset + a.size].reshape(a.shape)
            out[i] = piece if piece.dtype == a.dtype else piece.astype(a.dtype)
            offset += a.size
    return out


def _descriptor(kind, name, arrays, names, **fields):
    """What a rank passes to a collective, for the agreement check (fields: op, root, backend ...)."""
    return {"collective": kind, "name": name, **fields,
            "tensors": [{"name": n, "shape": list(a.shape), "dtype": str(a.dtype)} for n, a in zip(names, arrays)]}


def allreduce(arrays, op=Average, names=None, threshold=None, what="allreduce", check=True, workspace=None):
    """Reduce each array over all ranks (elementwise); returns new arrays in the same order.
    `check`: first exchange shapes and dtypes, and raise RankMismatchError where ranks differ.
    `workspace`: a Workspace whose buffers to reuse (a graph kernel keeps one)."""
    return finish_allreduce(start_allreduce(arrays, op, names, threshold, what, check, workspace, background=False))


class Like:
    """An array's shape and dtype without the array (a step's gradient buffers are reused after it; a
    compiled kernel knows only its inputs' shapes)."""

    __slots__ = ("shape", "dtype", "size", "nbytes")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(int(d) for d in shape), np.dtype(dtype)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.nbytes = self.size * self.dtype.itemsize


class InFlight:
    """An allreduce started and not finished: its fused buffers (or shared-memory windows, reduced by
    `op`, times `scale`, once all ranks have filled their slots), and how to cut them into the results."""

    __slots__ = ("pending", "groups", "bufs", "like", "workspace", "nbytes", "seconds", "windows", "op", "scale",
                 "what", "packed")

    def __init__(self, pending, groups, bufs, like, workspace, seconds, windows, op, scale, what, packed):
        self.pending, self.groups, self.bufs, self.like, self.workspace = pending, groups, bufs, like, workspace
        self.nbytes = sum(a.nbytes for a in like)
        self.seconds = seconds
        self.windows, self.op, self.scale, self.what, self.packed = windows, op, scale, what, packed


def start_allreduce(arrays, op=Average, names=None, threshold=None, what="allreduce", check=True, workspace=None,
                    background=True):
    """Pack the arrays into fused buffers and post their allreduce; returns the InFlight to finish.
    `background`: let the progress thread move the data until finish_allreduce waits for it."""
    j = runtime.job(what)
    arrays = [np.asarray(a) for a in arrays]
    names = list(names) if names is not None else [f"{what}[{i}]" for i in range(len(arrays))]
    _check_reduce_op(op, arrays, names, what)
    if check:
        agree_on(what, _descriptor("allreduce", what, arrays, names, op=op))
    MPI = j.MPI
    mpi_op = {Average: MPI.SUM, Sum: MPI.SUM, Min: MPI.MIN, Max: MPI.MAX}[op]
    groups = buckets(arrays, fusion_threshold(threshold))
    scale = 1.0 / j.size if op == Average and j.size > 1 else None
    with workspace.lock if workspace is not None else contextlib.nullcontext():
        windows = None
        if workspace is not None:
            workspace.settle()
            windows = workspace.windows(_layout(arrays, groups))
        bufs = [w.mine() for w in windows] if windows is not None else _fusion_buffers(arrays, groups, workspace)
        pack_scale = scale if windows is None else None  # shared memory is scaled as it is reduced
        packed = sum(_pack([arrays[i] for i in g], buf, pack_scale) for g, buf in zip(groups, bufs))
        start = time.perf_counter()
        if windows is not None:
            pending = runtime.post_collective(what, lambda: shared.post(j, windows), background)
        else:
            pending = runtime.post_collective(
                what, lambda: [j.comm.Iallreduce(MPI.IN_PLACE, b, mpi_op) for b in bufs], background)
        likes = [Like(a.shape, a.dtype) for a in arrays]
        flight = InFlight(pending, groups, bufs, likes, workspace, time.perf_counter() - start, windows, op, scale,
                          what, packed)
        if workspace is not None:
            workspace.in_flight = flight
    return flight


def finish_allreduce(flight):
    """Wait for a started allreduce; returns its results in the order started: new arrays, or through
    shared memory views of the window's result, valid until the workspace's next allreduce."""
    with flight.workspace.lock if flight.workspace is not None else contextlib.nullcontext():
        out, seconds = _finish(flight)
    STATS.record(len(flight.groups), flight.nbytes, seconds, flight.packed)
    return out


def _finish(flight):
    """(results, seconds spent in MPI) of a started allreduce, once it is complete."""
    workspace = flight.workspace
    start = time.perf_counter()
    try:
        runtime.wait_collective(flight.pending)
    finally:
        if workspace is not None and workspace.in_flight is flight:
            workspace.in_flight = None
    if flight.windows is not None:  # each rank reduces its segment of every bucket; then all meet again
        for w in flight.windows:
            w.reduce_segment(flight.op, flight.scale)
        runtime.run_collective(flight.what, lambda: shared.post(runtime.job(), flight.windows))
        bufs, copy = [w.result for w in flight.windows], False
    else:
        bufs, copy = flight.bufs, workspace is not None
    seconds = flight.seconds + time.perf_counter() - start
    return _unpack(flight.groups, bufs, flight.like, copy=copy), seconds


def _check_reduce_op(op, arrays, names, what):
    if op not in REDUCE_OPS:
        raise ValueError(f"{what}: unknown reduction {op!r}; use one of {', '.join(REDUCE_OPS)}")
    for a, n in zip(arrays, names):
        if a.dtype.kind not in "iuf":
            raise TypeError(f"{what}: cannot {op}-reduce tensor '{n}' of dtype {a.dtype}")
        if op == Average and a.dtype.kind != "f":
            raise TypeError(f"{what}: cannot average the {a.dtype} tensor '{n}' (the mean of integers is no "
                            f"integer); reduce it with op=Sum and divide where you need to")


def broadcast(arrays, root_rank, names=None, what="broadcast", check=True, workspace=None):
    """Every rank gets root_rank's arrays (each rank passes arrays of the same shapes and dtypes)."""
    j = runtime.job(what)
    arrays = [np.asarray(a) for a in arrays]
    names = list(names) if names is not None else [f"{what}[{i}]" for i in range(len(arrays))]
    root_rank = check_root(root_rank, j.size, what)
    if check:
        agree_on(what, _descriptor("broadcast", what, arrays, names, root=root_rank))
    groups = buckets(arrays, fusion_threshold())
    with workspace.lock if workspace is not None else contextlib.nullcontext():
        bufs = _fusion_buffers(arrays, groups, workspace)
        if j.rank == root_rank:
            for g, buf in zip(groups, bufs):
                _pack([arrays[i] for i in g], buf)
        runtime.run_collective(what, lambda: [j.comm.Ibcast(b, root=root_rank) for b in bufs])
        return _unpack(groups, bufs, arrays, copy=workspace is not None)


def check_root(root_rank, n_ranks, what):
    if isinstance(root_rank, bool) or not isinstance(root_rank, (int, np.integer)) or not 0 <= root_rank < n_ranks:
        raise ValueError(f"{what}: root_rank must be a rank from 0 to {n_ranks - 1}, got {root_rank!r}")
    return int(root_rank)


def allgather(array, name=None, what="allgather", equal_shapes=False):
    """The arrays of all ranks concatenated along axis 0, in rank order. Their first dimensions may differ
    (ranks first exchange their shapes) unless `equal_shapes`: a graph op, whose kernel checked the shapes
    on its first run, since its output shape is fixed when its plan is built."""
    j = runtime.job(what)
    array = np.asarray(array)
    if array.ndim == 0:
        raise ValueError(f"{what}: cannot gather the scalar '{name or what}' along axis 0; give it a first "
                         f"dimension (reshape it to (1,))")
    array = np.ascontiguousarray(array)
    if equal_shapes:
        rows = np.full(j.size, array.shape[0], np.int64)
    else:
        ranks = _exchange(what, _descriptor("allgather", what, [array], [name or what]), first_dim=True)
        rows = np.array([d["tensors"][0]["shape"][0] for d in ranks], np.int64)
    out = np.empty((int(rows.sum()),) + array.shape[1:], array.dtype)
    counts = rows * int(np.prod(array.shape[1:], dtype=np.int64))
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    runtime.run_collective(what, lambda: [j.comm.Iallgatherv(array.reshape(-1), [out.reshape(-1), (counts, displs)])])
    return out


# -- agreement between ranks ----------------------------------------------------------------------
def allgather_bytes(data, what):
    """Every rank's `data` (bytes), in rank order."""
    j = runtime.job(what)
    lengths = np.empty(j.size, np.int64)
    mine = np.array([len(data)], np.int64)
    runtime.run_collective(what, lambda: [j.comm.Iallgather(mine, lengths)])
    buf = np.empty(int(lengths.sum()), np.uint8)
    displs = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    payload = np.frombuffer(data, np.uint8)
    runtime.run_collective(what, lambda: [j.comm.Iallgatherv(payload, [buf, (lengths, displs)])])
    return [buf[o:o + n].tobytes() for o, n in zip(displs, lengths)]


def _exchange(what, descriptor, first_dim=False):
    """Every rank's descriptor; RankMismatchError unless all equal rank 0's (with `first_dim`, the first
    dimension of each tensor may differ)."""
    blobs = allgather_bytes(json.dumps(descriptor, sort_keys=True).encode(), what)
    all_d = [json.loads(b) for b in blobs]
    compare = [_without_first_dim(d) for d in all_d] if first_dim else all_d
    if any(d != compare[0] for d in compare[1:]):
        raise RankMismatchError(disagreement(what, compare))
    return all_d


def agree_on(what, descriptor):
    """Raise RankMismatchError, the same on every rank, unless every rank passed an equal descriptor."""
    _exchange(what, descriptor)


runtime.on_init(lambda descriptor: agree_on("init", descriptor))


def _without_first_dim(d):
    d = dict(d)
    d["tensors"] = [dict(t, shape=["*"] + t["shape"][1:]) for t in d.get("tensors", [])]
    return d


def _fmt_shape(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def disagreement(what, descriptors):
    """What rank 0 and the other ranks passed differently, named by tensor and rank."""
    ref, problems = descriptors[0], []
    for r, d in enumerate(descriptors[1:], start=1):
        if (d.get("collective"), d.get("name")) != (ref.get("collective"), ref.get("name")):
            problems.append(f"rank 0 calls {ref.get('collective')} '{ref.get('name')}' while rank {r} calls "
                            f"{d.get('collective')} '{d.get('name')}' (ranks must run the same collectives "
                            f"in the same order)")
            continue
        if d.get("backend") != ref.get("backend"):
            problems.append(f"rank {r} runs backend '{d.get('backend')}' but rank 0 runs '{ref.get('backend')}' "
                            f"(every rank must use the same backend: set NNPLUG_BACKEND alike on all)")
        problems.extend(_tensor_problems(ref.get("tensors", []), d.get("tensors", []), r))
        for key in sorted(set(ref) | set(d)):
            if key not in ("collective", "name", "backend", "tensors") and ref.get(key) != d.get(key):
                problems.append(f"rank 0 passes {key}={ref.get(key)!r}, rank {r} {key}={d.get(key)!r}")
    return f"{what}: ranks disagree: " + "; ".join(problems)


def _tensor_problems(ref, mine, r):
    if len(ref) != len(mine):
        return [f"rank 0 passes {len(ref)} tensors, rank {r} passes {len(mine)}"]
    problems = []
    for a, b in zip(ref, mine):
        if a != b:
            label = f"'{a['name']}'" if a["name"] == b["name"] else f"'{a['name']}' (rank {r} names it '{b['name']}')"
            problems.append(f"tensor {label}: rank 0 has shape {_fmt_shape(a['shape'])} {a['dtype']}, "
                            f"rank {r} has {_fmt_shape(b['shape'])} {b['dtype']}")
    return problems
