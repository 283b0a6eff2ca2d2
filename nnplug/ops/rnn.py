"""TF1's RNN drivers: `static_rnn`, `dynamic_rnn`, their bidirectional forms and contrib's stacked one.

Every driver unrolls the recurrence over the time steps when the graph is built if it knows their number
then (the common case, `tf.placeholder(tf.int32, (batch, num_steps))`; plain LSTM layers run fused). When
`dynamic_rnn` meets a number of steps known only at run time it runs the recurrence in a `tf.while_loop`
over TensorArrays instead, as TF1 does, with the same results and gradients. The semantics and variable
names are TF1's: the variables live under `rnn/` (or the scope given), and with a per-example
`sequence_length` each example's
outputs are zero past its length and its state stays at its last valid step. A backward direction runs the
steps from last to first with that same rule, which is TF1's reversal of each example's valid part.

Also here: `sequence_mask` and `reverse_sequence` (a composite op, `ReverseSequence`: one Gather of rows,
and its own gradient, since reversing is its own inverse).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

from .. import dtypes as _dt
from ..graph import constant, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt, normalize_axis
from ..variables import variable_scope
from . import embedding_ops  # noqa: F401 - registers CheckIndices, which ReverseSequence emits
from . import math_ops as M
from .array_ops import concat, expand_dims, reshape, shape, stack, transpose
from .control_flow import while_loop
from .registry import register
from .sequence_ops import range as _range
from .lstm_sequence import lstm_sequence
from .nest import describe, flatten, is_nested, map_structure, pack_sequence_as
from .rnn_cell import BasicLSTMCell, DropoutWrapper, LSTMCell, LSTMStateTuple, MultiRNNCell, RNNCell, check_state
from .split_ops import split_v, unpack
from .tensor_array import TensorArray
from .._types import DTypeLike, Structure, Tensor, TensorLike
from ..variables import VariableScope


def _check_cell(cell, what):
    if not hasattr(cell, "state_size") or not hasattr(cell, "output_size") or not callable(cell):
        raise TypeError(f"{what}: cell must be an RNN cell (such as tf.nn.rnn_cell.BasicLSTMCell), got {cell!r:.60}")


def _tensors(structure, what):
    flat = [convert_to_tensor(x) for x in flatten(structure)]
    if not flat:
        raise ValueError(f"{what}: the inputs are empty")
    for x in flat:
        if not x.dtype.is_floating:
            raise TypeError(f"{what}: input {describe(x)} is {x.dtype.name}; RNN inputs must be floating-point "
                            f"(one-hot or embed integer ids first)")
    return flat


def _batch_size(x, axis):
    """The batch size, static when the shape knows it, else a scalar int32 tensor."""
    return x.shape[axis] if x.shape[axis] is not None else shape(x)[axis]


def _initial_state(cell, initial_state, dtype, batch_size, what):
    if initial_state is not None:
        check_state(what, initial_state, cell.state_size)
        return initial_state
    if dtype is None:
        raise ValueError(f"{what}: without an initial_state, give the state's dtype (dtype=tf.float32)")
    return cell.zero_state(batch_size, _dt.as_dtype(dtype))


def _sequence_length(sequence_length, what):
    if sequence_length is None:
        return None
    lengths = convert_to_tensor(sequence_length)
    if not lengths.dtype.is_integer:
        raise TypeError(f"{what}: sequence_length must hold integers, got {describe(lengths)} of dtype "
                        f"{lengths.dtype.name}")
    if not lengths.shape.unknown_rank and len(lengths.shape) != 1:
        raise ValueError(f"{what}: sequence_length must be a vector [batch_size], got {describe(lengths)}")
    return lengths if lengths.dtype == _dt.int32 else M.cast(lengths, _dt.int32, name="sequence_length")


def _keep_valid(valid, new, old):
    """new where the step is within the example's length, else old (valid: [batch] bool)."""
    rank = len(new.shape)
    mask = reshape(valid, [-1] + [1] * (rank - 1)) if rank > 1 else valid
    return M.where(mask, new, old)


