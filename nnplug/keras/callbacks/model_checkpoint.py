"""ModelCheckpoint: save the model or its weights after each epoch, or only when the monitor improves."""
from __future__ import annotations

from typing import Any

from .base import Callback
from .monitor import Monitor
from ..._types import StrPath


class ModelCheckpoint(Callback):
    """`filepath` may hold `{epoch:02d}` and log keys (`{val_loss:.2f}`); the file's extension picks the
    format, as in `model.save`."""

    def __init__(self, filepath: StrPath, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None, period: int = 1) -> None:
        super().__init__()
        if save_freq != "epoch":
            raise NotImplementedError(f"ModelCheckpoint(save_freq={save_freq!r}): only 'epoch' is supported")
        self.filepath, self.verbose = str(filepath), verbose
        self.monitor = Monitor("ModelCheckpoint", monitor, mode)
        self.save_best_only, self.save_weights_only, self.period = save_best_only, save_weights_only, int(period)
        self.best = self.monitor.worst if initial_value_threshold is None else initial_value_threshold
        self._since = 0

    def _path(self, epoch, logs):
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill in filepath '{self.filepath}' from the epoch and the "
                             f"logs ({', '.join(sorted(logs))}): {type(e).__name__}: {e}") from None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self._since += 1
        if self._since < self.period:
            return
        self._since = 0
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = self.monitor.value(logs)
            if not self.monitor.improved(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1:05d}: {self.monitor.name} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1:05d}: {self.monitor.name} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1:05d}: saving model to {path}")
        (self.model.save_weights if self.save_weights_only else self.model.save)(path, overwrite=True)
