"""Run-time errors with TF1's names; each message names the tensor, op or variable at fault."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import Operation


class OpError(Exception):
    def __init__(self, message: str, op: Operation | None = None) -> None:
        super().__init__(message)
        self.op = op
        self.message = message


class InvalidArgumentError(OpError, ValueError):
    pass


class FailedPreconditionError(OpError):
    pass


class NotFoundError(OpError, LookupError):
    pass


class UnimplementedError(OpError, NotImplementedError):
    pass


class OutOfRangeError(OpError):
    """An iterator read past its dataset's end, or a closed queue ran short of elements."""


class CancelledError(OpError):
    """An operation was cancelled: an enqueue to a queue closed with cancel_pending_enqueues, or a queue
    whose session closed while the operation waited."""


class DataLossError(OpError):
    """A file's contents are corrupted (a TFRecord whose checksum does not match, a truncated record)."""


class BackendError(RuntimeError):
    """A backend that is unknown, not installed or cannot run here."""
