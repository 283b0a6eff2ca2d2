"""Data-parallel training with the TF1 API: DistributedOptimizer averages gradients over ranks, and the
broadcast helpers start every rank from rank 0's variables (Horovod's names and behaviour)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..graph import get_default_graph
from ..train.optimizers import GradsAndVars, Optimizer
from ..variables import Variable, global_variables, group
from . import collectives as C
from . import runtime
from .ops import grouped_allreduce, grouped_broadcast

if TYPE_CHECKING:
    from ..graph import Graph, Operation, Tensor
    from ..session import Session
    from ..train.optimizers_extra import Coordinator


class DistributedOptimizer(Optimizer):
    """Wraps any nnplug.train optimizer: `compute_gradients` computes this rank's gradients, then averages
    them over all ranks with one fused allreduce op (overlapped with the backward pass); `apply_gradients`
    is the wrapped optimizer's, so every rank takes the same step. `minimize` works as usual. In a job of
    one rank it adds no op.

    op: Average (default) or Sum — Sum suits a loss already divided by the global batch size (uneven
    shards). fusion_threshold: bytes per fused buffer (default NNPLUG_FUSION_THRESHOLD, else 64 MiB).
    overlap (default True): the gradients are bucketed from the last layer's, and each bucket's allreduce
    starts as soon as its gradients are computed, so it runs while the rest of the backward pass does;
    False: one allreduce of all of them once all are computed.
    """

    def __init__(self, optimizer: Optimizer, name: str | None = None, use_locking: bool = False, op: str = C.Average,
                 fusion_threshold: int | None = None, overlap: bool = True) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"DistributedOptimizer wraps an nnplug.train optimizer, got {optimizer!r:.80}")
        runtime.job("DistributedOptimizer")
        if op not in (C.Average, C.Sum):
            raise ValueError(f"DistributedOptimizer: op must be Average or Sum, got {op!r}")
        super().__init__(optimizer._lr, use_locking, name or f"Distributed{optimizer._name}")
        self._optimizer = optimizer
        self._op = op
        self._threshold = None if fusion_threshold is None else C.fusion_threshold(fusion_threshold)
        self._overlap = bool(overlap)

    def compute_gradients(self, *args: Any, **kwargs: Any) -> GradsAndVars:
        grads_and_vars = self._optimizer.compute_gradients(*args, **kwargs)
        present = [(g, v) for g, v in grads_and_vars if g is not None]
        if not present or runtime.size() == 1:  # one rank: nothing to average (as Horovod skips it)
            return grads_and_vars
        graph = present[0][0].graph
        with graph.name_scope(f"{self._name}_Allreduce"):
            reduced = iter(grouped_allreduce([g for g, _ in present], op=self._op,
                                             names=[v.name for _, v in present], fusion_threshold=self._threshold,
                                             overlap=self._overlap))
        return [(next(reduced) if g is not None else None, v) for g, v in grads_and_vars]

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor | None, Variable]],
                        global_step: Variable | None = None, name: str | None = None) -> Operation:
        return self._optimizer.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self) -> list[str]:
        return self._optimizer.get_slot_names()

    def variables(self) -> list[Variable]:
        return self._optimizer.variables()


def broadcast_variables(variables: Iterable[Variable], root_rank: int = 0, name: str | None = None) -> Operation:
    """An op that sets `variables` on every rank to root_rank's values (one fused broadcast)."""
    variables = list(variables)
    if not variables:
        return group(name=name or "broadcast_variables")
    values = grouped_broadcast([v.value() for v in variables], root_rank, names=[v.name for v in variables])
    return group(*[v.assign(x) for v, x in zip(variables, values)], name=name or "broadcast_variables")


def broadcast_global_variables(root_rank: int = 0) -> Operation:
    """An op that sets every global variable to root_rank's value: run it once after the initializer."""
    return broadcast_variables(global_variables(), root_rank, name="broadcast_global_variables")


class BroadcastGlobalVariablesHook:
    """Horovod's hook without a MonitoredSession: `hook.after_create_session(sess)` (or `hook(sess)`) once
    the variables are initialised broadcasts them all from root_rank. The op is built on first use, in the
    session's graph (or at `begin()`, as a SessionRunHook builds it)."""

    def __init__(self, root_rank: int = 0) -> None:
        self.root_rank = root_rank
        self.bcast_op = None
        self._graph = None

    def begin(self, graph: Graph | None = None) -> None:
        graph = graph if graph is not None else get_default_graph()
        if self.bcast_op is None or self._graph is not graph:
            with graph.as_default():
                self.bcast_op = broadcast_global_variables(self.root_rank)
            self._graph = graph

    def after_create_session(self, session: Session, coord: Coordinator | None = None) -> None:
        self.begin(session.graph)
        session.run(self.bcast_op)

    __call__ = after_create_session