def _unroll(cell, step_inputs, state, lengths, reverse=False):
    """Run `cell` over the list of per-step inputs; returns (outputs per step, final state)."""
    outputs = [None] * len(step_inputs)
    order = range(len(step_inputs) - 1, -1, -1) if reverse else range(len(step_inputs))
    for t in order:
        output, new_state = cell(step_inputs[t], state)
        if lengths is not None:
            with name_scope("mask"):
                valid = M.greater(lengths, t)
                output = map_structure(lambda o: _keep_valid(valid, o, M.zeros_like(o)), output)
                new_state = map_structure(lambda n, s: _keep_valid(valid, n, convert_to_tensor(s)), new_state, state)
        outputs[t], state = output, new_state
    return outputs, state


def _time_axis(flat, time_major, what):
    """(the time axis of the inputs, their number of steps or None when it is known only at run time),
    after checking every input has one, of the same length where it is known."""
    axis = 0 if time_major else 1
    counts = set()
    for x in flat:
        if x.shape.unknown_rank or len(x.shape) < 3:
            raise ShapeError(f"{what}: input {describe(x)} must have rank >= 3: "
                             f"[{'time, batch' if time_major else 'batch, time'}, depth]")
        counts.add(x.shape[axis])
    known = counts - {None}
    if len(known) > 1:
        raise ShapeError(f"{what}: the inputs have different numbers of time steps: "
                         + ", ".join(describe(x) for x in flat))
    return axis, (known.pop() if known and None not in counts else None)


def _dynamic(cell, inputs, sequence_length, initial_state, dtype, time_major, scope, reverse, what):
    _check_cell(cell, what)
    flat = _tensors(inputs, what)
    with variable_scope(scope or "rnn"):
        time_axis, steps = _time_axis(flat, time_major, what)
        state = _initial_state(cell, initial_state, dtype, _batch_size(flat[0], 1 - time_axis), what)
        lengths = _sequence_length(sequence_length, what)
        if steps is None:  # known only when the graph runs
            return _looped(cell, inputs, flat, state, lengths, time_axis, reverse)
        layers = _fused_layers(cell) if lengths is None and not is_nested(inputs) else None
        if layers is not None:
            return _fused(cell, layers, flat[0], state, time_axis, reverse)
        per_input = [unpack(x, time_axis) for x in flat]
        steps = [pack_sequence_as(inputs, list(step)) for step in zip(*per_input)]
        outputs, state = _unroll(cell, steps, state, lengths, reverse)
        stacked = map_structure(lambda *per_step: stack(per_step, axis=time_axis), *outputs)
    return stacked, state


def _swap_batch_time(x):
    return transpose(x, [1, 0] + list(range(2, len(x.shape))))


def _looped(cell, inputs, flat, state, lengths, time_axis, reverse):
    """What _unroll computes, as a tf.while_loop over time steps whose number is known only when the graph
    runs: each step's inputs read from TensorArrays, its outputs written to others and stacked after."""
    xs = [_swap_batch_time(x) if time_axis == 1 else x for x in flat]  # time-major
    steps = shape(xs[0])[0]
    sources = [TensorArray(x.dtype, size=steps, element_shape=x.shape[1:], tensor_array_name=f"input_{k}")
               .unstack(x) for k, x in enumerate(xs)]
    n_out = len(flatten(cell.output_size))
    sinks = [TensorArray(flat[0].dtype, size=steps, tensor_array_name=f"output_{k}") for k in range(n_out)]
    last = steps - 1

    def body(t, state, *arrays):
        index = last - t if reverse else t
        output, new_state = cell(pack_sequence_as(inputs, [ta.read(index) for ta in sources]), state)
        if lengths is not None:
            with name_scope("mask"):
                valid = M.greater(lengths, index)
                output = map_structure(lambda o: _keep_valid(valid, o, M.zeros_like(o)), output)
                new_state = map_structure(lambda n, s: _keep_valid(valid, n, s), new_state, state)
        return (t + 1, new_state) + tuple(ta.write(index, o) for ta, o in zip(arrays, flatten(output)))

    _, state, *arrays = while_loop(lambda t, *_: t < steps, body, [0, state] + sinks)
    outputs = [ta.stack() for ta in arrays]
    outputs = [_swap_batch_time(o) if time_axis == 1 else o for o in outputs]
    return pack_sequence_as(cell.output_size, outputs), state


