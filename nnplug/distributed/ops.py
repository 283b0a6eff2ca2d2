"""Collectives as graph ops: host kernels (`OpDef.host`) that every backend runs through the host, with
Horovod's gradients (an allreduce's gradient is the allreduce of its gradient).

- DistAllreduce: N inputs, N outputs — one op per step for all of a model's gradients, so tensor fusion
  packs them into few MPI calls (collectives.py).
- DistAllreduceOverlapped: the same, overlapped with the backward pass. When compiled it becomes, per
  fused bucket, a DistAllreduceStart step (packs the bucket and posts its allreduce; returns a ticket),
  which the compiler runs as soon as the bucket's gradients exist, and a DistAllreduceWait step (the
  ticket in, the reduced tensors out), run only where a step first reads them (OpDef.schedule).
- DistBroadcast: N inputs, N outputs, root_rank's values everywhere.
- DistAllgather: one input, concatenated along axis 0 over ranks (equal shapes on every rank).
- DistAllgatherGrad: the gradient of an allgather, this rank's rows of the summed gradient.

Each kernel checks on its first run that every rank passes the same tensors (names, shapes, dtypes) on the
same backend (and, for an allreduce, takes the same road: shared memory or MPI), and raises
RankMismatchError naming them otherwise; later runs skip the check.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from .._types import TensorLike
from ..graph import Tensor, convert_to_tensor, make_op
from ..ops import registry
from ..ops.math_ops import zeros_like
from ..shapes import ShapeError, TensorShape
from . import collectives as C
from . import runtime, shared

ALLREDUCE, BROADCAST, ALLGATHER, ALLGATHER_GRAD = "DistAllreduce", "DistBroadcast", "DistAllgather", "DistAllgatherGrad"
OVERLAPPED, START, WAIT = "DistAllreduceOverlapped", "DistAllreduceStart", "DistAllreduceWait"


def _descriptor(spec, kind, **fields):
    """What the ranks compare before a kernel's first collective (C.agree_on)."""
    tensors = [{"name": n, "shape": list(s), "dtype": d.name}
               for n, s, d in zip(spec.attrs.get("names", [spec.name]), spec.in_shapes, spec.in_dtypes)]
    return {"collective": kind, "name": spec.name, "backend": spec.backend.name, "tensors": tensors, **fields}


def _first_run_check(spec, kind, **fields):
    """A function that, on its first call only, checks that every rank runs this kernel alike."""
    descriptor = _descriptor(spec, kind, **fields)
    pending = [True]

    def check(what):
        if pending:
            C.agree_on(what, descriptor)
            pending.clear()
    return check


def _single_or_tuple(out):
    return out[0] if len(out) == 1 else tuple(out)


# -- allreduce ------------------------------------------------------------------------------------
def _allreduce_host(spec):
    op, names, threshold = spec.attrs["op"], list(spec.attrs["names"]), spec.attrs["threshold"]
    what = f"allreduce '{spec.name}'"
    workspace = _workspace(spec)
    check = _first_run_check(spec, "allreduce", op=op, shared_memory=workspace.shared)

    def allreduce(*arrays):
        check(what)
        return _single_or_tuple(C.allreduce(arrays, op, names, threshold, what, check=False, workspace=workspace))
    return allreduce


def _allreduce_nccl(spec):
    """The cupy backend's allreduce kernel through NCCL, or None (the host kernel, through MPI)."""
    from . import nccl
    check = _first_run_check(spec, "allreduce", op=spec.attrs["op"], shared_memory=False)
    return nccl.allreduce_kernel(spec, check)


def _uses_nccl(backend):
    if backend.name != "cupy":
        return False
    from . import nccl
    return nccl.decision(backend).comm is not None


def _workspace(spec):
    """An allreduce kernel's workspace: shared memory of its own (by op name) when the job allows it."""
    return C.Workspace(key=spec.name, shared=shared.usable(runtime.job()))


