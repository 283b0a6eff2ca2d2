"""TF1's queues (`tf.FIFOQueue`, `tf.RandomShuffleQueue`, `tf.PaddingFIFOQueue`): host-side state, as TF1's
CPU queues are. A queue's elements live in the session that runs its ops (`state.resource`), so two sessions
have two queues. Enqueue, close and size are stateful host ops in the plan; dequeues are source ops
(OpDef.source): the Session runs them before the plan, outside every lock, so a dequeue that waits for an
element never holds up a queue runner's enqueue, and the plan is specialised to the shapes it got
(dequeue_up_to's short last batch). An enqueue waiting for room holds only its own plan."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import CancelledError, InvalidArgumentError, OutOfRangeError
from ..graph import Operation, Tensor, convert_to_tensor, get_default_graph, make, make_op
from ..shapes import ShapeError, TensorShape, compatible, fmt
from .random_ops import get_seed
from .registry import register
from .._types import DTypeLike, Shape


class QueueBase:
    """What the three queues share: components of fixed dtypes (and shapes, where given), optional names
    (then elements are dicts), a capacity; enqueue/dequeue ops and their per-session state."""

    _kind = "FIFOQueue"
    _default_name = "fifo_queue"

    def __init__(self, capacity: int, dtypes: Sequence[DTypeLike] | DTypeLike,
                 shapes: Sequence[Shape] | None = None, names: Sequence[str] | None = None,
                 shared_name: str | None = None, name: str | None = None) -> None:
        self.graph = get_default_graph()
        self.name = self.graph.unique_name(name or self._default_name)
        dtypes = list(dtypes) if isinstance(dtypes, (list, tuple)) else [dtypes]
        if not dtypes:
            raise ValueError(f"queue '{self.name}' needs at least one component dtype")
        self._dtypes = [_dt.as_dtype(d) for d in dtypes]
        if shapes is None:
            self._shapes = [TensorShape(None)] * len(self._dtypes)
        else:
            shapes = list(shapes)
            if len(shapes) != len(self._dtypes):
                raise ValueError(f"queue '{self.name}': {len(shapes)} shapes for {len(self._dtypes)} dtypes")
            self._shapes = [TensorShape(s) for s in shapes]
        if names is not None:
            names = list(names)
            if len(names) != len(self._dtypes):
                raise ValueError(f"queue '{self.name}': {len(names)} names for {len(self._dtypes)} dtypes")
        self._names = names
        self._capacity = int(capacity)
        if self._capacity < 1:
            raise ValueError(f"queue '{self.name}': capacity must be positive, got {capacity}")
        self._key = ("nnplug.queue", shared_name) if shared_name else ("nnplug.queue", self)

    # -- the TF1 properties ---------------------------------------------------------------------
    @property
    def dtypes(self) -> list[_dt.DType]:
        return list(self._dtypes)

    @property
    def shapes(self) -> list[TensorShape]:
        return list(self._shapes)

    @property
    def names(self) -> list[str] | None:
        return None if self._names is None else list(self._names)

    @property
    def queue_ref(self) -> QueueBase:
        return self  # readers and queue runners take the queue itself

    def __repr__(self) -> str:
        return f"<nnplug.{self._kind} '{self.name}' capacity={self._capacity}>"

    # -- graph ops ------------------------------------------------------------------------------
    def enqueue(self, vals: Any, name: str | None = None) -> Operation:
        """An op that adds one element (waiting while the queue is full)."""
        return self._enqueue(vals, False, name or "enqueue")

    def enqueue_many(self, vals: Any, name: str | None = None) -> Operation:
        """An op that adds the rows of `vals` (all components share their first dimension) as elements."""
        return self._enqueue(vals, True, name or "enqueue_many")

    def dequeue(self, name: str | None = None) -> Any:
        """One element; waits for one, raises OutOfRangeError once the queue is closed and empty."""
        return self._dequeue(None, False, name or "dequeue")

    def dequeue_many(self, n: int, name: str | None = None) -> Any:
        """`n` elements stacked; OutOfRangeError once the queue is closed with fewer than `n`."""
        return self._dequeue(_count(n, self, "dequeue_many"), False, name or "dequeue_many")

    def dequeue_up_to(self, n: int, name: str | None = None) -> Any:
        """Like dequeue_many, but a closed queue gives its last elements as a shorter batch."""
        return self._dequeue(_count(n, self, "dequeue_up_to"), True, name or "dequeue_up_to")

    def close(self, cancel_pending_enqueues: bool = False, name: str | None = None) -> Operation:
        """An op that closes the queue: later enqueues fail, dequeues drain what is left. With
        cancel_pending_enqueues, enqueues waiting for room fail too."""
        with self.graph.as_default():
            return make_op("QueueCloseV2", [], {"queue": self, "cancel": bool(cancel_pending_enqueues)},
                           name=name or "close")

    def size(self, name: str | None = None) -> Tensor:
        with self.graph.as_default():
            return make("QueueSizeV2", [], {"queue": self}, name=name or "size")

    def is_closed(self, name: str | None = None) -> Tensor:
        with self.graph.as_default():
            return make("QueueIsClosedV2", [], {"queue": self}, name=name or "is_closed")

    def _enqueue(self, vals, many, name):
        if self._names is not None:
            if not isinstance(vals, dict) or set(vals) != set(self._names):
                raise ValueError(f"queue '{self.name}' has named components {self._names}: enqueue a dict with "
                                 f"those keys, got {vals!r:.80}")
            vals = [vals[k] for k in self._names]
        elif not isinstance(vals, (list, tuple)):
            vals = [vals]
        if len(vals) != len(self._dtypes):
            raise ValueError(f"queue '{self.name}' has {len(self._dtypes)} components, but {len(vals)} values "
                             f"were enqueued")
        with self.graph.as_default():
            tensors = [convert_to_tensor(v, dtype=d) for v, d in zip(vals, self._dtypes)]
            return make_op("QueueEnqueueV2", tensors, {"queue": self, "many": many}, name=name)

    def _dequeue(self, n, up_to, name):
        with self.graph.as_default():
            op = make_op("QueueDequeueV2", [], {"queue": self, "n": n, "up_to": up_to}, name=name)
        if self._names is not None:
            return dict(zip(self._names, op.outputs))
        return op.outputs[0] if len(op.outputs) == 1 else list(op.outputs)

    # -- per-session state ----------------------------------------------------------------------
    def _state(self, session: Any) -> QueueState:
        return session.resource(self._key, lambda: QueueState(self))

    def _take(self, items: list, rng: Any) -> tuple:
        return items.pop(0)

    def _stack(self, elements: list[tuple], op_name: str) -> tuple:
        out = []
        for j in range(len(self._dtypes)):
            parts = [e[j] for e in elements]
            if any(p.shape != parts[0].shape for p in parts):
                raise InvalidArgumentError(f"{self._kind} '{self.name}' (op '{op_name}'): component {j} has "
                                           f"elements of shapes {fmt(parts[0].shape)} and "
                                           f"{fmt(next(p.shape for p in parts if p.shape != parts[0].shape))}; "
                                           f"dequeue_many needs equal shapes (a PaddingFIFOQueue pads them)")
            out.append(np.stack(parts))
        return tuple(out)


class FIFOQueue(QueueBase):
    """Elements come out in the order they went in."""


class PaddingFIFOQueue(QueueBase):
    """A FIFOQueue whose shapes may have unknown dimensions: dequeue_many pads each component with zeros
    (empty strings) to the longest element of the batch."""

    _kind = "PaddingFIFOQueue"
    _default_name = "padding_fifo_queue"

    def __init__(self, capacity: int, dtypes: Sequence[DTypeLike] | DTypeLike, shapes: Sequence[Shape],
                 names: Sequence[str] | None = None, shared_name: str | None = None,
                 name: str | None = None) -> None:
        super().__init__(capacity, dtypes, shapes, names, shared_name, name)
        for s in self._shapes:
            if s.unknown_rank:
                raise ValueError(f"PaddingFIFOQueue '{self.name}' needs the rank of every component "
                                 f"(shapes such as [None, 3]), got {fmt(s)}")

    def _stack(self, elements, op_name):
        out = []
        for j in range(len(self._dtypes)):
            parts = [e[j] for e in elements]
            longest = tuple(max(p.shape[d] for p in parts) for d in range(parts[0].ndim))
            batch = np.full((len(parts),) + longest, b"" if parts[0].dtype.kind == "O" else 0, parts[0].dtype)
            for i, p in enumerate(parts):
                batch[(i,) + tuple(slice(0, d) for d in p.shape)] = p
            out.append(batch)
        return tuple(out)


class RandomShuffleQueue(QueueBase):
    """Elements come out in random order; a dequeue waits until `min_after_dequeue` elements would remain
    (unless the queue is closed), so the mix stays large enough to shuffle."""

    _kind = "RandomShuffleQueue"
    _default_name = "random_shuffle_queue"

    def __init__(self, capacity: int, min_after_dequeue: int, dtypes: Sequence[DTypeLike] | DTypeLike,
                 shapes: Sequence[Shape] | None = None, names: Sequence[str] | None = None,
                 seed: int | None = None, shared_name: str | None = None, name: str | None = None) -> None:
        super().__init__(capacity, dtypes, shapes, names, shared_name, name)
        self._min_after_dequeue = int(min_after_dequeue)
        if not 0 <= self._min_after_dequeue < self._capacity:
            raise ValueError(f"RandomShuffleQueue '{self.name}': min_after_dequeue ({min_after_dequeue}) must "
                             f"be at least 0 and below the capacity ({capacity})")
        self._seed = get_seed(seed)

    def _take(self, items, rng):
        i = int(rng.integers(len(items)))
        items[i], items[-1] = items[-1], items[i]
        return items.pop()


class QueueState:
    """One queue's elements in one session, and the waits on them."""

    def __init__(self, queue: QueueBase) -> None:
        self.queue = queue
        self.items = []
        self.cond = threading.Condition()
        self.closed = self.cancelled = self.ended = False
        seed = getattr(queue, "_seed", None)
        self.rng = np.random.default_rng(np.random.SeedSequence().entropy if seed is None else seed)
        self.keep = getattr(queue, "_min_after_dequeue", 0)

    def _fail_if_ended(self, op_name):
        if self.ended:
            raise CancelledError(f"{self.queue._kind} '{self.queue.name}' (op '{op_name}'): its session was "
                                 f"closed")

    def enqueue(self, elements: list[tuple], op_name: str) -> None:
        q = self.queue
        with self.cond:
            if self.closed:
                raise CancelledError(f"{q._kind} '{q.name}' is closed (op '{op_name}')")
            for element in elements:
                while len(self.items) >= q._capacity and not (self.cancelled or self.ended):
                    self.cond.wait()
                self._fail_if_ended(op_name)
                if self.cancelled:
                    raise CancelledError(f"Enqueue operation was cancelled: {q._kind} '{q.name}' was closed "
                                         f"with cancel_pending_enqueues (op '{op_name}')")
                self.items.append(element)
                self.cond.notify_all()

    def dequeue(self, n: int | None, up_to: bool, op_name: str) -> list[tuple]:
        q, need = self.queue, 1 if n is None else n
        with self.cond:
            while True:
                self._fail_if_ended(op_name)
                if len(self.items) - (0 if self.closed else self.keep) >= need:
                    break
                if self.closed:
                    if up_to and self.items:
                        need = len(self.items)
                        break
                    raise OutOfRangeError(f"{q._kind} '{q.name}' is closed and has insufficient elements "
                                          f"(requested {need}, current size {len(self.items)}) (op '{op_name}')")
                self.cond.wait()
            taken = [q._take(self.items, self.rng) for _ in range(need)]
            self.cond.notify_all()
        return taken

    def close_queue(self, cancel: bool) -> None:
        with self.cond:
            self.closed = True
            self.cancelled = self.cancelled or cancel
            self.cond.notify_all()

    def size(self) -> int:
        with self.cond:
            return len(self.items)

    def close(self) -> None:
        """The session closes: every wait on this queue ends with CancelledError."""
        with self.cond:
            self.ended = True
            self.cond.notify_all()


