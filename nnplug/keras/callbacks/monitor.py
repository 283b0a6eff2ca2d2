"""The monitored quantity of EarlyStopping, ModelCheckpoint and ReduceLROnPlateau: which direction is better,
the min_delta an improvement must beat, and a clear error when the logs lack it."""
from __future__ import annotations

import numpy as np


class Monitor:
    def __init__(self, owner, monitor, mode="auto", min_delta=0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.owner, self.name = owner, monitor
        self.higher_is_better = mode == "max" or (mode == "auto" and ("acc" in monitor or
                                                                      monitor.startswith("fmeasure")))
        self.worst = -np.inf if self.higher_is_better else np.inf
        self.min_delta = abs(min_delta)

    def improved(self, current, reference):
        """Keras's test: better than `reference` by more than min_delta."""
        if self.higher_is_better:
            return np.greater(current - self.min_delta, reference)
        return np.less(current + self.min_delta, reference)

    def value(self, logs):
        current = (logs or {}).get(self.name)
        if current is None:
            raise ValueError(f"{self.owner} monitors '{self.name}', which is not in the epoch logs (available: "
                             f"{', '.join(sorted(logs or {}))}); pass validation data for val_* values")
        return current
