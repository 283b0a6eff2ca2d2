"""contrib.seq2seq's decoders: `BasicDecoder` driven by a helper (`TrainingHelper` feeds the target
sequence, `GreedyEmbeddingHelper` feeds back the embedding of each step's argmax until `end_token`), run
by `dynamic_decode` in a `tf.while_loop` until every example has finished or `maximum_iterations`.

The semantics are TF1's (tensorflow/contrib/seq2seq/python/ops/{decoder,basic_decoder,helper}.py):
outputs are batch-major unless `output_time_major`; an example's sequence length is the step at which it
finished; with `impute_finished` a finished example's outputs are zeros and its state is held. The cell's
and output layer's variables live under the scope given, else `decoder/`.
"""
from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from ... import dtypes as _dt
from ..._types import Structure, Tensor, TensorLike
from ...graph import convert_to_tensor, name_scope
from ...ops import elementwise as E
from ...ops import math_ops as M
from ...ops.array_ops import fill, reshape, shape, transpose
from ...ops.control_flow import while_loop
from ...ops.embedding_ops import embedding_lookup
from ...ops.nest import flatten, map_structure, pack_sequence_as
from ...ops.tensor_array import TensorArray
from ...shapes import ShapeError, fmt
from ...variables import variable_scope


class BasicDecoderOutput(collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))):
    """One step's (or, stacked, every step's) cell output after the output layer, and the sampled ids."""


def _batch_major(x):
    return transpose(x, [1, 0] + list(range(2, len(x.shape))))


def _where_rows(flags, a, b):
    """a where the example's flag is set, else b (flags: [batch] bool)."""
    rank = len(a.shape)
    return M.where(flags if rank <= 1 else reshape(flags, [-1] + [1] * (rank - 1)), a, b)


