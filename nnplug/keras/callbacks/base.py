"""The callback interface, the list fit drives, and History (which fit always adds, last)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models import Model


class Callback:
    """Hooks into fit; `self.model` is the model being trained, `self.params` fit's settings."""

    model: Model | None
    params: dict[str, Any]

    def __init__(self) -> None:
        self.model, self.params = None, {}

    def set_model(self, model: Model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None: pass
    def on_train_end(self, logs: dict[str, Any] | None = None) -> None: pass
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None: pass
    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None: pass
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None: pass
    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None: pass

    def wants_batches(self) -> bool:
        """Whether fit must call the per-batch hooks (it skips building batch logs when no callback does)."""
        return type(self).on_batch_begin is not Callback.on_batch_begin or \
            type(self).on_batch_end is not Callback.on_batch_end


class History(Callback):
    """Records every epoch's logs: `history.history['loss']`, `['val_loss']`, one list per metric."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch, self.history = [], {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class CallbackList:
    """fit's callbacks in Keras's order: the progress bar first (when verbose and none is given), the user's,
    then History last, so it records what the others added to the logs (e.g. 'lr')."""

    def __init__(self, callbacks: Sequence[Callback] | None, model: Model, params: dict[str, Any],
                 progbar: Callback | None = None) -> None:
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be keras.callbacks.Callback objects, got {cb!r}")
        if progbar is not None and not any(type(cb) is type(progbar) for cb in callbacks):
            callbacks.insert(0, progbar)
        self.history = History()
        self.callbacks = callbacks + [self.history]
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.batch_callbacks = []

    def on_train_begin(self) -> None:
        for cb in self.callbacks:
            cb.on_train_begin({})
        self.batch_callbacks = [cb for cb in self.callbacks if cb.wants_batches()]

    def on_train_end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end({})

    def on_epoch_begin(self, epoch: int) -> None:
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
