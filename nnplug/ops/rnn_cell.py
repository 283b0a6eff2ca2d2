"""TF1's RNN cells (`tf.nn.rnn_cell`, `tf.contrib.rnn`): one step of a recurrence, `cell(inputs, state) ->
(output, new_state)`, built from ordinary graph ops.

A cell makes its variables on its first call, under a variable scope of its own inside the caller's, named as
TF1 names them (`rnn/basic_lstm_cell/kernel`, `rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias`), so
checkpoints and programs that look variables up by name work; later calls re-enter that scope and share
the variables. The LSTM and GRU gates come from one matrix product per step (`[x, h] @ kernel`), as in TF1.

A state is a tensor or a nesting of tuples of tensors (`LSTMStateTuple(c, h)`, a tuple per layer of a
`MultiRNNCell`, walked with nnplug/ops/nest.py); `state_size` has the same structure with sizes in place of
tensors. The orthogonal initializer (for recurrent kernels) is here too.
"""
from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import dtypes as _dt
from .. import initializers
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from ..variables import get_variable, variable_scope
from . import math_ops as M
from . import nn_ops
from .array_ops import concat, reshape, zeros
from .nest import describe, flatten, is_nested, map_structure, pack_sequence_as, same_structure
from .random_ops import random_normal
from .registry import register
from .split_ops import split_v
from .._types import DType, DTypeLike, InitializerLike, Shape, Structure, TensorLike
from ..variables import Variable, VariableScope

__all__ = [  # what tf.nn.rnn_cell holds (and the orthogonal initializer); the rest are helpers for the drivers
    "BasicLSTMCell", "BasicRNNCell", "DeviceWrapper", "DropoutWrapper", "GRUCell", "LSTMCell", "LSTMStateTuple",
    "MultiRNNCell", "Orthogonal", "RNNCell", "ResidualWrapper", "orthogonal_initializer",
]

class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM's state: the cell memory `c` and the output `h`, each [batch, units]."""

    __slots__ = ()

    @property
    def dtype(self) -> DType:
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"LSTMStateTuple: c is {c.dtype.name} but h is {h.dtype.name}")
        return c.dtype


def _size_dims(size):
    """A state or output size (an int or a shape) as a list of dims."""
    return list(TensorShape(size)) if isinstance(size, (list, TensorShape)) else [int(size)]


def check_state(what: str, state: Structure, state_size: Structure) -> None:
    """A clear error unless `state` nests like `state_size` with tensors of the sizes it gives."""
    if not same_structure(state, state_size):
        raise ValueError(f"{what}: the state given has the structure {describe(state)}, but the cell's "
                         f"state_size is {describe(state_size)}; pass a state of that structure (the cell's "
                         f"zero_state(batch_size, dtype) has it)")
    for s, size in zip(flatten(state), flatten(state_size)):
        t = convert_to_tensor(s)
        dims = _size_dims(size)
        got = list(t.shape)[1:] if not t.shape.unknown_rank else None
        if got is not None and (len(got) != len(dims) or any(g is not None and g != d for g, d in zip(got, dims))):
            raise ValueError(f"{what}: the state tensor {describe(t)} does not fit the cell's state_size "
                             f"{describe(state_size)} (each state tensor is [batch] + its size)")


def _activation(fn, what):
    if fn is None:
        return M.tanh
    if not callable(fn):
        raise TypeError(f"{what}: activation must be a callable such as tf.tanh, got {fn!r:.60}")
    return fn


def _units(num_units, what):
    if isinstance(num_units, bool) or not isinstance(num_units, int) or num_units <= 0:
        raise ValueError(f"{what} needs a positive int number of units, got {num_units!r:.40}")
    return num_units


