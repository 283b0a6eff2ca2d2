"""Allreduce between GPUs through NCCL (CuPy's binding), for graph kernels on the cupy backend.

Why: the host kernels copy every gradient to the host, allreduce it through MPI and copy it back; NCCL
reduces the device buffers themselves (NVLink, PCIe, or the network), queued on the step's stream, so
nothing waits for the host.

How: one communicator per job and GPU, made on first use: rank 0 draws NCCL's unique id, MPI broadcasts
its 128 bytes (a byte buffer, never a pickle), every rank joins. A kernel packs its inputs into one fused
device buffer per bucket (Horovod's fusion: consecutive tensors of one dtype up to the threshold), sums it
in place with ncclAllReduce, scales it for an average and cuts it into new arrays.

NCCL needs its library (CuPy loads libnccl; `pip install nvidia-nccl-cu12`, or `-cu13`) and one GPU per
rank: it refuses two ranks on one device ("Duplicate GPU detected"), as on a machine with one GPU and two
ranks. Where either is missing the ranks agree to stay on the host kernels (MPI), and `why_not()` says why.
A plan with an NCCL allreduce runs its steps eagerly (not captured into a CUDA graph): every rank would
have to capture and replay it in the same turn. NNPLUG_NCCL=0 keeps the host kernels.
"""
import os

import numpy as np

from . import collectives as C
from . import runtime

ENV = "NNPLUG_NCCL"
ID_BYTES = 128  # NCCL_UNIQUE_ID_BYTES
BUS_ID_BYTES = 64  # a PCI bus id string, padded

_state = {}  # job -> _Decision: whether the ranks use NCCL, and the communicator


class _Decision:
    def __init__(self, why, comm=None):
        self.why, self.comm = why, comm


def why_not():
    """Why graph allreduces on the cupy backend go through MPI on the host ('' where they use NCCL; None
    before any such kernel was made)."""
    j = runtime.job("nccl.why_not()") if runtime.is_initialized() else None
    decision = _state.get(id(j)) if j is not None else None
    return None if decision is None else decision.why


def _nccl_module(cupy):
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        return None, f"CuPy has no NCCL binding ({e})"
    if not getattr(nccl, "available", True):
        return None, "CuPy cannot load the NCCL library (pip install nvidia-nccl-cu12, or -cu13 for CUDA 13)"
    return nccl, ""


def duplicate_devices(bus_ids):
    """Pairs of local ranks on one GPU (by PCI bus id), which NCCL refuses; `bus_ids[r]` is local rank r's."""
    seen, pairs = {}, []
    for r, bus in enumerate(bus_ids):
        if bus in seen:
            pairs.append((seen[bus], r, bus))
        else:
            seen[bus] = r
    return pairs


def _exchange_bytes(j, comm, data, width):
    """Every rank's `data` (bytes, at most `width`) over `comm`, as fixed-width byte buffers."""
    mine = np.zeros(width, np.uint8)
    raw = np.frombuffer(data[:width], np.uint8)
    mine[:raw.size] = raw
    every = np.zeros((comm.Get_size(), width), np.uint8)
    runtime.run_collective("nccl setup", lambda: [comm.Iallgather(mine, every)])
    return [bytes(row).rstrip(b"\0") for row in every]


def _decide(j, backend):
    """Whether every rank can use NCCL (the same answer on every rank), and the communicator if so."""
    if j.size == 1:
        return _Decision("a job of one rank has nothing to reduce")
    cupy = backend.cupy
    nccl, why = (None, f"{ENV}=0") if os.environ.get(ENV, "").strip() == "0" else _nccl_module(cupy)
    bus = cupy.cuda.Device(backend.index).pci_bus_id.encode() if nccl is not None else b""
    buses = _exchange_bytes(j, j.local, bus, BUS_ID_BYTES)
    pairs = duplicate_devices(buses) if nccl is not None else []
    if pairs:
        a, b, where = pairs[0]
        why = (f"local ranks {a} and {b} share the GPU {where.decode()}, and NCCL needs one GPU per rank "
               f"(give each rank its own: nnplug.set_backend(f'cuda:{{dist.local_rank()}}'))")
    reasons = _exchange_bytes(j, j.comm, why.encode(), 512)
    refusals = [(r, text.decode()) for r, text in enumerate(reasons) if text]
    if refusals:
        r, text = refusals[0]
        return _Decision(f"rank {r}: {text}")
    uid = np.zeros(ID_BYTES, np.int8)
    if j.rank == 0:
        uid[:] = np.asarray(nccl.get_unique_id(), np.int64).astype(np.int8)
    runtime.run_collective("nccl setup", lambda: [j.comm.Ibcast(uid, root=0)])
    with cupy.cuda.Device(backend.index):
        comm = nccl.NcclCommunicator(j.size, tuple(int(v) for v in uid), j.rank)
    return _Decision("", (nccl, comm))


def decision(backend):
    """The job's decision for `backend` (a cupy backend), made collectively on first call."""
    j = runtime.job("an NCCL allreduce")
    key = id(j)
    if key not in _state:
        _state[key] = _decide(j, backend)
    return _state[key]


_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
           "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8", "int8": "NCCL_INT8"}
_OPS = {C.Average: "NCCL_SUM", C.Sum: "NCCL_SUM", C.Min: "NCCL_MIN", C.Max: "NCCL_MAX"}


def allreduce_kernel(spec, check):
    """A cupy kernel for DistAllreduce through NCCL, or None where the ranks use MPI (`decision`).
    `check(what)`: the ranks' agreement on the op, run before its first allreduce."""
    d = decision(spec.backend)
    if d.comm is None:
        return None
    nccl, comm = d.comm
    cupy, j = spec.backend.cupy, runtime.job()
    op, threshold = spec.attrs["op"], C.fusion_threshold(spec.attrs["threshold"])
    likes = [C.Like(s, t.np) for s, t in zip(spec.in_shapes, spec.in_dtypes)]
    groups = C.buckets(likes, threshold)
    for i, a in enumerate(likes):
        if a.dtype.name not in _DTYPES:
            raise TypeError(f"allreduce '{spec.name}': NCCL cannot reduce the {a.dtype.name} tensor "
                            f"'{spec.attrs['names'][i]}'")
    scale = 1.0 / j.size if op == C.Average else None
    what = f"allreduce '{spec.name}'"
    reduce_op, nbytes = getattr(nccl, _OPS[op]), sum(a.nbytes for a in likes)
    # per bucket: its tensors, dtype, NCCL's name for that dtype, and one device buffer kept from run to run
    plans = []
    with cupy.cuda.Device(spec.backend.index):
        for g in groups:
            dtype = likes[g[0]].dtype
            buf = cupy.empty(sum(likes[i].size for i in g), dtype)
            plans.append((g, dtype, getattr(nccl, _DTYPES[dtype.name]), buf))
    spec.replay_obstacle = "an NCCL allreduce runs in the step: every rank would have to capture it alike"

    def allreduce(*arrays):
        check(what)
        stream = cupy.cuda.get_current_stream().ptr
        out = [None] * len(arrays)
        for g, dtype, wire, buf in plans:
            cupy.concatenate([arrays[i].reshape(-1) for i in g], out=buf)
            comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, wire, reduce_op, stream)
            if scale is not None:
                buf *= dtype.type(scale)
            offset = 0
            for i in g:
                out[i] = buf[offset:offset + likes[i].size].reshape(likes[i].shape).copy()
                offset += likes[i].size
        C.STATS.record(len(groups), nbytes, 0.0, nbytes)
        return out[0] if len(out) == 1 else tuple(out)
    return allreduce
