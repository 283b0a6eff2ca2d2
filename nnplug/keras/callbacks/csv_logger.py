"""CSVLogger: one CSV row per epoch."""
from __future__ import annotations

import csv
import os
from typing import IO, Any

from .base import Callback
from ..._types import StrPath


class CSVLogger(Callback):
    """Columns: epoch, then every log key of the first epoch in sorted order ('NA' where a later epoch lacks
    one); `append=True` continues a file, writing the header only if it was empty."""

    keys: list[str] | None
    _file: IO[str] | None

    def __init__(self, filename: StrPath, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self.keys, self._file = None, None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header = not exists

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        writer = csv.writer(self._file, delimiter=self.sep)
        if self._header:
            writer.writerow(["epoch"] + self.keys)
            self._header = False
        writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._file:
            self._file.close()
            self._file = None
