"""TF1's queue input pipeline (tf.train.*_input_producer, batch, shuffle_batch and their _join forms), built
as TF1 builds it (training/input.py): a producer is a FIFOQueue fed by a QueueRunner with the (shuffled)
list of inputs, once per epoch, `num_epochs` counted in a local variable (so programs run
`tf.local_variables_initializer()`); a batch is a queue of elements that dequeues `batch_size` at a time.
After the last epoch the producer's queue closes, the batch queue closes after it, and reading past its
last (full, or with allow_smaller_final_batch short) batch raises tf.errors.OutOfRangeError."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..errors import OutOfRangeError
from ..graph import GraphKeys, Operation, Tensor, control_dependencies, convert_to_tensor, make, name_scope
from ..ops.array_ops import gather, identity
from ..ops.elementwise import minimum
from ..ops.math_extra_ops import random_shuffle
from ..ops.queue_ops import FIFOQueue, PaddingFIFOQueue, QueueBase, RandomShuffleQueue
from ..ops.registry import register
from ..ops.sequence_ops import range as _range
from ..ops.shape_values import constant_value
from ..shapes import TensorShape, fmt
from ..variables import Variable, assign
from .queue_runner import QueueRunner, add_queue_runner
from .._types import Shape, TensorLike


# -- counting epochs ---------------------------------------------------------------------------------
def count_up_to(ref: Variable, limit: int, name: str | None = None) -> Tensor:
    """The value of the integer variable `ref`, which this op then increments; once it has reached
    `limit`, running the op raises OutOfRangeError instead (TF1's tf.count_up_to)."""
    if not isinstance(ref, Variable) or not ref.dtype.is_integer:
        raise TypeError(f"count_up_to takes an integer Variable, got {ref!r:.80}")
    with name_scope(name, "CountUpTo"):
        update = assign(ref, minimum(ref + convert_to_tensor(1, dtype=ref.dtype),
                                     convert_to_tensor(int(limit), dtype=ref.dtype)))
        return make("CountUpTo", [], {"variable": ref, "limit": int(limit), "update": update}, name="CountUpTo")


def _count_up_to_kernel(spec):
    """Runs as a source op (before the plan, outside its locks): the read and the increment are one
    Session.run of their own, serialised with every other run that updates variables."""
    var, limit, update, session = spec.attrs["variable"], spec.attrs["limit"], spec.attrs["update"], spec.state

    def count():
        old, _ = session.run([var, update])
        if old >= limit:
            raise OutOfRangeError(f"Reached limit of {limit}: variable '{var.name}' counted up to it "
                                  f"(op '{spec.name}')")
        return np.asarray(old, var.dtype.np)
    return count


register("CountUpTo", lambda s, d, a: [(TensorShape(()), a["variable"].dtype)], stateful=True,
         host=_count_up_to_kernel, source=True)


def limit_epochs(tensor: TensorLike, num_epochs: int | None = None, name: str | None = None) -> Tensor:
    """`tensor`, which may be evaluated `num_epochs` times; the next evaluation raises OutOfRangeError. The
    count is the local variable `epochs` (reset by tf.local_variables_initializer())."""
    tensor = convert_to_tensor(tensor)
    if num_epochs is None:
        return tensor
    if int(num_epochs) <= 0:
        raise ValueError(f"num_epochs must be > 0, not {num_epochs}")
    with name_scope(name, "limit_epochs"):
        epochs = Variable(np.int64(0), name="epochs", trainable=False, collections=[GraphKeys.LOCAL_VARIABLES])
        counter = count_up_to(epochs, int(num_epochs))
        with control_dependencies([counter]):
            return identity(tensor)


# -- producers ---------------------------------------------------------------------------------------
def input_producer(input_tensor: TensorLike, element_shape: Shape | None = None, num_epochs: int | None = None,
                   shuffle: bool = True, seed: int | None = None, capacity: int = 32,
                   shared_name: str | None = None, summary_name: str | None = None, name: str | None = None,
                   cancel_op: Operation | None = None) -> QueueBase:
    """A FIFOQueue of the rows of `input_tensor`, all of them once per epoch (shuffled each epoch unless
    shuffle=False), filled by a QueueRunner."""
    with name_scope(name, "input_producer"):
        input_tensor = convert_to_tensor(input_tensor)
        rows = TensorShape(tuple(input_tensor.shape)[1:]) if not input_tensor.shape.unknown_rank else None
        if element_shape is not None:
            element_shape = TensorShape(element_shape)
        else:
            element_shape = rows if rows is not None else TensorShape(None)
        if shuffle:
            input_tensor = random_shuffle(input_tensor, seed=seed)
        input_tensor = limit_epochs(input_tensor, num_epochs)
        queue = FIFOQueue(capacity, [input_tensor.dtype], [element_shape], shared_name=shared_name)
        enqueue = queue.enqueue_many([input_tensor])
        add_queue_runner(QueueRunner(queue, [enqueue], cancel_op=cancel_op))
        return queue


def string_input_producer(string_tensor: TensorLike, num_epochs: int | None = None, shuffle: bool = True,
                          seed: int | None = None, capacity: int = 32, shared_name: str | None = None,
                          name: str | None = None, cancel_op: Operation | None = None) -> QueueBase:
    """A queue of file names (strings) for a reader, once per epoch."""
    with name_scope(name, "input_producer"):
        string_tensor = convert_to_tensor(string_tensor, dtype=_dt.string)
        value = constant_value(string_tensor)
        if value is not None and np.size(value) == 0:
            raise ValueError("string_input_producer requires a non-null input tensor (it got no file names)")
        return input_producer(string_tensor, [], num_epochs, shuffle, seed, capacity, shared_name,
                              cancel_op=cancel_op)


def range_input_producer(limit: int | Tensor, num_epochs: int | None = None, shuffle: bool = True,
                         seed: int | None = None, capacity: int = 32, shared_name: str | None = None,
                         name: str | None = None) -> QueueBase:
    """A queue of the integers 0 .. limit-1 (int32), once per epoch."""
    with name_scope(name, "input_producer"):
        return input_producer(_range(limit), [], num_epochs, shuffle, seed, capacity, shared_name)


def slice_input_producer(tensor_list: Sequence[TensorLike], num_epochs: int | None = None, shuffle: bool = True,
                         seed: int | None = None, capacity: int = 32, shared_name: str | None = None,
                         name: str | None = None) -> list[Tensor]:
    """One row of every tensor of `tensor_list` (rows taken together, in order or shuffled), each row once
    per epoch."""
    with name_scope(name, "input_producer"):
        tensor_list = [convert_to_tensor(t) for t in tensor_list]
        if not tensor_list:
            raise ValueError("slice_input_producer needs at least one tensor in tensor_list")
        rows = {t.shape[0] for t in tensor_list if not t.shape.unknown_rank and len(t.shape)}
        if len(rows - {None}) > 1:
            raise ValueError(f"slice_input_producer: the tensors have different first dimensions "
                             f"{sorted(rows - {None})}: {[t.name for t in tensor_list]}")
        known = next(iter(rows - {None}), None)
        from ..ops.array_ops import shape as _shape
        size = known if known is not None else _shape(tensor_list[0])[0]
        index = range_input_producer(size, num_epochs, shuffle, seed, capacity, shared_name).dequeue()
        return [gather(t, index) for t in tensor_list]


# -- batching ----------------------------------------------------------------------------------------
def _as_list(tensors, what):
    if isinstance(tensors, dict):
        return [tensors[k] for k in sorted(tensors)]
    if isinstance(tensors, (list, tuple)):
        return list(tensors)
    if isinstance(tensors, (Tensor, np.ndarray)) or np.isscalar(tensors):
        return [tensors]
    raise TypeError(f"{what} takes a tensor, a list or a dict of tensors, got {type(tensors).__name__}")


def _as_original(tensors, dequeued):
    dequeued = dequeued if isinstance(dequeued, list) else [dequeued]
    if isinstance(tensors, dict):
        return dict(zip(sorted(tensors), dequeued))
    if isinstance(tensors, (list, tuple)):
        return type(tensors)(dequeued) if not hasattr(tensors, "_fields") else type(tensors)(*dequeued)
    return dequeued[0]


def _element_shapes(tensor_lists, shapes, enqueue_many, dynamic_pad, what):
    first = tensor_lists[0]
    if shapes is not None:
        shapes = [TensorShape(s) for s in shapes]
        if len(shapes) != len(first):
            raise ValueError(f"{what}: {len(shapes)} shapes for {len(first)} tensors")
        return shapes
    out = []
    for j, t in enumerate(first):
        s = t.shape
        if enqueue_many:
            if s.unknown_rank or len(s) == 0:
                raise ValueError(f"{what}(enqueue_many=True): tensor '{t.name}' needs a first dimension to "
                                 f"split, got shape {fmt(s)}")
            s = TensorShape(tuple(s)[1:])
        for other in tensor_lists[1:]:
            o = other[j].shape
            o = TensorShape(tuple(o)[1:]) if enqueue_many and not o.unknown_rank else o
            if (s.unknown_rank, len(s) if not s.unknown_rank else 0) != \
                    (o.unknown_rank, len(o) if not o.unknown_rank else 0):
                raise ValueError(f"{what}: component {j} has shapes {fmt(s)} and {fmt(o)} in different lists")
        if dynamic_pad:
            if s.unknown_rank:
                raise ValueError(f"{what}(dynamic_pad=True): the rank of tensor '{t.name}' must be known")
        elif s.unknown_rank or None in tuple(s):
            raise ValueError(f"{what}: all shapes must be fully defined, but tensor '{t.name}' has shape "
                             f"{fmt(s)} (use set_shape, pass shapes=..., or dynamic_pad=True)")
        out.append(s)
    return out


def _batch(tensors_list, batch_size, capacity, enqueue_many, shapes, allow_smaller_final_batch, dynamic_pad,
           name, what, make_queue, num_threads=1, shared_name=None, joined=False):
    with name_scope(name, what):
        originals = tensors_list[0]
        lists = [[convert_to_tensor(t) for t in _as_list(ts, what)] for ts in tensors_list]
        n = len(lists[0])
        for ts in lists[1:]:
            if len(ts) != n or [t.dtype for t in ts] != [t.dtype for t in lists[0]]:
                raise ValueError(f"{what}: every list of tensors must have the same number and dtypes of tensors")
        if n == 0:
            raise ValueError(f"{what}: nothing to batch (an empty list of tensors)")
        shapes = _element_shapes(lists, shapes, enqueue_many, dynamic_pad, what)
        queue = make_queue([t.dtype for t in lists[0]], shapes, shared_name)
        enqueue = [queue.enqueue_many(ts) if enqueue_many else queue.enqueue(ts) for ts in lists]
        if not joined:
            enqueue = enqueue * int(num_threads)
        add_queue_runner(QueueRunner(queue, enqueue))
        dequeued = queue.dequeue_up_to(batch_size) if allow_smaller_final_batch else queue.dequeue_many(batch_size)
        return _as_original(originals, dequeued)


def _fifo(dynamic_pad, capacity):
    def make_queue(dtypes, shapes, shared_name):
        kind = PaddingFIFOQueue if dynamic_pad else FIFOQueue
        return kind(capacity, dtypes, shapes, shared_name=shared_name)
    return make_queue


def _shuffling(capacity, min_after_dequeue, seed):
    def make_queue(dtypes, shapes, shared_name):
        return RandomShuffleQueue(capacity, min_after_dequeue, dtypes, shapes, seed=seed, shared_name=shared_name)
    return make_queue


def batch(tensors: Any, batch_size: int, num_threads: int = 1, capacity: int = 32, enqueue_many: bool = False,
          shapes: Sequence[Shape] | None = None, dynamic_pad: bool = False, allow_smaller_final_batch: bool = False,
          shared_name: str | None = None, name: str | None = None) -> Any:
    """`batch_size` elements of `tensors` (a tensor, list or dict), in the order they were enqueued by
    `num_threads` queue-runner threads."""
    return _batch([tensors], batch_size, capacity, enqueue_many, shapes, allow_smaller_final_batch, dynamic_pad,
                  name, "batch", _fifo(dynamic_pad, capacity), num_threads, shared_name)


def batch_join(tensors_list: Sequence[Any], batch_size: int, capacity: int = 32, enqueue_many: bool = False,
               shapes: Sequence[Shape] | None = None, dynamic_pad: bool = False,
               allow_smaller_final_batch: bool = False, shared_name: str | None = None,
               name: str | None = None) -> Any:
    """batch over several lists of tensors (one enqueueing thread each, e.g. one reader each)."""
    return _batch(list(tensors_list), batch_size, capacity, enqueue_many, shapes, allow_smaller_final_batch,
                  dynamic_pad, name, "batch_join", _fifo(dynamic_pad, capacity), shared_name=shared_name, joined=True)


def shuffle_batch(tensors: Any, batch_size: int, capacity: int, min_after_dequeue: int, num_threads: int = 1,
                  seed: int | None = None, enqueue_many: bool = False, shapes: Sequence[Shape] | None = None,
                  allow_smaller_final_batch: bool = False, shared_name: str | None = None,
                  name: str | None = None) -> Any:
    """`batch_size` elements drawn at random from a RandomShuffleQueue that keeps at least
    `min_after_dequeue` (until its input ends)."""
    return _batch([tensors], batch_size, capacity, enqueue_many, shapes, allow_smaller_final_batch, False, name,
                  "shuffle_batch", _shuffling(capacity, min_after_dequeue, seed), num_threads, shared_name)


def shuffle_batch_join(tensors_list: Sequence[Any], batch_size: int, capacity: int, min_after_dequeue: int,
                       seed: int | None = None, enqueue_many: bool = False, shapes: Sequence[Shape] | None = None,
                       allow_smaller_final_batch: bool = False, shared_name: str | None = None,
                       name: str | None = None) -> Any:
    """shuffle_batch over several lists of tensors (one enqueueing thread each)."""
    return _batch(list(tensors_list), batch_size, capacity, enqueue_many, shapes, allow_smaller_final_batch,
                  False, name, "shuffle_batch_join", _shuffling(capacity, min_after_dequeue, seed),
                  shared_name=shared_name, joined=True)

