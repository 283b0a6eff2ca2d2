"""ProgbarLogger: fit's progress output, as Keras prints it.

verbose=1 on a terminal: a live bar per epoch (tqdm, Keras's look); verbose=1 anywhere else (a file, a pipe,
a CI log): one finished bar line per epoch, with no carriage-return frames; verbose=2: ' - 4s - loss: ...'.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from tqdm import tqdm

from .base import Callback

clock = time.perf_counter  # module-level so tests can fix the time
BAR_WIDTH = 30


def per_step(seconds: float) -> str:
    """Keras's time-per-sample text: '32us/step', '5ms/step', '2s/step'."""
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_logs(logs: dict[str, Any]) -> str:
    return "".join(f" - {k}: {v:.4f}" for k, v in logs.items())


def finished_line(done: int, total: int, seconds: float, logs: dict[str, Any]) -> str:
    """`54000/54000 [==============================] - 4s 74us/step - loss: 0.7477`."""
    step = per_step(seconds / done) if done else ""
    return f"{done}/{total} [{'=' * BAR_WIDTH}] - {seconds:.0f}s {step}{format_logs(logs)}"


def is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class _KerasBar(tqdm):
    """tqdm whose line reads `54000/54000 [=====>....] - ETA: 1s - loss: 0.0450` as Keras draws it."""

    RUNNING = "{n_fmt}/{total_fmt} [{bar:30}] - ETA: {remaining_s:.0f}s{logs}"
    DONE = "{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s {per_step}{logs}"

    def __init__(self, total, logs_fn, file):
        self.logs_fn = logs_fn
        super().__init__(total=total, bar_format=self.RUNNING, ascii=".>=", file=file, ncols=250,
                         mininterval=0.1, leave=True, dynamic_ncols=False)

    @property
    def format_dict(self):
        d = super().format_dict
        d["logs"] = format_logs(self.logs_fn()) if d["n"] else ""
        d["per_step"] = per_step(d["elapsed"] / d["n"]) if d["n"] else ""
        return d

    def finish(self):
        self.bar_format = self.DONE
        self.close()


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and the epoch's progress to sys.stdout. count_mode 'samples' counts samples (as
    Keras 2 does for arrays), 'steps' counts batches."""

    file: TextIO | None
    bar: _KerasBar | None

    def __init__(self, count_mode: str = "samples", stateful_metrics: Sequence[str] | None = None) -> None:
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError(f"ProgbarLogger: count_mode must be 'samples' or 'steps', got {count_mode!r}")
        self.count_mode = count_mode
        self.file, self.live, self.bar = None, False, None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.file = sys.stdout
        self.verbose = self.params.get("verbose", 1)
        self.live = self.verbose == 1 and is_terminal(self.file)

    def wants_batches(self) -> bool:
        return self.live

    def _total(self):
        samples, batch = self.params.get("samples", 0), self.params.get("batch_size") or 1
        return samples if self.count_mode == "samples" else -(-samples // batch)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", file=self.file)
        self.start = clock()
        self.sums, self.seen = {}, 0
        if self.live:
            self.bar = _KerasBar(self._total(), self._running_logs, self.file)

    def _running_logs(self):
        return {k: v / max(self.seen, 1) for k, v in self.sums.items()}

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        k = logs.get("size", 1)
        for name, value in logs.items():
            if name not in ("batch", "size"):
                self.sums[name] = self.sums.get(name, 0.0) + value * k
        self.seen += k
        self.bar.update(k if self.count_mode == "samples" else 1)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        if self.bar is not None:
            self.bar.logs_fn = lambda: logs
            self.bar.finish()
            self.bar = None
        elif self.verbose == 1:
            total = self._total()
            print(finished_line(total, total, clock() - self.start, logs), file=self.file)
        elif self.verbose == 2:
            print(f" - {clock() - self.start:.0f}s{format_logs(logs)}", file=self.file)
