"""TF1's `tf.RunOptions` and `tf.RunMetadata`, as `Session.run(options=, run_metadata=)` takes them.

nnplug's compiled plans keep no per-op trace, so a RunMetadata stays empty: its serialized form is that
of TF1's empty RunMetadata protobuf (no bytes), which `FileWriter.add_run_metadata` records and
TensorBoard reads as a step without trace.
"""
from __future__ import annotations

from typing import Any


class RunOptions:
    """Accepted for TF1 programs (`tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)`); nnplug
    traces nothing, so the options change nothing."""

    NO_TRACE, SOFTWARE_TRACE, HARDWARE_TRACE, FULL_TRACE = 0, 1, 2, 3

    def __init__(self, trace_level: int = 0, timeout_in_ms: int = 0, report_tensor_allocations_upon_oom: bool = False,
                 **kw: Any) -> None:
        if trace_level not in (0, 1, 2, 3):
            raise ValueError(f"tf.RunOptions: trace_level must be one of NO_TRACE, SOFTWARE_TRACE, "
                             f"HARDWARE_TRACE, FULL_TRACE (0..3), got {trace_level!r}")
        self.trace_level = trace_level
        self.timeout_in_ms = timeout_in_ms
        self.report_tensor_allocations_upon_oom = report_tensor_allocations_upon_oom


class RunMetadata:
    """What a run recorded: nothing in nnplug (empty step stats and partition graphs)."""

    def __init__(self) -> None:
        self.step_stats: list[Any] = []
        self.partition_graphs: list[Any] = []
        self.cost_graph = None

    def SerializeToString(self) -> bytes:  # noqa: N802 - the protobuf method's name
        return b""
