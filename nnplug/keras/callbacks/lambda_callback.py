"""LambdaCallback: a callback from plain functions."""
from __future__ import annotations

from collections.abc import Callable

from .base import Callback

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end", "on_train_begin", "on_train_end")


class LambdaCallback(Callback):
    """`LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`; epoch hooks take (epoch, logs), batch hooks
    (batch, logs), train hooks (logs)."""

    def __init__(self, on_epoch_begin: Callable[..., object] | None = None,
                 on_epoch_end: Callable[..., object] | None = None, on_batch_begin: Callable[..., object] | None = None,
                 on_batch_end: Callable[..., object] | None = None, on_train_begin: Callable[..., object] | None = None,
                 on_train_end: Callable[..., object] | None = None) -> None:
        super().__init__()
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_batch_begin": on_batch_begin,
                 "on_batch_end": on_batch_end, "on_train_begin": on_train_begin, "on_train_end": on_train_end}
        for name, fn in given.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be a function, got {fn!r}")
                setattr(self, name, fn)
        self._batches = on_batch_begin is not None or on_batch_end is not None

    def wants_batches(self) -> bool:
        return self._batches
