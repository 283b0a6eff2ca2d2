"""Keras optimizers that average their gradients over ranks, with a learning rate read at every step.

`DistributedOptimizer(SGD(...))` returns a copy of the optimizer whose class is a subclass of the
original's (and keeps its name, so a saved model loads as plain SGD): its gradients, once clipped, go
through one fused allreduce op (overlapped with the backward pass), and its learning rate is read from
`optimizer.learning_rate` by a host op at each step, so LearningRateWarmupCallback can change it while
`fit` runs.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import dtypes as _dt
from ...graph import Tensor, convert_to_tensor, make
from ...keras import optimizers as _keras_optimizers
from ...ops import math_ops as M
from ...ops import registry
from .. import collectives as C
from .. import runtime
from ..ops import grouped_allreduce

HOST_SCALAR = "HostScalar"


def _host_scalar_kernel(spec):
    read, dtype = spec.attrs["read"], spec.attrs["dtype"].np
    return lambda: np.asarray(read(), dtype=dtype)


if registry.find(HOST_SCALAR) is None:
    registry.register(HOST_SCALAR, lambda s, d, a: [((), a["dtype"])], stateful=True, host=_host_scalar_kernel)


def host_scalar(read: Callable[[], float], dtype: _dt.DType = _dt.float32, name: str = "HostScalar") -> Tensor:
    """A scalar tensor whose value is `read()` at each run (a Python number that may change between runs)."""
    return make(HOST_SCALAR, [], {"read": read, "dtype": dtype}, name=name)


class _Distributed:
    """Mixed in before the wrapped optimizer's class."""

    def get_updates(self, loss, params):
        self._dist_names = [p.name for p in params]
        return super().get_updates(loss, params)

    def _clip(self, grads):
        grads = super()._clip(grads)  # each rank clips its own gradients, then they are averaged (Horovod)
        if not grads or runtime.size() == 1:
            return grads
        return grouped_allreduce(grads, op=self._dist_op, names=self._dist_names, fusion_threshold=self._dist_threshold,
                                 overlap=self._dist_overlap)

    def _lr(self):
        lr = host_scalar(lambda: self.learning_rate, name="learning_rate")
        if self.decay > 0:
            t = M.cast(self.iterations, _dt.float32)
            lr = lr / (1.0 + convert_to_tensor(self.decay, dtype=_dt.float32) * t)
        return lr


def DistributedOptimizer(optimizer: str | _keras_optimizers.Optimizer, op: str = C.Average,  # noqa: N802 - Horovod's name
                         fusion_threshold: int | None = None, overlap: bool = True) -> _keras_optimizers.Optimizer:
    """A copy of the Keras `optimizer` (an object or a name like 'sgd') whose gradients are averaged over all
    ranks (op=Sum adds them). Wrap it before `compile`; scale its learning rate by size() yourself.
    overlap: as nnplug.distributed.DistributedOptimizer's (buckets start during the backward pass)."""
    runtime.job("keras DistributedOptimizer")
    optimizer = _keras_optimizers.get(optimizer)
    if isinstance(optimizer, _Distributed):
        raise ValueError(f"optimizer {optimizer.name} is already a DistributedOptimizer")
    if optimizer.iterations is not None:
        raise ValueError(f"optimizer {optimizer.name} has already built its updates (a model was compiled and "
                         f"trained with it); wrap a fresh optimizer before model.compile")
    if op not in (C.Average, C.Sum):
        raise ValueError(f"DistributedOptimizer: op must be Average or Sum, got {op!r}")
    base = type(optimizer)
    cls = type(base.__name__, (_Distributed, base), {"__module__": base.__module__, "__doc__": base.__doc__})
    wrapped: Any = copy.copy(optimizer)  # it becomes a `cls` below
    wrapped.weights = []
    wrapped.__class__ = cls
    wrapped._dist_op = op
    wrapped._dist_threshold = None if fusion_threshold is None else C.fusion_threshold(fusion_threshold)
    wrapped._dist_names = None
    wrapped._dist_overlap = bool(overlap)
    return wrapped


def is_distributed(optimizer: Any) -> bool:
    return isinstance(optimizer, _Distributed)
