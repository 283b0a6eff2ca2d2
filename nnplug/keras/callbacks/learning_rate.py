"""Callbacks that set the optimizer's learning rate between epochs (it is a variable of the training step, so
a new value takes effect at the next batch without rebuilding anything)."""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Callback
from .monitor import Monitor


def _takes_lr(schedule):
    """Whether schedule(epoch, lr) is meant rather than the older schedule(epoch)."""
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


class LearningRateScheduler(Callback):
    """At each epoch's start, lr = schedule(epoch, lr) (or schedule(epoch)); the epoch's logs get 'lr'."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be a function of (epoch, lr), got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose
        self._with_lr = _takes_lr(schedule)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        opt = self.model.optimizer
        lr = self.schedule(epoch, opt.learning_rate) if self._with_lr else self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) or \
                not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite float >= 0, got {lr!r} "
                             f"for epoch {epoch}")
        opt.learning_rate = float(lr)
        if self.verbose:
            print(f"\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["lr"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(Callback):
    """`lr *= factor` (down to `min_lr`) once `monitor` has not improved by min_delta for `patience` epochs; then
    `cooldown` epochs pass before counting again. The epoch's logs get 'lr' (the rate the epoch used)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__()
        if "epsilon" in kwargs:  # the Keras 2.0 name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected arguments: {', '.join(sorted(kwargs))}")
        if not 0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self.monitor = Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best, self.wait, self.cooldown_counter = self.monitor.worst, 0, 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        opt = self.model.optimizer
        logs = logs if logs is not None else {}
        logs["lr"] = opt.learning_rate
        current = self.monitor.value(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor.improved(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait >= self.patience and opt.learning_rate > np.float32(self.min_lr):
            opt.learning_rate = max(opt.learning_rate * self.factor, self.min_lr)
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {opt.learning_rate}.")
            self.cooldown_counter, self.wait = self.cooldown, 0
