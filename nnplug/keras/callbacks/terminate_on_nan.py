"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""
from __future__ import annotations

import math
from typing import Any

from .base import Callback


class TerminateOnNaN(Callback):
    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