# -- plain LSTM layers as one LSTMSequence op each (nnplug/ops/lstm_sequence.py) ---------------------------
def _plain_lstm(cell):
    """TF1's BasicLSTMCell, or LSTMCell without peepholes, clipping or projection, with tanh and a state tuple."""
    if type(cell) is LSTMCell and (cell._use_peepholes or cell._cell_clip is not None or cell._num_proj):
        return False
    return type(cell) in (BasicLSTMCell, LSTMCell) and cell._state_is_tuple and cell._activation is M.tanh


def _fused_layers(cell):
    """[(LSTM cell, its DropoutWrapper or None)] per layer when every layer is a plain LSTM (wrapped at most in
    a DropoutWrapper without state dropout), else None: such layers run as LSTMSequence ops."""
    layers = cell._cells if type(cell) is MultiRNNCell and cell._state_is_tuple else [cell]
    found = []
    for layer in layers:
        wrapper = None
        if type(layer) is DropoutWrapper and isinstance(layer._state_keep, float) and layer._state_keep == 1.0:
            wrapper, layer = layer, layer._cell
        if not _plain_lstm(layer):
            return None
        found.append((layer, wrapper))
    return found


def _fused(cell, layers, x, state, time_axis, reverse):
    """What _unroll computes for these layers (same variables, scopes and semantics), layer by layer: each
    layer's input projection for all steps at once, then its recurrence as one LSTMSequence."""
    multi = type(cell) is MultiRNNCell
    x = transpose(x, (1, 0, 2)) if time_axis == 1 else x  # time-major: each step's rows contiguous
    x = x[::-1] if reverse else x
    steps, batch = x.shape[0], x.shape[1]
    states, finals = (state if multi else (state,)), []
    with cell.entered(TensorShape([batch, x.shape[2]]), x.dtype) if multi else contextlib.nullcontext():
        for k, ((lstm, wrapper), (c0, h0)) in enumerate(zip(layers, states)):
            with variable_scope(f"cell_{k}") if multi else contextlib.nullcontext():
                if wrapper is not None:  # independent masks per step, as the wrapper's per-step dropout
                    x = wrapper._dropout(x, wrapper._input_keep, 0)
                depth, units = x.shape[2], lstm._num_units
                with lstm.entered(TensorShape([batch, depth]), x.dtype):
                    kernel_x, kernel_h = split_v(lstm._kernel, [depth, units], axis=0)
                    bias = lstm._bias + constant(np.repeat([0.0, 0.0, lstm._forget_bias, 0.0], units)
                                                 .astype(x.dtype.np), dtype=x.dtype)
                    xp = M.matmul(reshape(x, [-1, depth]), kernel_x) + bias
                    hs, c_last = lstm_sequence(reshape(xp, [steps, -1, 4 * units]), kernel_h,
                                               convert_to_tensor(c0), convert_to_tensor(h0), (0, 1, 2, 3))
                    x = stack(hs, axis=0)
                finals.append(LSTMStateTuple(c_last, hs[-1]))
                if wrapper is not None:
                    x = wrapper._dropout(x, wrapper._output_keep, 2)
    x = x[::-1] if reverse else x
    return (transpose(x, (1, 0, 2)) if time_axis == 1 else x), (tuple(finals) if multi else finals[0])