def _count(n, queue, what):
    if isinstance(n, Tensor):
        from .shape_values import constant_value
        value = constant_value(n)
        if value is None:
            raise TypeError(f"{what} of queue '{queue.name}': the count must be known when building, got "
                            f"tensor '{n.name}'")
        n = value
    n = int(np.asarray(n))
    if n < 1:
        raise ValueError(f"{what} of queue '{queue.name}': the count must be positive, got {n}")
    return n


# -- op registrations ------------------------------------------------------------------------------
def _enqueue_rule(shapes, dtypes, attrs):
    q, many = attrs["queue"], attrs["many"]
    for j, (s, d, want_s, want_d) in enumerate(zip(shapes, dtypes, q._shapes, q._dtypes)):
        if d != want_d:
            raise ShapeError(f"queue '{q.name}' component {j} is {want_d.name}, got {d.name}")
        element = s if not many or s.unknown_rank else TensorShape(tuple(s)[1:])
        if many and not s.unknown_rank and len(s) == 0:
            raise ShapeError(f"enqueue_many to queue '{q.name}': component {j} is a scalar (it needs a first "
                             f"dimension to split)")
        if not want_s.is_compatible_with(element):
            raise ShapeError(f"queue '{q.name}' component {j} has shape {fmt(want_s)}, got elements of "
                             f"shape {fmt(element)}")
    return []