# -- the cell protocol -------------------------------------------------------------------------------------
class RNNCell:
    """The base of every cell. A subclass gives `state_size`, `output_size`, and `call(inputs, state)`;
    `build(inputs_shape)` makes its variables with `add_variable` (once, on the first call)."""

    _base_name = "rnn_cell"

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: DTypeLike | None = None,
                 reuse: bool | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}")
        self.trainable = trainable
        self._name = name
        self._dtype = _dt.as_dtype(dtype) if dtype is not None else None
        self._reuse = reuse
        self._scope = None  # the VariableScope of the first call
        self.built = False
        self._variables = []
        self._build_dtype = None

    @property
    def name(self) -> str:
        return self._scope.name.rsplit("/", 1)[-1] if self._scope is not None else (self._name or self._base_name)

    @property
    def state_size(self) -> Structure:
        raise NotImplementedError(f"{type(self).__name__} must define state_size")

    @property
    def output_size(self) -> Structure:
        raise NotImplementedError(f"{type(self).__name__} must define output_size")

    def build(self, inputs_shape: TensorShape | list[TensorShape]) -> None:
        pass

    def call(self, inputs: Structure, state: Structure) -> tuple[Structure, Structure]:
        raise NotImplementedError(f"{type(self).__name__} must define call(inputs, state)")

    def __call__(self, inputs: Structure, state: Structure,
                 scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
        inputs = inputs if is_nested(inputs) else convert_to_tensor(inputs)
        flat = [convert_to_tensor(x) for x in flatten(inputs)]
        with self.entered(flat[0].shape if not is_nested(inputs) else [x.shape for x in flat], flat[0].dtype,
                          scope) as vs:
            check_state(f"{type(self).__name__} '{vs.name}'", state, self.state_size)
            return self.call(inputs, state)

    @contextlib.contextmanager
    def entered(self, inputs_shape: TensorShape | list[TensorShape], dtype: DTypeLike | None,
                scope: str | VariableScope | None = None) -> Iterator[VariableScope]:
        """Inside the cell's variable scope (made on the first call, re-entered after), built for inputs of
        this shape and dtype: what a call runs in, and a driver that computes the cell's steps itself."""
        if self._scope is None:
            opened = variable_scope(scope, reuse=self._reuse) if scope is not None else \
                variable_scope(self._name, default_name=self._base_name, reuse=self._reuse)
        else:
            opened = self._reentered()
        with opened as vs:
            self._scope = vs
            if not self.built:
                self._build_dtype = self._dtype or dtype
                self.build(inputs_shape)
                self.built = True
            yield vs

    @contextlib.contextmanager
    def _reentered(self) -> Iterator[VariableScope]:
        """The cell's scope again, its ops under the name scope it first had (TF1's base Layer)."""
        assert self._scope is not None, "re-entered before the first call"
        with variable_scope(self._scope, reuse=True, auxiliary_name_scope=False) as vs, \
                name_scope(self._scope.original_name_scope):
            yield vs

    def add_variable(self, name: str, shape: Shape, dtype: DTypeLike | None = None,
                     initializer: InitializerLike | TensorLike | None = None, trainable: bool | None = None,
                     **kwargs: Any) -> Variable:
        """A variable of this cell, in its scope (`<scope>/<name>`), made once."""
        var = get_variable(name, shape, dtype=dtype or self._build_dtype or _dt.float32, initializer=initializer,
                           trainable=self.trainable if trainable is None else trainable)
        self._variables.append(var)
        return var

    add_weight = add_variable

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    weights = variables

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    trainable_weights = trainable_variables

    def zero_state(self, batch_size: TensorLike, dtype: DTypeLike) -> Structure:
        """Zeros in the structure of state_size, each [batch_size] + size; batch_size may be a tensor."""
        with name_scope(f"{type(self).__name__}ZeroState"):
            return map_structure(lambda size: zeros([batch_size] + _size_dims(size), dtype=dtype), self.state_size)

    def _input_depth(self, inputs_shape):
        if not isinstance(inputs_shape, TensorShape) or len(inputs_shape) != 2 or inputs_shape[-1] is None:
            raise ShapeError(f"{type(self).__name__} '{self._scope.name}' needs inputs of shape [batch, depth] with "
                             f"a known depth, got {inputs_shape}")
        return inputs_shape[-1]


def _gates(inputs, h, kernel, bias):
    """[inputs, h] @ kernel + bias: every gate of a step from one matrix product."""
    return nn_ops.bias_add(M.matmul(concat([inputs, h], 1), kernel), bias)


class _OneSized(RNNCell):
    """A cell whose state and output are both [batch, num_units] (BasicRNNCell, GRUCell)."""

    _num_units: int

    @property
    def state_size(self) -> int:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units


class BasicRNNCell(_OneSized):
    """h' = activation([x, h] @ kernel + bias); output and state are h'."""

    _base_name = "basic_rnn_cell"

    def __init__(self, num_units: int, activation: Callable[[Tensor], Tensor] | None = None,
                 reuse: bool | None = None, name: str | None = None, dtype: DTypeLike | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        self._num_units = _units(num_units, "BasicRNNCell")
        self._activation = _activation(activation, "BasicRNNCell")

    def build(self, inputs_shape: TensorShape | list[TensorShape]) -> None:
        depth = self._input_depth(inputs_shape)
        self._kernel = self.add_variable("kernel", [depth + self._num_units, self._num_units])
        self._bias = self.add_variable("bias", [self._num_units], initializer=initializers.zeros())

    def call(self, inputs: Structure, state: Structure) -> tuple[Tensor, Tensor]:
        out = self._activation(_gates(inputs, state, self._kernel, self._bias))
        return out, out


class BasicLSTMCell(RNNCell):
    """TF1's BasicLSTMCell: gates i, j, f, o = split([x, h] @ kernel + bias, 4);
    c' = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j); h' = activation(c') * sigmoid(o)."""

    _base_name = "basic_lstm_cell"

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Callable[[Tensor], Tensor] | None = None, reuse: bool | None = None,
                 name: str | None = None, dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        self._num_units = _units(num_units, type(self).__name__)
        self._forget_bias = float(forget_bias)
        self._state_is_tuple = bool(state_is_tuple)
        self._activation = _activation(activation, type(self).__name__)

    @property
    def state_size(self) -> LSTMStateTuple | int:
        n = self._num_units
        return LSTMStateTuple(n, n) if self._state_is_tuple else 2 * n

    @property
    def output_size(self) -> int:
        return self._num_units

    def build(self, inputs_shape: TensorShape | list[TensorShape]) -> None:
        depth = self._input_depth(inputs_shape)
        self._kernel = self.add_variable("kernel", [depth + self._num_units, 4 * self._num_units])
        self._bias = self.add_variable("bias", [4 * self._num_units], initializer=initializers.zeros())

    def call(self, inputs: Structure, state: Structure) -> tuple[Tensor, LSTMStateTuple | Tensor]:
        c, h = state if self._state_is_tuple else split_v(state, 2, axis=1)
        i, j, f, o = split_v(_gates(inputs, h, self._kernel, self._bias), 4, axis=1)
        new_c = c * M.sigmoid(f + self._forget_bias) + M.sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * M.sigmoid(o)
        return new_h, (LSTMStateTuple(new_c, new_h) if self._state_is_tuple else concat([new_c, new_h], 1))


class LSTMCell(BasicLSTMCell):
    """TF1's LSTMCell: BasicLSTMCell's gates, with optional peepholes (`w_f_diag`, `w_i_diag`, `w_o_diag`),
    a clipped cell state (`cell_clip`) and a projection of the output to `num_proj` units
    (`projection/kernel`, clipped by `proj_clip`); the kernel starts from `initializer`."""

    _base_name = "lstm_cell"

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: float | None = None,
                 initializer: InitializerLike | None = None, num_proj: int | None = None,
                 proj_clip: float | None = None, num_unit_shards: int | None = None,
                 num_proj_shards: int | None = None, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Callable[[Tensor], Tensor] | None = None, reuse: bool | None = None,
                 name: str | None = None, dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        super().__init__(num_units, forget_bias, state_is_tuple, activation, reuse, name, dtype, **kwargs)
        if num_unit_shards is not None or num_proj_shards is not None:
            raise NotImplementedError("LSTMCell: num_unit_shards/num_proj_shards (deprecated in TF1) are not "
                                      "supported; leave them None")
        self._use_peepholes = bool(use_peepholes)
        self._cell_clip, self._proj_clip = cell_clip, proj_clip
        self._initializer = initializers.get(initializer)
        self._num_proj = None if num_proj is None else _units(num_proj, "LSTMCell num_proj")

    @property
    def state_size(self) -> LSTMStateTuple | int:
        n, p = self._num_units, self._num_proj or self._num_units
        return LSTMStateTuple(n, p) if self._state_is_tuple else n + p

    @property
    def output_size(self) -> int:
        return self._num_proj or self._num_units

    def build(self, inputs_shape: TensorShape | list[TensorShape]) -> None:
        depth = self._input_depth(inputs_shape)
        n, h_depth = self._num_units, self._num_proj or self._num_units
        self._kernel = self.add_variable("kernel", [depth + h_depth, 4 * n], initializer=self._initializer)
        self._bias = self.add_variable("bias", [4 * n], initializer=initializers.zeros())
        if self._use_peepholes:
            self._w_f, self._w_i, self._w_o = (self.add_variable(f"w_{g}_diag", [n], initializer=self._initializer)
                                               for g in "fio")
        if self._num_proj is not None:
            with variable_scope("projection"):
                self._proj = self.add_variable("kernel", [n, self._num_proj], initializer=self._initializer)

    def call(self, inputs: Structure, state: Structure) -> tuple[Tensor, LSTMStateTuple | Tensor]:
        n = self._num_units
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = split_v(state, [n, self._num_proj or n], axis=1)
        i, j, f, o = split_v(_gates(inputs, h, self._kernel, self._bias), 4, axis=1)
        if self._use_peepholes:
            f, i = f + self._w_f * c, i + self._w_i * c
        new_c = M.sigmoid(f + self._forget_bias) * c + M.sigmoid(i) * self._activation(j)
        if self._cell_clip is not None:
            new_c = M.clip_by_value(new_c, -self._cell_clip, self._cell_clip)
        if self._use_peepholes:
            o = o + self._w_o * new_c
        m = M.sigmoid(o) * self._activation(new_c)
        if self._num_proj is not None:
            m = M.matmul(m, self._proj)
            if self._proj_clip is not None:
                m = M.clip_by_value(m, -self._proj_clip, self._proj_clip)
        return m, (LSTMStateTuple(new_c, m) if self._state_is_tuple else concat([new_c, m], 1))


class GRUCell(_OneSized):
    """TF1's GRUCell: r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias), 2);
    c = activation([x, r * h] @ candidate/kernel + candidate/bias); h' = u * h + (1 - u) * c. The gate bias
    starts at 1 (so the cell starts by keeping its state), as in TF1."""

    _base_name = "gru_cell"

    def __init__(self, num_units: int, activation: Callable[[Tensor], Tensor] | None = None,
                 reuse: bool | None = None, kernel_initializer: InitializerLike | None = None,
                 bias_initializer: InitializerLike | None = None, name: str | None = None,
                 dtype: DTypeLike | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, reuse=reuse, **kwargs)
        self._num_units = _units(num_units, "GRUCell")
        self._activation = _activation(activation, "GRUCell")
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)

    def build(self, inputs_shape: TensorShape | list[TensorShape]) -> None:
        depth, n = self._input_depth(inputs_shape), self._num_units
        with variable_scope("gates"):
            self._gate_kernel = self.add_variable("kernel", [depth + n, 2 * n], initializer=self._kernel_initializer)
            self._gate_bias = self.add_variable("bias", [2 * n],
                                                initializer=self._bias_initializer or initializers.constant(1.0))
        with variable_scope("candidate"):
            self._cand_kernel = self.add_variable("kernel", [depth + n, n], initializer=self._kernel_initializer)
            self._cand_bias = self.add_variable("bias", [n], initializer=self._bias_initializer or initializers.zeros())

    def call(self, inputs: Structure, state: Structure) -> tuple[Tensor, Tensor]:
        r, u = split_v(M.sigmoid(_gates(inputs, state, self._gate_kernel, self._gate_bias)), 2, axis=1)
        c = self._activation(_gates(inputs, r * state, self._cand_kernel, self._cand_bias))
        new_h = u * state + (1.0 - u) * c
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Cells stacked: layer i reads layer i-1's output; its variables live under `cell_<i>/`. The state is a
    tuple with one entry per layer (or, with state_is_tuple=False, the layers' states concatenated)."""

    _base_name = "multi_rnn_cell"

    def __init__(self, cells: Iterable[RNNCell], state_is_tuple: bool = True) -> None:
        super().__init__()
        cells = list(cells)
        if not cells:
            raise ValueError("MultiRNNCell needs at least one cell")
        for i, c in enumerate(cells):
            if not hasattr(c, "state_size") or not callable(c):
                raise TypeError(f"MultiRNNCell: cells[{i}] is not an RNN cell: {c!r:.60}")
        if not state_is_tuple and any(is_nested(c.state_size) for c in cells):
            raise ValueError("MultiRNNCell(state_is_tuple=False) needs cells whose states are single tensors "
                             "(e.g. BasicLSTMCell(state_is_tuple=False)); "
                             + ", ".join(f"cells[{i}].state_size = {describe(c.state_size)}"
                                         for i, c in enumerate(cells) if is_nested(c.state_size)))
        self._cells = cells
        self._state_is_tuple = bool(state_is_tuple)

    @property
    def state_size(self) -> Structure:
        sizes = tuple(c.state_size for c in self._cells)
        return sizes if self._state_is_tuple else sum(sizes)

    @property
    def output_size(self) -> Structure:
        return self._cells[-1].output_size

    @property
    def variables(self) -> list[Variable]:
        return [v for c in self._cells for v in c.variables]

    weights = variables

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for c in self._cells for v in c.trainable_variables]

    def zero_state(self, batch_size: TensorLike, dtype: DTypeLike) -> Structure:
        if not self._state_is_tuple:
            return super().zero_state(batch_size, dtype)
        with name_scope(f"{type(self).__name__}ZeroState"):
            return tuple(c.zero_state(batch_size, dtype) for c in self._cells)

    def call(self, inputs: Structure, state: Structure) -> tuple[Structure, Structure]:
        states = state if self._state_is_tuple else split_v(state, [c.state_size for c in self._cells], axis=1)
        out, new_states = inputs, []
        for i, (cell, s) in enumerate(zip(self._cells, states)):
            with variable_scope(f"cell_{i}"):
                out, s = cell(out, s)
            new_states.append(s)
        return out, (tuple(new_states) if self._state_is_tuple else concat(new_states, 1))


# -- wrappers: no variable scope of their own, as in TF1 --------------------------------------------------------
class _Wrapper(RNNCell):
    def __init__(self, cell: RNNCell, what: str) -> None:
        super().__init__()
        if not hasattr(cell, "state_size") or not callable(cell):
            raise TypeError(f"{what} wraps an RNN cell, got {cell!r:.60}")
        self._cell = cell

    @property
    def state_size(self) -> Structure:
        return self._cell.state_size

    @property
    def output_size(self) -> Structure:
        return self._cell.output_size

    @property
    def variables(self) -> list[Variable]:
        return self._cell.variables

    weights = variables

    @property
    def trainable_variables(self) -> list[Variable]:
        return self._cell.trainable_variables

    def zero_state(self, batch_size: TensorLike, dtype: DTypeLike) -> Structure:
        with name_scope(f"{type(self).__name__}ZeroState"):
            return self._cell.zero_state(batch_size, dtype)

    def __call__(self, inputs: Structure, state: Structure,
                 scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
        return self.call(inputs, state, scope)  # type: ignore[call-arg]  # a wrapper's call takes the scope


def _keep_prob(value, what):
    """A Python number in (0, 1] or a float tensor (a placeholder fed 0.5 in training and 1.0 otherwise)."""
    if hasattr(value, "_as_tensor") or isinstance(value, Tensor):
        t = convert_to_tensor(value)
        if not t.dtype.is_floating:
            raise TypeError(f"DropoutWrapper: {what} must be a float tensor, got '{t.name}' of dtype {t.dtype.name}")
        if not t.shape.unknown_rank and t.shape.num_elements() not in (None, 1):
            raise ValueError(f"DropoutWrapper: {what} must be a scalar, got {describe(t)}")
        return reshape(t, [])  # a scalar, as TF1 requires: outputs keep their static shapes
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"DropoutWrapper: {what} must be in (0, 1], got {value!r:.40}")
    return float(value)


def _default_state_filter(substate):
    """TF1's default: dropout on every state tensor but an LSTM's memory c."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(c=False, h=True)
    return True


def _dropped_leaves(visitor, structure):
    """Per leaf of `structure`, whether state dropout applies: TF1's traversal of the visitor's answers (a
    bool for a whole substructure, or a bool per branch, asked again one level down where True)."""
    decision = visitor(structure)
    if not is_nested(structure):
        return [bool(decision)]
    if isinstance(decision, bool):
        decision = [decision] * len(structure)
    out = []
    for d, sub in zip(decision, structure):
        out += _dropped_leaves(visitor, sub) if d else [False] * len(flatten(sub))
    return out


class DropoutWrapper(_Wrapper):
    """Dropout on a cell's inputs, outputs and (new) state, each with its keep probability (a number or a
    tensor). The state's LSTM memory `c` is left alone unless `dropout_state_filter_visitor` says otherwise."""

    def __init__(self, cell: RNNCell, input_keep_prob: TensorLike = 1.0, output_keep_prob: TensorLike = 1.0,
                 state_keep_prob: TensorLike = 1.0, variational_recurrent: bool = False, input_size: Any = None,
                 dtype: DTypeLike | None = None, seed: int | None = None,
                 dropout_state_filter_visitor: Callable[[Structure], Any] | None = None) -> None:
        super().__init__(cell, "DropoutWrapper")
        if variational_recurrent:
            raise NotImplementedError("DropoutWrapper(variational_recurrent=True) is not supported; the same "
                                      "mask at every step needs a mask per sequence")
        self._input_keep = _keep_prob(input_keep_prob, "input_keep_prob")
        self._output_keep = _keep_prob(output_keep_prob, "output_keep_prob")
        self._state_keep = _keep_prob(state_keep_prob, "state_keep_prob")
        self._seed = seed
        self._state_filter = dropout_state_filter_visitor or _default_state_filter

    def _dropout(self, x, keep, salt):
        if isinstance(keep, float) and keep == 1.0:
            return x
        seed = None if self._seed is None else self._seed + salt
        if isinstance(keep, float):
            return nn_ops.dropout(x, rate=1.0 - keep, seed=seed)
        return nn_ops.dropout(x, rate=1.0 - M.cast(keep, x.dtype), seed=seed)

    def call(self, inputs: Structure, state: Structure,
             scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
        inputs = map_structure(lambda x: self._dropout(convert_to_tensor(x), self._input_keep, 0), inputs)
        output, new_state = self._cell(inputs, state, scope=scope)
        if not (isinstance(self._state_keep, float) and self._state_keep == 1.0):
            flat = flatten(new_state)
            chosen = _dropped_leaves(self._state_filter, new_state)
            new_state = pack_sequence_as(new_state, [self._dropout(s, self._state_keep, 1) if d else s
                                                     for s, d in zip(flat, chosen)])
        output = map_structure(lambda x: self._dropout(x, self._output_keep, 2), output)
        return output, new_state


class ResidualWrapper(_Wrapper):
    """output = inputs + cell output (the state is the cell's)."""

    def __init__(self, cell: RNNCell, residual_fn: Callable[[Structure, Structure], Structure] | None = None) -> None:
        super().__init__(cell, "ResidualWrapper")
        self._residual_fn = residual_fn or (lambda i, o: map_structure(M.add, i, o))

    def call(self, inputs: Structure, state: Structure,
             scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
        output, new_state = self._cell(inputs, state, scope=scope)
        return self._residual_fn(inputs, output), new_state


class DeviceWrapper(_Wrapper):
    """Runs the cell's ops under `tf.device(device)`."""

    def __init__(self, cell: RNNCell, device: str | Callable[..., Any] | None) -> None:
        super().__init__(cell, "DeviceWrapper")
        self._device = device

    def call(self, inputs: Structure, state: Structure,
             scope: str | VariableScope | None = None) -> tuple[Structure, Structure]:
        from ..graph import device
        with device(self._device):
            return self._cell(inputs, state, scope=scope)


# -- the orthogonal initializer (recurrent kernels) ---------------------------------------------------------
def _orthonormal_rule(shapes, dtypes, attrs):
    rows, cols = shapes[0]
    if rows is not None and cols is not None and rows < cols:
        raise ShapeError(f"Orthonormalize needs a tall draw (rows >= columns), got {fmt(shapes[0])}")
    return [(TensorShape(attrs["shape"]), dtypes[0])]


def _orthonormal_host(spec):
    gain, shape, flip = spec.attrs["gain"], tuple(spec.attrs["shape"]), spec.attrs["transpose"]

    def orthonormalize(a):
        q, r = np.linalg.qr(a.astype(np.float64))
        q = q * np.sign(np.diag(r))  # a uniform draw over orthogonal matrices, as TF and Keras make it
        return (gain * (q.T if flip else q)).reshape(shape).astype(a.dtype)
    return orthonormalize


# a normal draw [n, m] (n >= m) -> the orthonormal Q of its QR decomposition, scaled, in `shape`
register("Orthonormalize", _orthonormal_rule, grad=lambda op, g: [None], host=_orthonormal_host)


class Orthogonal(initializers.Initializer):
    """TF1's `orthogonal_initializer` / Keras's 'orthogonal': the matrix [prod(shape[:-1]), shape[-1]] has
    orthonormal rows or columns (times `gain`), from the graph's seeded normal draw."""

    def __init__(self, gain: float = 1.0, seed: int | None = None, dtype: DTypeLike = _dt.float32) -> None:
        self.gain, self.seed = float(gain), seed

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}

    def __call__(self, shape: Shape, dtype: DTypeLike = _dt.float32, partition_info: Any = None) -> Tensor:
        shape = [int(d) for d in shape]
        if len(shape) < 2:
            raise ValueError(f"the orthogonal initializer needs a shape of rank >= 2, got {shape}")
        rows, cols = int(np.prod(shape[:-1])), int(shape[-1])
        draw = random_normal([max(rows, cols), min(rows, cols)], dtype=dtype or _dt.float32, seed=self.seed)
        return make("Orthonormalize", [draw], {"gain": self.gain, "shape": tuple(shape), "transpose": rows < cols})


orthogonal_initializer = Orthogonal