def dynamic_rnn(cell: RNNCell, inputs: Structure, sequence_length: TensorLike | None = None,
                initial_state: Structure = None, dtype: DTypeLike | None = None,
                parallel_iterations: int | None = None, swap_memory: bool = False, time_major: bool = False,
                scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
    """(outputs [batch, time, output_size] (time-major: [time, batch, ...]), final state). With
    sequence_length, outputs past each example's length are zero and its state is the one at its last step."""
    return _dynamic(cell, inputs, sequence_length, initial_state, dtype, time_major, scope, False, "dynamic_rnn")


def static_rnn(cell: RNNCell, inputs: Sequence[Structure], initial_state: Structure = None,
               dtype: DTypeLike | None = None, sequence_length: TensorLike | None = None,
               scope: str | VariableScope | None = None) -> tuple[list[Structure], Structure]:
    """(a list of outputs, one per step, final state) for a list of [batch, depth] inputs."""
    what = "static_rnn"
    _check_cell(cell, what)
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"{what}: inputs must be a non-empty list of [batch, depth] tensors, one per step")
    steps = [map_structure(convert_to_tensor, x) for x in inputs]
    first = _tensors(steps[0], what)[0]
    with variable_scope(scope or "rnn"):
        state = _initial_state(cell, initial_state, dtype, _batch_size(first, 0), what)
        outputs, state = _unroll(cell, steps, state, _sequence_length(sequence_length, what))
    return outputs, state


def _bidirectional(run, cell_fw, cell_bw, scope, what):
    _check_cell(cell_fw, f"{what} (cell_fw)")
    _check_cell(cell_bw, f"{what} (cell_bw)")
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw") as fw_scope:
            fw = run(cell_fw, fw_scope, False)
        with variable_scope("bw") as bw_scope:
            bw = run(cell_bw, bw_scope, True)
    return fw, bw


def bidirectional_dynamic_rnn(cell_fw: RNNCell, cell_bw: RNNCell, inputs: Structure,
                              sequence_length: TensorLike | None = None, initial_state_fw: Structure = None,
                              initial_state_bw: Structure = None, dtype: DTypeLike | None = None,
                              parallel_iterations: int | None = None, swap_memory: bool = False,
                              time_major: bool = False, scope: str | VariableScope | None = None,
                              ) -> tuple[tuple[Structure, Structure], tuple[Structure, Structure]]:
    """((outputs_fw, outputs_bw), (state_fw, state_bw)); outputs_bw[:, t] is the backward pass at step t."""
    what = "bidirectional_dynamic_rnn"
    init = {False: initial_state_fw, True: initial_state_bw}
    (out_fw, st_fw), (out_bw, st_bw) = _bidirectional(
        lambda cell, vs, reverse: _dynamic(cell, inputs, sequence_length, init[reverse], dtype, time_major, vs,
                                           reverse, what), cell_fw, cell_bw, scope, what)
    return (out_fw, out_bw), (st_fw, st_bw)


def static_bidirectional_rnn(cell_fw: RNNCell, cell_bw: RNNCell, inputs: Sequence[TensorLike],
                             initial_state_fw: Structure = None, initial_state_bw: Structure = None,
                             dtype: DTypeLike | None = None, sequence_length: TensorLike | None = None,
                             scope: str | VariableScope | None = None) -> tuple[list[Tensor], Structure, Structure]:
    """(outputs: per step concat([fw, bw], 1), state_fw, state_bw)."""
    what = "static_bidirectional_rnn"
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"{what}: inputs must be a non-empty list of [batch, depth] tensors, one per step")
    if any(is_nested(x) for x in inputs):
        raise TypeError(f"{what}: each step's input must be one tensor")
    steps = [convert_to_tensor(x) for x in inputs]
    lengths = _sequence_length(sequence_length, what)
    init = {False: initial_state_fw, True: initial_state_bw}

    def run(cell, vs, reverse):
        with variable_scope(vs):
            state = _initial_state(cell, init[reverse], dtype, _batch_size(steps[0], 0), what)
            return _unroll(cell, steps, state, lengths, reverse)
    (out_fw, st_fw), (out_bw, st_bw) = _bidirectional(run, cell_fw, cell_bw, scope, what)
    return [concat([f, b], 1) for f, b in zip(out_fw, out_bw)], st_fw, st_bw