def _homes(spec):
    """Where an allreduce kernel's inputs should be computed (OpDef.input_homes): views of this rank's
    slots in the op's shared-memory windows, for kernels that run on host arrays (the numpy backend).
    Called when compiling, on every rank alike, so the ranks first check that they agree (as the kernel's
    first run does), then make the windows."""
    workspace = _workspace(spec)
    C.agree_on(f"allreduce '{spec.name}'", _descriptor(spec, "allreduce", op=spec.attrs["op"],
                                                        shared_memory=workspace.shared))
    if getattr(spec.backend, "xp", None) is not np or not workspace.shared:
        return None
    likes = [C.Like(shape, dtype.np) for shape, dtype in zip(spec.in_shapes, spec.in_dtypes)]
    return C.shared_homes(likes, spec.attrs["threshold"], workspace)


def _allreduce_grad(op, *grads):
    reduce = op.attrs["op"]
    if reduce not in (C.Average, C.Sum):
        raise LookupError(f"no gradient is defined for the {reduce} allreduce '{op.name}' (only average and sum)")
    grads = [g if g is not None else zeros_like(x) for g, x in zip(grads, op.inputs)]
    return grouped_allreduce(grads, op=reduce, names=[f"{n}/grad" for n in op.attrs["names"]],
                             fusion_threshold=op.attrs["threshold"])


def _same_as_inputs(shapes, dtypes, attrs):
    return list(zip(shapes, dtypes))


# -- allreduce overlapped with the backward pass --------------------------------------------------
class _Size:
    """A plan value's dtype and bytes, for the bucket rule."""

    def __init__(self, value):
        self.dtype = value.dtype.np
        self.nbytes = int(np.prod(value.shape, dtype=np.int64)) * self.dtype.itemsize


def _expand_overlapped(low, inputs, attrs):
    """The buckets, on concrete shapes: the tensors from last to first (a model's last layer gets its
    gradient first, so Horovod and PyTorch DDP fill buckets in reverse layer order) cut by the bucket
    rule; every bucket's start step, then every bucket's wait step (the compiler moves them)."""
    if _uses_nccl(low.backend):  # NCCL queues on the step's stream: nothing to overlap on the host
        reduced = low.emit(ALLREDUCE, list(inputs), attrs)
        return reduced if isinstance(reduced, list) else [reduced]
    names, threshold = attrs["names"], C.fusion_threshold(attrs["threshold"])
    order = list(reversed(range(len(inputs))))
    groups = [[order[k] for k in g] for g in C.buckets([_Size(inputs[i]) for i in order], threshold)]
    base = low.current.name if low.current is not None else OVERLAPPED
    tickets = [low.emit(START, [inputs[i] for i in g], {"op": attrs["op"], "names": tuple(names[i] for i in g),
                                                        "threshold": threshold}, name=f"{base}/start_{k}")
               for k, g in enumerate(groups)]
    outs = [None] * len(inputs)
    for k, (g, ticket) in enumerate(zip(groups, tickets)):
        wait_attrs = {"shapes": tuple(inputs[i].shape for i in g), "dtypes": tuple(inputs[i].dtype for i in g)}
        reduced = low.emit(WAIT, [ticket], wait_attrs, name=f"{base}/wait_{k}")
        for i, r in zip(g, reduced if isinstance(reduced, list) else [reduced]):
            outs[i] = r
    return outs


class _Tickets:
    """Allreduces in flight between a start step and its wait step, by the ticket the start returned."""

    def __init__(self):
        self._numbers = itertools.count(1)
        self._flights = {}

    def issue(self, flight):
        ticket = next(self._numbers)
        self._flights[ticket] = flight
        return ticket

    def drop(self, ticket):
        self._flights.pop(ticket, None)

    def take(self, ticket, what):
        flight = self._flights.pop(ticket, None)
        if flight is None:
            raise runtime.DistributedError(f"{what}: no allreduce is in flight for ticket {ticket} (each start "
                                           f"step's ticket is waited for once, in the same run)")
        return flight