class Helper:
    """What a BasicDecoder asks of its helper (TF1's `Helper` interface)."""

    batch_size: Tensor

    def initialize(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def sample(self, time: Tensor, outputs: Tensor, state: Structure) -> Tensor:
        return M.cast(M.argmax(outputs, axis=-1), _dt.int32)

    def next_inputs(self, time: Tensor, outputs: Tensor, state: Structure,
                    sample_ids: Tensor) -> tuple[Tensor, Tensor, Structure]:
        raise NotImplementedError


class TrainingHelper(Helper):
    """Teacher forcing: step t reads `inputs[:, t]`; an example finishes once t reaches its length."""

    def __init__(self, inputs: TensorLike, sequence_length: TensorLike, time_major: bool = False,
                 name: str | None = None) -> None:
        with name_scope(name or "TrainingHelper"):
            inputs = convert_to_tensor(inputs)
            if inputs.shape.unknown_rank or len(inputs.shape) < 3:
                raise ShapeError(f"TrainingHelper: inputs '{inputs.name}' must be [batch, time, depth] "
                                 f"(or time-major), got {fmt(inputs.shape)}")
            self._lengths = M.cast(convert_to_tensor(sequence_length), _dt.int32)
            if self._lengths.shape.unknown_rank or len(self._lengths.shape) != 1:
                raise ShapeError(f"TrainingHelper: sequence_length '{self._lengths.name}' must be a vector "
                                 f"[batch], got {fmt(self._lengths.shape)}")
            steps = inputs if time_major else _batch_major(inputs)
            self._steps = shape(steps)[0]
            self._inputs = TensorArray(inputs.dtype, size=self._steps, element_shape=steps.shape[1:],
                                       clear_after_read=False).unstack(steps)
            self._zeros = M.zeros_like(steps[0])
            self.batch_size = shape(self._lengths)[0]

    def _read(self, time, finished):
        last = E.maximum(self._steps - 1, 0)
        return M.where(M.reduce_all(finished), self._zeros, self._inputs.read(E.minimum(time, last)))

    def initialize(self) -> tuple[Tensor, Tensor]:
        finished = E.greater_equal(0, self._lengths)
        return finished, self._read(0, finished)

    def next_inputs(self, time: Tensor, outputs: Tensor, state: Structure,
                    sample_ids: Tensor) -> tuple[Tensor, Tensor, Structure]:
        finished = E.greater_equal(time + 1, self._lengths)
        return finished, self._read(time + 1, finished), state


class GreedyEmbeddingHelper(Helper):
    """Inference: step t+1 reads the embedding of step t's argmax; an example finishes at `end_token`."""

    def __init__(self, embedding: TensorLike | Callable[[Tensor], Tensor], start_tokens: TensorLike,
                 end_token: TensorLike) -> None:
        self._embed = embedding if callable(embedding) else (lambda ids: embedding_lookup(embedding, ids))
        self._start_tokens = M.cast(convert_to_tensor(start_tokens), _dt.int32)
        if self._start_tokens.shape.unknown_rank or len(self._start_tokens.shape) != 1:
            raise ShapeError(f"GreedyEmbeddingHelper: start_tokens '{self._start_tokens.name}' must be a vector "
                             f"[batch], got {fmt(self._start_tokens.shape)}")
        self._end_token = M.cast(convert_to_tensor(end_token), _dt.int32)
        if len(self._end_token.shape) != 0:
            raise ShapeError(f"GreedyEmbeddingHelper: end_token '{self._end_token.name}' must be a scalar, "
                             f"got {fmt(self._end_token.shape)}")
        self._start_inputs = self._embed(self._start_tokens)
        self.batch_size = shape(self._start_tokens)[0]

    def initialize(self) -> tuple[Tensor, Tensor]:
        return fill([self.batch_size], False), self._start_inputs

    def next_inputs(self, time: Tensor, outputs: Tensor, state: Structure,
                    sample_ids: Tensor) -> tuple[Tensor, Tensor, Structure]:
        finished = E.equal(sample_ids, self._end_token)
        inputs = M.where(M.reduce_all(finished), self._start_inputs, self._embed(sample_ids))
        return finished, inputs, state


class BasicDecoder:
    """One step: the cell on the helper's inputs, then `output_layer` (a projection to the vocabulary,
    say), then the helper's sample and next inputs."""

    def __init__(self, cell: Any, helper: Helper, initial_state: Structure, output_layer: Any = None) -> None:
        if not isinstance(helper, Helper):
            raise TypeError(f"BasicDecoder: helper must be a contrib.seq2seq helper, got {type(helper).__name__}")
        self.cell, self.helper, self.initial_state, self.output_layer = cell, helper, initial_state, output_layer
        self.batch_size = helper.batch_size

    def initialize(self) -> tuple[Tensor, Tensor, Structure]:
        finished, inputs = self.helper.initialize()
        return finished, inputs, self.initial_state

    def step(self, time: Tensor, inputs: Tensor, state: Structure) -> tuple[BasicDecoderOutput, Structure, Tensor, Tensor]:
        outputs, cell_state = self.cell(inputs, state)
        if self.output_layer is not None:
            outputs = self.output_layer(outputs)
        sample_ids = self.helper.sample(time, outputs, cell_state)
        finished, next_inputs, next_state = self.helper.next_inputs(time, outputs, cell_state, sample_ids)
        return BasicDecoderOutput(outputs, sample_ids), next_state, next_inputs, finished


def _bound(decoder, maximum_iterations):
    """The number of steps the loop runs, known when the graph is compiled (nnplug compiles each step for
    known sizes): `maximum_iterations`, capped by a TrainingHelper's number of input steps."""
    steps = getattr(decoder.helper, "_steps", None)
    if maximum_iterations is None:
        if steps is None:
            raise ValueError("dynamic_decode: nnplug needs maximum_iterations with a helper that does not read a "
                             "fixed number of input steps (GreedyEmbeddingHelper): its outputs' size must be known "
                             "before the graph runs")
        return steps
    limit = M.cast(convert_to_tensor(maximum_iterations), _dt.int32)
    return limit if steps is None else E.minimum(limit, steps)


def dynamic_decode(decoder: BasicDecoder, output_time_major: bool = False, impute_finished: bool = False,
                   maximum_iterations: TensorLike | None = None, parallel_iterations: int = 32,
                   swap_memory: bool = False, scope: str | None = None) -> tuple[Any, Structure, Tensor]:
    """Step `decoder` until every example has finished; returns (outputs, final state, sequence lengths).

    As TF1 does, except for the outputs' number of steps: always the bound (`maximum_iterations`, and at
    most a TrainingHelper's input steps), where TF1 stops at the step all examples have finished; the
    steps after that are zeros (rnn_output and sample_id) and leave the state and lengths as they were.
    With a TrainingHelper over a batch padded to its longest sequence the two agree exactly."""
    if not isinstance(decoder, BasicDecoder):
        raise TypeError(f"dynamic_decode: expected a contrib.seq2seq BasicDecoder, got {type(decoder).__name__}")
    with variable_scope(scope or "decoder"):
        finished, inputs, state = decoder.initialize()
        bound = _bound(decoder, maximum_iterations)
        if maximum_iterations is not None:
            finished = E.logical_or(finished, E.greater_equal(0, bound))
        lengths = M.zeros_like(M.cast(finished, _dt.int32))
        sinks = [TensorArray(dt, size=bound) for dt in (_state_dtype(state), _dt.int32)]

        def body(time, state, inputs, finished, lengths, *arrays):
            done = M.reduce_all(finished)
            out, next_state, next_inputs, step_finished = decoder.step(time, inputs, state)
            next_finished = E.logical_or(step_finished, finished)
            if maximum_iterations is not None:
                next_finished = E.logical_or(next_finished, E.greater_equal(time + 1, bound))
            next_lengths = M.where(E.logical_not(finished), fill(shape(lengths), time + 1), lengths)
            emitted = flatten(out)
            if impute_finished:
                emitted = [_where_rows(finished, M.zeros_like(o), o) for o in emitted]
                next_state = map_structure(lambda new, old: _where_rows(finished, old, new), next_state, state)
            emitted = [M.where(done, M.zeros_like(o), o) for o in emitted]
            next_state = map_structure(lambda new, old: M.where(done, old, new), next_state, state)
            written = tuple(ta.write(time, o) for ta, o in zip(arrays, emitted))
            return (time + 1, next_state, next_inputs, next_finished, next_lengths) + written

        _, state, _, _, lengths, *arrays = while_loop(
            lambda time, *_: time < bound, body, [0, state, inputs, finished, lengths] + sinks,
            parallel_iterations=parallel_iterations, swap_memory=swap_memory)
        outputs = [ta.stack() for ta in arrays]
        if not output_time_major:
            outputs = [_batch_major(o) for o in outputs]
        return BasicDecoderOutput(*outputs), state, lengths


def _state_dtype(state):
    """The float type of a cell state (the rnn outputs take it)."""
    return next(convert_to_tensor(s).dtype for s in flatten(state))