def stack_bidirectional_dynamic_rnn(cells_fw: Sequence[RNNCell], cells_bw: Sequence[RNNCell], inputs: Structure,
                                    initial_states_fw: Sequence[Structure] | None = None,
                                    initial_states_bw: Sequence[Structure] | None = None,
                                    dtype: DTypeLike | None = None, sequence_length: TensorLike | None = None,
                                    parallel_iterations: int | None = None, time_major: bool = False,
                                    scope: str | VariableScope | None = None, swap_memory: bool = False,
                                    ) -> tuple[Tensor, tuple[Structure, ...], tuple[Structure, ...]]:
    """contrib's stacked bidirectional RNN: layer i reads concat(fw, bw) of layer i-1 (`cell_<i>/` scopes);
    returns (outputs, final fw states, final bw states)."""
    what = "stack_bidirectional_dynamic_rnn"
    cells_fw, cells_bw = list(cells_fw or []), list(cells_bw or [])
    if not cells_fw or len(cells_fw) != len(cells_bw):
        raise ValueError(f"{what}: cells_fw and cells_bw must be non-empty lists of the same length, got "
                         f"{len(cells_fw)} and {len(cells_bw)}")
    for given, name in ((initial_states_fw, "initial_states_fw"), (initial_states_bw, "initial_states_bw")):
        if given is not None and len(given) != len(cells_fw):
            raise ValueError(f"{what}: {name} has {len(given)} states for {len(cells_fw)} layers")
    states_fw, states_bw, layer = [], [], inputs
    with variable_scope(scope or "stack_bidirectional_rnn"):
        for i, (fw, bw) in enumerate(zip(cells_fw, cells_bw)):
            with variable_scope(f"cell_{i}"):
                (o_fw, o_bw), (s_fw, s_bw) = bidirectional_dynamic_rnn(
                    fw, bw, layer, sequence_length, initial_states_fw[i] if initial_states_fw else None,
                    initial_states_bw[i] if initial_states_bw else None, dtype, time_major=time_major)
            layer = concat([o_fw, o_bw], 2)
            states_fw.append(s_fw)
            states_bw.append(s_bw)
    return layer, tuple(states_fw), tuple(states_bw)



# -- sequences of different lengths ------------------------------------------------------------------------
def sequence_mask(lengths: TensorLike, maxlen: TensorLike | None = None, dtype: DTypeLike = _dt.bool_,
                  name: str | None = None) -> Tensor:
    """mask[..., j] = j < lengths[...]: one row of maxlen entries per length (maxlen defaults to the
    largest length, which must then be known when the plan is compiled: from constants or shapes)."""
    with name_scope(name, "SequenceMask"):
        lengths = convert_to_tensor(lengths)
        if not lengths.dtype.is_integer:
            raise TypeError(f"sequence_mask: lengths must be integers, got {describe(lengths)} of dtype "
                            f"{lengths.dtype.name}")
        if maxlen is None:
            maxlen = M.reduce_max(lengths)
        elif isinstance(maxlen, int) and maxlen < 0:
            raise ValueError(f"sequence_mask: maxlen must be >= 0, got {maxlen}")
        mask = M.less(_range(0, maxlen, 1, dtype=lengths.dtype), expand_dims(lengths, -1))
        return mask if _dt.as_dtype(dtype) == _dt.bool_ else M.cast(mask, dtype)


