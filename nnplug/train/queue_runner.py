"""TF1's tf.train.QueueRunner: background threads that run a queue's enqueue ops until the input runs out
(OutOfRangeError: the last thread then closes the queue, so its readers drain it and then get
OutOfRangeError themselves) or a Coordinator asks them to stop (a thread then cancels the queue's waiting
enqueues). Errors of any other kind go to the coordinator, which re-raises them in `coord.join()`."""
from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CancelledError, OutOfRangeError
from ..graph import GraphKeys, Operation, add_to_collection, get_default_session

if TYPE_CHECKING:
    from ..ops.queue_ops import QueueBase
    from ..session import Session
    from .optimizers_extra import Coordinator


class QueueRunner:
    """Runs `enqueue_ops` (one thread each) for `queue`; `create_threads(sess, coord)` starts them."""

    def __init__(self, queue: QueueBase | None = None, enqueue_ops: Sequence[Operation] | None = None,
                 close_op: Operation | None = None, cancel_op: Operation | None = None,
                 queue_closed_exception_types: Sequence[type[BaseException]] | None = None,
                 queue_runner_def: Any = None, import_scope: str | None = None) -> None:
        if queue_runner_def is not None:
            raise NotImplementedError("QueueRunner(queue_runner_def=...): nnplug does not read QueueRunnerDef "
                                      "protos; build the QueueRunner from the queue and its enqueue ops")
        if queue is None or not enqueue_ops:
            raise ValueError("QueueRunner needs a queue and a non-empty list of enqueue ops")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(cancel_pending_enqueues=True)
        self._closed_types = tuple(queue_closed_exception_types or (OutOfRangeError,))
        self._lock = threading.Lock()
        self._runs = weakref.WeakKeyDictionary()  # session -> enqueue threads still running
        self._exceptions_raised = []

    @property
    def queue(self) -> QueueBase:
        return self._queue

    @property
    def enqueue_ops(self) -> list[Operation]:
        return list(self._enqueue_ops)

    @property
    def close_op(self) -> Operation:
        return self._close_op

    @property
    def cancel_op(self) -> Operation:
        return self._cancel_op

    @property
    def queue_closed_exception_types(self) -> tuple[type[BaseException], ...]:
        return self._closed_types

    @property
    def exceptions_raised(self) -> list[BaseException]:
        """Exceptions the threads raised when they ran without a coordinator."""
        return list(self._exceptions_raised)

    @property
    def name(self) -> str:
        return self._queue.name

    def create_threads(self, sess: Session, coord: Coordinator | None = None, daemon: bool = False,
                       start: bool = False) -> list[threading.Thread]:
        """One thread per enqueue op (and, with a coordinator, one that cancels the queue's waiting enqueues
        when a stop is requested), registered with `coord`; none when they already run for `sess`."""
        with self._lock:
            if self._runs.get(sess, 0) > 0:
                return []
            self._runs[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord), daemon=daemon,
                                    name=f"QueueRunnerThread-{self.name}-{op.name}") for op in self._enqueue_ops]
        if coord is not None:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, coord), daemon=daemon,
                                            name=f"QueueRunnerThread-{self.name}-close_on_stop"))
        for t in threads:
            if coord is not None:
                coord.register_thread(t)
            if start:
                t.start()
        return threads

    def _run(self, sess, enqueue_op, coord):
        decremented = False
        try:
            while not (coord is not None and coord.should_stop()):
                try:
                    sess.run(enqueue_op)
                except self._closed_types:  # the input ran out: the last thread closes the queue
                    with self._lock:
                        self._runs[sess] -= 1
                        decremented = True
                        last = self._runs[sess] == 0
                    if last:
                        _quietly(sess.run, self._close_op)
                    return
        except Exception as e:  # reported to the coordinator (or kept and re-raised)
            if isinstance(e, CancelledError) and coord is not None and coord.should_stop():
                return  # the stop cancelled the enqueue this thread waited in
            if coord is None:
                with self._lock:
                    self._exceptions_raised.append(e)
                raise
            coord.request_stop(e)
        finally:
            if not decremented:
                with self._lock:
                    self._runs[sess] -= 1

    def _close_on_stop(self, sess, coord):
        coord.wait_for_stop()
        _quietly(sess.run, self._cancel_op)


def _quietly(run, op):
    """Close a queue whose session may be closing already (then there is nothing left to close)."""
    with contextlib.suppress(Exception):  # as TF1, which ignores these too
        run(op)


def add_queue_runner(qr: QueueRunner, collection: str = GraphKeys.QUEUE_RUNNERS) -> None:
    """Register `qr` so that start_queue_runners starts it."""
    add_to_collection(collection, qr)


def default_session(sess: Session | None) -> Session:
    if sess is None:
        sess = get_default_session()
        if sess is None:
            raise ValueError("Cannot start queue runners: no default session is registered; use "
                             "`with sess.as_default()` or pass an explicit session to start_queue_runners(sess=...)")
    return sess