_TICKETS = _Tickets()


def _start_host(spec):
    op, names, threshold = spec.attrs["op"], list(spec.attrs["names"]), spec.attrs["threshold"]
    what = f"allreduce '{spec.name}'"
    workspace, last = _workspace(spec), [None]
    check = _first_run_check(spec, "allreduce", op=op, shared_memory=workspace.shared)

    def start(*arrays):
        check(what)
        _TICKETS.drop(last[0])  # a run that failed before its wait: the workspace finishes that allreduce
        flight = C.start_allreduce(arrays, op, names, threshold, what, check=False, workspace=workspace)
        last[0] = _TICKETS.issue(flight)
        return np.int64(last[0])
    return start


def _wait_host(spec):
    what = f"allreduce '{spec.name}'"

    def wait(ticket):
        return _single_or_tuple(C.finish_allreduce(_TICKETS.take(int(ticket), what)))
    return wait


def _ticket_rule(shapes, dtypes, attrs):
    return [(TensorShape([]), _dt.int64)]


def _waited_rule(shapes, dtypes, attrs):
    return [(TensorShape(s), d) for s, d in zip(attrs["shapes"], attrs["dtypes"])]


# -- broadcast ------------------------------------------------------------------------------------
def _broadcast_host(spec):
    root, names = spec.attrs["root_rank"], list(spec.attrs["names"])
    what = f"broadcast '{spec.name}'"
    check = _first_run_check(spec, "broadcast", root=root)
    workspace = C.Workspace()

    def broadcast(*arrays):
        check(what)
        return _single_or_tuple(C.broadcast(arrays, root, names, what, check=False, workspace=workspace))
    return broadcast


def _broadcast_grad(op, *grads):
    """Every rank's loss depends on the root's value: the root gets the sum of all gradients, others zero."""
    grads = [g if g is not None else zeros_like(x) for g, x in zip(grads, op.inputs)]
    summed = grouped_allreduce(grads, op=C.Sum, names=[f"{n}/grad" for n in op.attrs["names"]])
    if runtime.rank() == op.attrs["root_rank"]:
        return summed
    return [zeros_like(s) for s in summed]  # still fed by the allreduce, so every rank runs it


# -- allgather ------------------------------------------------------------------------------------
def _allgather_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    if len(shape) == 0:
        raise ShapeError("allgather concatenates along axis 0 and cannot take a scalar; reshape it to (1,)")
    first = None if shape[0] is None else shape[0] * attrs["size"]
    return [(TensorShape([first] + list(shape[1:])), dtypes[0])]


def _allgather_host(spec):
    what = f"allgather '{spec.name}'"
    check = _first_run_check(spec, "allgather")

    def allgather(array):
        check(what)
        return C.allgather(array, spec.name, what, equal_shapes=True)
    return allgather


def _allgather_grad_rule(shapes, dtypes, attrs):
    shape = shapes[0]
    first = None if shape[0] is None else shape[0] // attrs["size"]
    return [(TensorShape([first] + list(shape[1:])), dtypes[0])]


def _allgather_grad_host(spec):
    what = f"allgather gradient '{spec.name}'"
    rank, n = spec.attrs["rank"], spec.attrs["size"]
    check = _first_run_check(spec, "allgather gradient")

    def rows_of_sum(grad):
        check(what)
        summed = C.allreduce([grad], C.Sum, [spec.name], what=what, check=False)[0]
        rows = grad.shape[0] // n
        return summed[rank * rows:(rank + 1) * rows]
    return rows_of_sum


def _allgather_grad(op, grad):
    return [make_op(ALLGATHER_GRAD, [grad], {"rank": runtime.rank(), "size": op.attrs["size"]},
                    name=f"{op.name}_rows").outputs[0]]