def _reverse_sequence_rule(shapes, dtypes, attrs):
    x, lengths = shapes
    if len(x) < 2:
        raise ShapeError(f"reverse_sequence needs an input of rank >= 2 ([batch, time, ...]), got {fmt(x)}")
    if len(lengths) != 1 or (lengths[0] is not None and x[0] is not None and lengths[0] != x[0]):
        raise ShapeError(f"seq_lengths must be a vector with one length per batch entry ({x[0]}), got {fmt(lengths)}")
    if not dtypes[1].is_integer:
        raise ShapeError(f"seq_lengths must be integers, got {dtypes[1].name}")
    return [(x, dtypes[0])]


def _expand_reverse_sequence(b, ins, attrs):
    """out[i, t] = x[i, lengths[i] - 1 - t] for t < lengths[i], else x[i, t]: one Gather of flat rows."""
    x, lengths = ins
    batch, steps, rest = x.shape[0], x.shape[1], tuple(x.shape[2:])
    name = b.current.name if b.current is not None else "ReverseSequence"
    lengths = b.emit("CheckIndices", [lengths], {"limit": steps + 1,
                                                 "what": f"reverse_sequence '{name}': seq_lengths"})
    col = b.emit("Reshape", [lengths], {"shape": (batch, 1)})
    t = b.constant(np.arange(steps).reshape(1, steps), lengths.dtype)
    reversed_t = b.emit("Sub", [b.emit("Sub", [col, b.scalar(1, col)]), t])
    index = b.emit("Select", [b.emit("Less", [t, col]), reversed_t, t])
    rows = b.emit("Add", [index, b.constant((np.arange(batch) * steps).reshape(batch, 1), lengths.dtype)])
    flat = b.emit("Reshape", [x], {"shape": (batch * steps,) + rest})
    return [b.emit("Gather", [flat, rows], {"axis": 0})]


# a permutation that is its own inverse: its gradient is the same reversal of the incoming gradient
register("ReverseSequence", _reverse_sequence_rule,
         grad=lambda op, g: [make("ReverseSequence", [g, op.inputs[1]]), None], expand=_expand_reverse_sequence)


def reverse_sequence(input: TensorLike, seq_lengths: TensorLike, seq_axis: int | None = None,  # noqa: A002
                     batch_axis: int | None = None, name: str | None = None, seq_dim: int | None = None,
                     batch_dim: int | None = None) -> Tensor:
    """Reverse the first seq_lengths[i] entries along seq_axis of each slice i along batch_axis (the rest
    stay where they are); a length above the axis's size raises InvalidArgumentError."""
    x = convert_to_tensor(input)
    seq_axis = seq_axis if seq_axis is not None else seq_dim
    batch_axis = batch_axis if batch_axis is not None else (batch_dim if batch_dim is not None else 0)
    if seq_axis is None:
        raise ValueError("reverse_sequence needs seq_axis (the time axis)")
    if x.shape.unknown_rank:
        raise ShapeError(f"reverse_sequence: the rank of {describe(x)} must be known")
    rank = len(x.shape)
    seq_axis, batch_axis = (normalize_axis(int(a), rank)[0] for a in (seq_axis, batch_axis))
    if seq_axis == batch_axis:
        raise ValueError(f"reverse_sequence: seq_axis and batch_axis are both {seq_axis}")
    with name_scope(name, "ReverseSequence"):
        lengths = convert_to_tensor(seq_lengths)
        if not lengths.dtype.is_integer:
            raise TypeError(f"reverse_sequence: seq_lengths must be integers, got {describe(lengths)}")
        perm = [batch_axis, seq_axis] + [a for a in range(rank) if a not in (batch_axis, seq_axis)]
        moved = perm != list(range(rank))
        canon = transpose(x, perm) if moved else x
        out = make("ReverseSequence", [canon, lengths])
        return transpose(out, tuple(int(i) for i in np.argsort(perm))) if moved else out
