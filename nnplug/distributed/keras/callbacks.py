"""Horovod's Keras callbacks for `model.fit` under MPI.

Order them as Horovod advises: BroadcastGlobalVariablesCallback first (every rank starts from the root's
weights), MetricAverageCallback before any callback that reads the epoch's metrics (it averages them over
ranks in place), LearningRateWarmupCallback anywhere.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...keras.callbacks import Callback
from .. import collectives as C
from .. import runtime
from .optimizers import is_distributed


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of training, set the model's weights and the optimizer's state on every rank to
    root_rank's (one fused broadcast), so ranks initialised with different seeds start alike."""

    def __init__(self, root_rank: int = 0) -> None:
        super().__init__()
        self.root_rank = root_rank
        self.broadcast_done = False

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.broadcast_done:
            return
        model = self.model
        session = model._session
        variables = list(model.weights) + list(getattr(model.optimizer, "weights", []))
        values = [session.variable_value(v) for v in variables]
        missing = [v.name for v, x in zip(variables, values) if x is None]
        if missing:
            raise ValueError(f"BroadcastGlobalVariablesCallback: variables {', '.join(missing)} are not initialised")
        received = C.broadcast(values, self.root_rank, [v.name for v in variables],
                               what="BroadcastGlobalVariablesCallback")
        for var, value in zip(variables, received):
            session.load_variable(var, value)
        self.broadcast_done = True


class MetricAverageCallback(Callback):
    """At each epoch's end, replace every metric in the logs by its mean over ranks (each rank measured it
    on its own shard), so rank 0 prints and checkpoints on the average."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        keys = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.floating, np.integer)))
        if not keys:
            return
        values = np.array([logs[k] for k in keys], np.float64)
        averaged = C.allreduce([values], C.Average, ["metrics: " + ", ".join(keys)], what="MetricAverageCallback")[0]
        logs.update({k: float(v) for k, v in zip(keys, averaged)})


class LearningRateWarmupCallback(Callback):
    """Horovod's gradual warmup (Goyal et al. 2017): the learning rate grows linearly, batch by batch, from
    initial_lr / size() to initial_lr over the first `warmup_epochs` epochs, then stays at initial_lr.
    initial_lr defaults to the optimizer's learning rate when training starts (scale it by size() first).

    Needs the optimizer from nnplug.distributed.keras.DistributedOptimizer, whose learning rate is read at
    every step. Horovod's momentum correction is not applied (the momentum is fixed in the graph)."""

    initial_lr: float  # None only until on_train_begin reads the optimizer's rate

    def __init__(self, warmup_epochs: float = 5, initial_lr: float | None = None, steps_per_epoch: int | None = None,
                 verbose: int = 0) -> None:
        super().__init__()
        if not warmup_epochs > 0:
            raise ValueError(f"LearningRateWarmupCallback: warmup_epochs must be positive, got {warmup_epochs}")
        self.warmup_epochs, self.initial_lr = warmup_epochs, initial_lr
        self.steps_per_epoch, self.verbose = steps_per_epoch, verbose
        self.current_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        opt = self.model.optimizer
        if not is_distributed(opt):
            raise TypeError("LearningRateWarmupCallback changes the learning rate while fit runs, which needs the "
                            "optimizer wrapped by nnplug.distributed.keras.DistributedOptimizer before compile "
                            "(its learning rate is read at every step)")
        if self.initial_lr is None:
            self.initial_lr = opt.learning_rate
        if self.steps_per_epoch is None:
            samples, batch = self.params.get("samples"), self.params.get("batch_size")
            if not samples or not batch:
                raise ValueError("LearningRateWarmupCallback: pass steps_per_epoch (fit did not say its batches)")
            self.steps_per_epoch = -(-samples // batch)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.current_epoch = epoch

    def learning_rate(self, epoch: int, batch: int) -> float:
        """The rate for `batch` of `epoch` (both from 0)."""
        progress = epoch + batch / self.steps_per_epoch
        if progress >= self.warmup_epochs:
            return self.initial_lr
        n = runtime.size()
        return self.initial_lr / n * (progress * (n - 1) / self.warmup_epochs + 1)

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.model.optimizer.learning_rate = self.learning_rate(self.current_epoch, batch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if epoch == self.warmup_epochs - 1 and self.verbose and runtime.rank() == 0:
            print(f"\nEpoch {epoch + 1}: finished gradual learning rate warmup to {self.initial_lr:g}.")