def register_ops():
    """Add the collective op types to the registry (once per process)."""
    if registry.find(ALLREDUCE) is not None:
        return
    registry.register(ALLREDUCE, _same_as_inputs, grad=_allreduce_grad, stateful=True, host=_allreduce_host,
                      input_homes=_homes, reuses_outputs=True, backend_kernels={"cupy": _allreduce_nccl})
    registry.register(OVERLAPPED, _same_as_inputs, grad=_allreduce_grad, stateful=True, expand=_expand_overlapped)
    registry.register(START, _ticket_rule, stateful=True, host=_start_host, schedule="early", input_homes=_homes)
    registry.register(WAIT, _waited_rule, stateful=True, host=_wait_host, schedule="late", reuses_outputs=True)
    registry.register(BROADCAST, _same_as_inputs, grad=_broadcast_grad, stateful=True, host=_broadcast_host)
    registry.register(ALLGATHER, _allgather_rule, grad=_allgather_grad, stateful=True, host=_allgather_host)
    registry.register(ALLGATHER_GRAD, _allgather_grad_rule, stateful=True, host=_allgather_grad_host)


# -- building them --------------------------------------------------------------------------------
def _tensors(values, what):
    tensors = [convert_to_tensor(v) for v in values]
    if not tensors:
        raise ValueError(f"{what} needs at least one tensor")
    return tensors


def grouped_allreduce(tensors: Sequence[TensorLike], op: str = C.Average, name: str | None = None,
                      names: Sequence[str] | None = None, fusion_threshold: int | None = None,
                      overlap: bool = False) -> list[Tensor]:
    """One DistAllreduce op over `tensors` (returns its outputs, in order): the fused allreduce that
    DistributedOptimizer puts in every training step. `names` label the tensors in errors. `overlap`:
    a DistAllreduceOverlapped op instead, whose buckets each start as soon as their tensors are computed
    and are waited for only where they are read (give the tensors in layer order: they are bucketed from
    the last)."""
    runtime.job("allreduce")
    tensors = _tensors(tensors, "allreduce")
    names = tuple(names) if names is not None else tuple(t.name for t in tensors)
    if len(names) != len(tensors):
        raise ValueError(f"allreduce: {len(tensors)} tensors but {len(names)} names")
    if op not in C.REDUCE_OPS:
        raise ValueError(f"allreduce: unknown reduction {op!r}; use one of {', '.join(C.REDUCE_OPS)}")
    for t, n in zip(tensors, names):
        if op == C.Average and not t.dtype.is_floating:
            raise TypeError(f"allreduce: cannot average the {t.dtype.name} tensor '{n}'; use op=Sum")
    if fusion_threshold is not None:
        fusion_threshold = C.fusion_threshold(fusion_threshold)
    attrs = {"op": op, "names": names, "threshold": fusion_threshold}
    return list(make_op(OVERLAPPED if overlap else ALLREDUCE, tensors, attrs, name or "DistributedAllreduce").outputs)


def grouped_broadcast(tensors: Sequence[TensorLike], root_rank: int, name: str | None = None,
                      names: Sequence[str] | None = None) -> list[Tensor]:
    """One DistBroadcast op: root_rank's values of `tensors` on every rank."""
    j = runtime.job("broadcast")
    tensors = _tensors(tensors, "broadcast")
    root_rank = C.check_root(root_rank, j.size, "broadcast")
    names = tuple(names) if names is not None else tuple(t.name for t in tensors)
    attrs = {"root_rank": root_rank, "names": names}
    return list(make_op(BROADCAST, tensors, attrs, name or "DistributedBroadcast").outputs)


def allgather_op(tensor: TensorLike, name: str | None = None) -> Tensor:
    j = runtime.job("allgather")
    tensors = _tensors([tensor], "allgather")
    return make_op(ALLGATHER, tensors, {"size": j.size}, name or "DistributedAllgather").outputs[0]