def _enqueue_kernel(spec):
    q, many, name = spec.attrs["queue"], spec.attrs["many"], spec.name
    state = q._state(spec.state)

    def enqueue(*xs):
        xs = [np.array(x, dtype=d.np) for x, d in zip(xs, q._dtypes)]  # copies: the plan reuses its buffers
        for j, (x, s) in enumerate(zip(xs, q._shapes)):
            element = x.shape[1:] if many else x.shape
            if not compatible(s, element):
                raise InvalidArgumentError(f"queue '{q.name}' (op '{name}') component {j} has shape {fmt(s)}, "
                                           f"got an element of shape {fmt(element)}")
        if many:
            rows = {x.shape[0] for x in xs}
            if len(rows) != 1:
                raise InvalidArgumentError(f"enqueue_many to queue '{q.name}' (op '{name}'): the components have "
                                           f"different first dimensions {sorted(rows)}")
            elements = [tuple(x[i, ...] for x in xs) for i in range(rows.pop())]
        else:
            elements = [tuple(xs)]
        state.enqueue(elements, name)
        return ()
    return enqueue


def _dequeue_rule(shapes, dtypes, attrs):
    q, n, up_to = attrs["queue"], attrs["n"], attrs["up_to"]
    if n is None:
        return list(zip(q._shapes, q._dtypes))
    lead = None if up_to else n
    return [(TensorShape(None) if s.unknown_rank else TensorShape((lead,) + tuple(s)), d)
            for s, d in zip(q._shapes, q._dtypes)]


