"""Callbacks: hooks into `fit` (History, EarlyStopping, ModelCheckpoint, LambdaCallback, CSVLogger) and the
Keras-style progress line, drawn by tqdm with a custom bar format."""
import csv
import os
import sys
import time

import numpy as np
from tqdm import tqdm


class Callback:
    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def wants_batches(cb):
    """Whether a callback has per-batch hooks; fit skips building batch logs when none does."""
    return type(cb).on_batch_begin is not Callback.on_batch_begin or \
        type(cb).on_batch_end is not Callback.on_batch_end


class History(Callback):
    """Records every epoch's logs: `history.history['loss']`, `['val_loss']`, one list per metric."""

    def on_train_begin(self, logs=None):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _better(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.startswith("fmeasure"))):
        return np.greater, -np.inf
    return np.less, np.inf


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.op, self._start = _better(mode, monitor)
        self.min_delta = abs(min_delta) if self.op is np.greater else -abs(min_delta)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights = 0, 0, None
        self.best = self.baseline if self.baseline is not None else self._start

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"EarlyStopping monitors '{self.monitor}', which is not in the epoch logs "
                           f"(available: {', '.join(sorted(logs or {}))}); pass validation data for val_* values")
        if self.op(current - self.min_delta, self.best):
            self.best, self.wait = current, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                if self.verbose:
                    print("Restoring model weights from the end of the best epoch")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1:05d}: early stopping")


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after each epoch; `filepath` may hold `{epoch:02d}`, `{val_loss:.2f}`."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", period=1):
        super().__init__()
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only, self.period = save_best_only, save_weights_only, period
        self.op, self.best = _better(mode, monitor)
        self._since = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self._since += 1
        if self._since < self.period:
            return
        self._since = 0
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint monitors '{self.monitor}', which is not in the epoch logs "
                               f"(available: {', '.join(sorted(logs))})")
            if not self.op(current, self.best):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1:05d}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class LambdaCallback(Callback):
    """A callback from plain functions: on_epoch_end=lambda epoch, logs: ..."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None):
        super().__init__()
        for name, fn in list(locals().items()):
            if name.startswith("on_") and fn is not None:
                setattr(self, name, fn)
        if on_batch_begin is None and on_batch_end is None:
            self._no_batches = True

    def wants_batches(self):
        return not getattr(self, "_no_batches", False)


class CSVLogger(Callback):
    """One CSV row per epoch: epoch, then every log key in sorted order."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self.keys, self._file = None, None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header = not exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        writer = csv.writer(self._file, delimiter=self.sep)
        if self._header:
            writer.writerow(["epoch"] + self.keys)
            self._header = False
        writer.writerow([epoch] + [logs.get(k, "NA") for k in self.keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file:
            self._file.close()
            self._file = None


def batch_hooks(callbacks):
    return [cb for cb in callbacks if (cb.wants_batches() if isinstance(cb, LambdaCallback) else wants_batches(cb))]


# -- progress ---------------------------------------------------------------------------------
def per_step(seconds):
    """Keras's time-per-sample text: '32us/step', '5ms/step', '2s/step'."""
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def format_logs(logs):
    return "".join(f" - {k}: {v:.4f}" for k, v in logs.items())


class _KerasBar(tqdm):
    """tqdm whose line reads `54000/54000 [=====>....] - ETA: 1s - loss: 0.0450` as Keras draws it."""

    RUNNING = "{n_fmt}/{total_fmt} [{bar:30}] - ETA: {remaining_s:.0f}s{logs}"
    DONE = "{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s {per_step}{logs}"

    def __init__(self, total, logs_fn, file=None):
        self.logs_fn = logs_fn
        super().__init__(total=total, bar_format=self.RUNNING, ascii=".>=", file=file or sys.stdout,
                         ncols=250, mininterval=0.1, leave=True, dynamic_ncols=False)

    @property
    def format_dict(self):
        d = super().format_dict
        d["logs"] = format_logs(self.logs_fn()) if d["n"] else ""
        d["per_step"] = per_step(d["elapsed"] / d["n"]) if d["n"] else ""
        return d

    def finish(self):
        self.bar_format = self.DONE
        self.close()


class ProgressLogger:
    """verbose=1: a live bar per epoch; verbose=2: one line per epoch."""

    def __init__(self, verbose, epochs, n_samples, file=None):
        self.verbose, self.epochs, self.n, self.file = verbose, epochs, n_samples, file or sys.stdout
        self.bar = None

    def epoch_begin(self, epoch, running_logs):
        print(f"Epoch {epoch + 1}/{self.epochs}", file=self.file)
        self.start = time.perf_counter()
        if self.verbose == 1:
            self.bar = _KerasBar(self.n, running_logs, self.file)

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def epoch_end(self, logs):
        if self.bar is not None:
            self.bar.logs_fn = lambda: logs
            self.bar.finish()
            self.bar = None
        elif self.verbose == 2:
            print(f" - {time.perf_counter() - self.start:.0f}s{format_logs(logs)}", file=self.file)
