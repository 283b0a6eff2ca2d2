"""`tf.contrib.legacy_seq2seq`: the list-of-time-steps sequence models and losses of TF1's first
translation and language-model tutorials (PTB's `sequence_loss_by_example`, char-rnn's `rnn_decoder`)."""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from ... import dtypes as _dt
from ..._types import Tensor, TensorLike
from ...graph import convert_to_tensor, name_scope
from ...ops import math_ops as M
from ...ops.array_ops import shape
from ...ops.nn_ops import sparse_softmax_cross_entropy_with_logits
from ...ops.rnn import static_rnn
from ...variables import get_variable_scope, variable_scope

_EPSILON = 1e-12  # TF1's guard against all-zero weights


def sequence_loss_by_example(logits: Sequence[TensorLike], targets: Sequence[TensorLike],
                             weights: Sequence[TensorLike], average_across_timesteps: bool = True,
                             softmax_loss_function: Callable[..., Tensor] | None = None,
                             name: str | None = None) -> Tensor:
    """The weighted cross-entropy of each example, [batch]: logits, targets and weights are lists with one
    [batch, classes] / [batch] / [batch] entry per time step; summed over the steps, divided by the summed
    weights when `average_across_timesteps`."""
    if not (len(logits) == len(targets) == len(weights)) or not logits:
        raise ValueError(f"sequence_loss_by_example: logits, targets and weights must be lists of one entry per "
                         f"time step of the same length, got {len(logits)}, {len(targets)} and {len(weights)}")
    with name_scope(name, "sequence_loss_by_example"):
        terms = []
        for logit, target, weight in zip(logits, targets, weights):
            logit, target = convert_to_tensor(logit), convert_to_tensor(target)
            loss = (sparse_softmax_cross_entropy_with_logits(labels=target, logits=logit)
                    if softmax_loss_function is None else softmax_loss_function(labels=target, logits=logit))
            terms.append(loss * convert_to_tensor(weight, loss.dtype))
        total = M.add_n(terms)
        if average_across_timesteps:
            total = total / (M.add_n([convert_to_tensor(w, total.dtype) for w in weights]) + _EPSILON)
        return total


def sequence_loss(logits: Sequence[TensorLike], targets: Sequence[TensorLike], weights: Sequence[TensorLike],
                  average_across_timesteps: bool = True, average_across_batch: bool = True,
                  softmax_loss_function: Callable[..., Tensor] | None = None, name: str | None = None) -> Tensor:
    """The summed `sequence_loss_by_example`, divided by the batch size when `average_across_batch`."""
    with name_scope(name, "sequence_loss"):
        cost = M.reduce_sum(sequence_loss_by_example(logits, targets, weights, average_across_timesteps,
                                                     softmax_loss_function))
        if not average_across_batch:
            return cost
        return cost / M.cast(shape(convert_to_tensor(targets[0]))[0], cost.dtype)


def rnn_decoder(decoder_inputs: Sequence[TensorLike], initial_state: Any, cell: Any,
                loop_function: Callable[[Tensor, int], Tensor] | None = None,
                scope: str | None = None) -> tuple[list[Tensor], Any]:
    """Run `cell` over the list of inputs from `initial_state`, one shared set of weights; with
    `loop_function(prev_output, i)` each step after the first reads it instead of its input (sampling)."""
    with variable_scope(scope or "rnn_decoder"):
        state, outputs, prev = initial_state, [], None
        for i, inp in enumerate(decoder_inputs):
            if loop_function is not None and prev is not None:
                with variable_scope("loop_function", reuse=True):
                    inp = loop_function(prev, i)
            if i > 0:
                get_variable_scope().reuse_variables()
            output, state = cell(inp, state)
            outputs.append(output)
            if loop_function is not None:
                prev = output
    return outputs, state


def basic_rnn_seq2seq(encoder_inputs: Sequence[TensorLike], decoder_inputs: Sequence[TensorLike], cell: Any,
                      dtype: Any = _dt.float32, scope: str | None = None) -> tuple[list[Tensor], Any]:
    """Encode the inputs with a copy of `cell`, then decode from its final state with `cell` itself."""
    with variable_scope(scope or "basic_rnn_seq2seq"):
        _, enc_state = static_rnn(copy.deepcopy(cell), list(encoder_inputs), dtype=dtype)
        return rnn_decoder(decoder_inputs, enc_state, cell)
