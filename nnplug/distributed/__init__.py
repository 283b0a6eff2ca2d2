"""Data-parallel training over MPI, as Horovod does it: one process per device, each training on its own
shard of the data, gradients averaged by an allreduce every step.

    import nnplug as tf
    import nnplug.distributed as dist

    dist.init()
    opt = dist.DistributedOptimizer(tf.train.MomentumOptimizer(0.01 * dist.size(), 0.9))
    train = opt.minimize(loss)
    sess.run(tf.global_variables_initializer())
    sess.run(dist.broadcast_global_variables(0))   # every rank starts from rank 0's weights
    x_mine, y_mine = dist.shard(x, y)              # this rank's part of the data

and run it with `mpiexec -n 4 python train.py` or `nnplug launch -n 4 train.py`. With one GPU per rank,
pick it by the rank's place on its machine: `tf.set_backend(f"cuda:{dist.local_rank()}")` after init. Without a launcher the
job has one rank and the collectives return their inputs. Keras: `nnplug.distributed.keras`.

Collectives take graph tensors (and then add ops to the graph) or NumPy arrays (and then run at once).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard, overload

import numpy as np
from numpy.typing import ArrayLike

from . import collectives as _collectives
from . import ops as _ops
from .collectives import STATS, Average, Max, Min, Sum, fusion_threshold
from .data import shard, shard_bounds
from .optimizer import (
    BroadcastGlobalVariablesHook, DistributedOptimizer, broadcast_global_variables, broadcast_variables,
)
from .ops import grouped_allreduce, grouped_broadcast
from .runtime import (
    CollectiveTimeoutError, DistributedError, RankMismatchError, init, is_initialized, local_rank, local_size, rank,
    size,
)

_ops.register_ops()

if TYPE_CHECKING:
    from ..graph import Tensor
    from .._types import SupportsTensor


def _is_graph(value: object) -> TypeGuard[Tensor | SupportsTensor]:
    from ..graph import Tensor
    return isinstance(value, Tensor) or hasattr(value, "_as_tensor")


def _reduce_op(average, op):
    if op is not None and average is not None:
        raise ValueError("allreduce takes either average= (Horovod's older spelling) or op=, not both")
    if op is not None:
        return op
    return Average if average is None or average else Sum


@overload
def allreduce(tensor: Tensor | SupportsTensor, average: bool | None = None, name: str | None = None,
              op: str | None = None) -> Tensor: ...
@overload
def allreduce(tensor: ArrayLike, average: bool | None = None, name: str | None = None,
              op: str | None = None) -> np.ndarray: ...
def allreduce(tensor: Tensor | SupportsTensor | ArrayLike, average: bool | None = None, name: str | None = None,
              op: str | None = None) -> Tensor | np.ndarray:
    """The elementwise mean (op=Average, the default; average=False or op=Sum: the sum; Min, Max) of
    `tensor` over all ranks: an op for a graph tensor or Variable, else a NumPy array computed now."""
    op = _reduce_op(average, op)
    if _is_graph(tensor):
        return grouped_allreduce([tensor], op=op, name=name)[0]
    label = name or "allreduce"
    return _collectives.allreduce([np.asarray(tensor)], op, [label], what=f"allreduce '{label}'")[0]


@overload
def allgather(tensor: Tensor | SupportsTensor, name: str | None = None) -> Tensor: ...
@overload
def allgather(tensor: ArrayLike, name: str | None = None) -> np.ndarray: ...
def allgather(tensor: Tensor | SupportsTensor | ArrayLike, name: str | None = None) -> Tensor | np.ndarray:
    """The ranks' tensors concatenated along axis 0 in rank order. NumPy arrays may differ in their first
    dimension; a graph tensor needs the same shape on every rank (its plan fixes the output shape)."""
    if _is_graph(tensor):
        return _ops.allgather_op(tensor, name)
    label = name or "allgather"
    return _collectives.allgather(tensor, label, what=f"allgather '{label}'")


@overload
def broadcast(tensor: Tensor | SupportsTensor, root_rank: int, name: str | None = None) -> Tensor: ...
@overload
def broadcast(tensor: ArrayLike, root_rank: int, name: str | None = None) -> np.ndarray: ...
def broadcast(tensor: Tensor | SupportsTensor | ArrayLike, root_rank: int,
              name: str | None = None) -> Tensor | np.ndarray:
    """root_rank's value of `tensor` on every rank: an op for a graph tensor, else a NumPy array now."""
    if _is_graph(tensor):
        return grouped_broadcast([tensor], root_rank, name=name)[0]
    label = name or "broadcast"
    return _collectives.broadcast([np.asarray(tensor)], root_rank, [label], what=f"broadcast '{label}'")[0]


def stats() -> dict[str, Any]:
    """Allreduce costs so far: calls, fused buffers, bytes, bytes packed (copied into fused buffers:
    none for gradients the step computed in shared memory), seconds spent in them (totals, and `last_*`
    for the last call: one bucket of a training step's gradients). `STATS.reset()` starts over."""
    return STATS.as_dict()


__all__ = [
    "Average", "BroadcastGlobalVariablesHook", "CollectiveTimeoutError", "DistributedError", "DistributedOptimizer",
    "Max", "Min", "RankMismatchError", "STATS", "Sum", "allgather", "allreduce", "broadcast",
    "broadcast_global_variables", "broadcast_variables", "fusion_threshold", "grouped_allreduce", "grouped_broadcast",
    "init", "is_initialized", "local_rank", "local_size", "rank", "shard", "shard_bounds", "size", "stats",
]