def _dequeue_kernel(spec):
    q, n, up_to, name = spec.attrs["queue"], spec.attrs["n"], spec.attrs["up_to"], spec.name
    state = q._state(spec.state)

    def dequeue():
        taken = state.dequeue(n, up_to, name)
        out = taken[0] if n is None else q._stack(taken, name)
        return out[0] if len(out) == 1 else out
    return dequeue


def _close_kernel(spec):
    state, cancel = spec.attrs["queue"]._state(spec.state), spec.attrs["cancel"]

    def close():
        state.close_queue(cancel)
        return ()
    return close


def _size_kernel(spec):
    state = spec.attrs["queue"]._state(spec.state)
    return lambda: np.array(state.size(), np.int32)


def _is_closed_kernel(spec):
    state = spec.attrs["queue"]._state(spec.state)
    return lambda: np.array(state.closed)


register("QueueEnqueueV2", _enqueue_rule, stateful=True, host=_enqueue_kernel)
register("QueueDequeueV2", _dequeue_rule, stateful=True, host=_dequeue_kernel, source=True)
register("QueueCloseV2", lambda s, d, a: [], stateful=True, host=_close_kernel)
register("QueueSizeV2", lambda s, d, a: [(TensorShape(()), _dt.int32)], stateful=True, host=_size_kernel)
register("QueueIsClosedV2", lambda s, d, a: [(TensorShape(()), _dt.bool_)], stateful=True, host=_is_closed_kernel)
