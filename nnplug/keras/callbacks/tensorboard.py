"""Keras's TensorBoard callback: the epoch logs as scalars, the weights as histograms every
`histogram_freq` epochs, and the model's graph, in TensorBoard event files (nnplug.summary.FileWriter)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Callback
from ..._types import StrPath

if TYPE_CHECKING:
    from ...summary import FileWriter


class TensorBoard(Callback):
    """`keras.callbacks.TensorBoard(log_dir='./logs', histogram_freq=0, write_graph=True)`; other Keras
    arguments (write_images, update_freq, profile_batch, ...) are accepted and have no effect."""

    writer: FileWriter | None

    def __init__(self, log_dir: StrPath = "./logs", histogram_freq: int = 0, write_graph: bool = True,
                 **kwargs: Any) -> None:
        super().__init__()
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}")
        self.log_dir, self.histogram_freq, self.write_graph = log_dir, histogram_freq, write_graph
        self.writer = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        from ...summary import FileWriter
        self.writer = FileWriter(self.log_dir, graph=self.model._graph if self.write_graph else None)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        scalars = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, (int, float))}
        self.writer.add_scalars(epoch, {("epoch_" + k): v for k, v in scalars.items()})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self.writer.add_histograms(epoch, {w.op.name: value for w, value in
                                               zip(self.model.weights, self.model.get_weights())})
        self.writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
