"""Keras's recurrent cells and the generic RNN layer: SimpleRNNCell, LSTMCell, GRUCell (one time step each,
with the step math and weight layouts of recurrent.py's SimpleRNN, LSTM and GRU), StackedRNNCells (cells run
one after the other at every step) and RNN(cell), which runs a cell over a sequence: unrolled when the
number of steps is known, a while_loop over TensorArrays when it is not. A masked step keeps the states
and repeats the previous output, as in Keras."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import dtypes as _dt
from ...graph import Tensor, convert_to_tensor
from ...ops import math_ops as M
from ...ops import nn_ops
from ...ops.array_ops import ones, shape, stack, transpose, zeros
from ...ops.control_flow import while_loop
from ...ops.split_ops import unpack
from ...ops.tensor_array import TensorArray
from .base import KerasTensor, Layer, WeightSpec, _auto_name
from .convolutional import snake_name
from .recurrent import GRU, LSTM, SimpleRNN, _inner_layer, initializer, _keep, _layer_spec, _steps_of, get_mask, set_mask

_RECURRENT_PENALTIES = {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}


def _keras_named(cls, kwargs):
    """kwargs with Keras's default cell name (lstm_cell_1, stacked_rnn_cells_1, rnn_1)."""
    return kwargs if kwargs.get("name") is not None else {**kwargs, "name": _auto_name(snake_name(cls.__name__))}


class _Cell(Layer):
    """One step of a SimpleRNN, LSTM or GRU layer (LAYER), which holds the arguments and does the math."""
    LAYER: type = None
    CONFIG_FIELDS = {k: v for k, v in SimpleRNN.CONFIG_FIELDS.items()
                     if k in ("units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                              "bias_initializer", "dropout", "recurrent_dropout", "seed")}
    CONFIG_REQUIRED = ("units",)
    PENALIZED = _RECURRENT_PENALTIES

    def __init__(self, units: int, **kwargs: Any) -> None:
        step_args = {k: kwargs.pop(k) for k in list(kwargs) if k in self._fields()}
        super().__init__(**_keras_named(type(self), kwargs))  # an argument no cell takes fails here
        try:  # the layer checks the arguments; its errors name this cell
            self.math = self.LAYER(units, name=self.name, **step_args)
        except (ValueError, TypeError) as e:
            raise type(e)(str(e).replace(f"{self.LAYER.__name__} layer", f"{type(self).__name__}", 1)
                          .replace(f"{self.LAYER.__name__} got", f"{type(self).__name__} got", 1)) from None
        self.units = units

    @property
    def state_size(self) -> list[int]:
        return [self.units] * self.LAYER.STATES

    @property
    def output_size(self) -> int:
        return self.units

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        """kernel, recurrent_kernel (and bias) for step inputs (batch, features)."""
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs step inputs (batch, features) with known "
                             f"features, got {tuple(input_shape)}")
        return [(n.rsplit("/", 1)[-1], s, i, t) for n, s, i, t in self.math.weight_specs((None, None, input_shape[-1]))]

    def prepare(self, weights: Sequence[Tensor], batch: Any, features: int, training: bool | Tensor) -> dict:
        """What every step reuses: the weights sliced once, and the dropout masks of this sequence."""
        math = self.math
        kernel, recurrent = weights[0], weights[1]
        bias = weights[2] if math.use_bias else None
        context = {"kernel": kernel, "input_bias": math._input_bias(bias), "parts": math._recurrent_parts(recurrent, bias),
                   "input_mask": None, "recurrent_mask": None}
        if training and math.dropout:
            context["input_mask"] = nn_ops.dropout(ones([batch, features]), rate=math.dropout, seed=math.seed)
        if training and math.recurrent_dropout:
            context["recurrent_mask"] = nn_ops.dropout(ones([batch, self.units]), rate=math.recurrent_dropout,
                                                       seed=math.seed)
        return context

    def step(self, x: Tensor, states: list[Tensor], context: dict) -> tuple[Tensor, list[Tensor]]:
        """(output, new states) of one step on inputs x (batch, features)."""
        if context["input_mask"] is not None:
            x = x * context["input_mask"]
        xz = M.matmul(x, context["kernel"])
        if context["input_bias"] is not None:
            xz = xz + context["input_bias"]
        h_in = states[0] if context["recurrent_mask"] is None else states[0] * context["recurrent_mask"]
        return self.math._step(xz, h_in, states, context["parts"])

    def get_config(self) -> dict[str, Any]:
        inner = self.math.get_config()
        own = super().get_config()
        return {**own, "units": self.units, **{k: inner[k] for k in self._fields() if k in inner and k not in own},
                "seed": self.math.seed}

    @classmethod
    def _fields(cls) -> set[str]:
        """The step's arguments: the config fields of this class and its bases, but Layer's."""
        fields: set[str] = set()
        for klass in cls.__mro__:
            fields.update(getattr(klass, "CONFIG_FIELDS", {}))
        return fields - set(Layer.CONFIG_FIELDS) - {"units"}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Cell:
        config = dict(config)
        for k in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            if k in config:
                config[k] = initializer(config[k])
        return cls(**config)


class SimpleRNNCell(_Cell):
    LAYER = SimpleRNN


class LSTMCell(_Cell):
    LAYER = LSTM
    CONFIG_FIELDS = {"recurrent_activation": "activation", "unit_forget_bias": "bool",
                     "implementation": "implementation"}


class GRUCell(_Cell):
    LAYER = GRU
    CONFIG_FIELDS = {"recurrent_activation": "activation", "reset_after": "bool", "implementation": "implementation"}


def _cell(spec, what):
    cell = _inner_layer(spec, what)
    if not isinstance(cell, (_Cell, StackedRNNCells)):
        raise TypeError(f"{what}: the cell must be SimpleRNNCell, LSTMCell, GRUCell or StackedRNNCells, got "
                        f"{type(cell).__name__}")
    return cell


class StackedRNNCells(Layer):
    """Cells run one after the other at each step, each on the output of the one before; the states are the
    cells' states in order."""
    CONFIG_FIELDS = {"cells": "layer_list"}
    CONFIG_REQUIRED = ("cells",)

    def __init__(self, cells: Sequence[Any], **kwargs: Any) -> None:
        super().__init__(**_keras_named(type(self), kwargs))
        what = f"StackedRNNCells '{self.name}'"
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"{what}: cells must be a non-empty list of cells, got {cells!r:.60}")
        self.cells = [_cell(c, what) for c in cells]

    @property
    def state_size(self) -> list[int]:
        return [s for c in self.cells for s in c.state_size]

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    def _inputs(self, input_shape):
        """(cell, its step input shape) for each cell."""
        shapes, features = [], input_shape[-1]
        for c in self.cells:
            shapes.append((c, (input_shape[0], features)))
            features = c.output_size
        return shapes

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        return [(f"{c.name}/{n}", s, i, t) for c, shape_in in self._inputs(input_shape)
                for n, s, i, t in c.weight_specs(shape_in)]

    def penalties(self, weight_name: str) -> tuple[Any, Any]:
        for c in self.cells:
            if f"/{c.name}/" in f"/{weight_name}":
                return c.penalties(weight_name)
        return None, None

    def prepare(self, weights: Sequence[Tensor], batch: Any, features: int, training: bool | Tensor) -> dict:
        contexts, at = [], 0
        for c, (_, width) in self._inputs((batch, features)):
            n = len(c.weight_specs((None, width)))
            contexts.append(c.prepare(weights[at:at + n], batch, width, training))
            at += n
        return {"cells": contexts}

    def step(self, x: Tensor, states: list[Tensor], context: dict) -> tuple[Tensor, list[Tensor]]:
        new_states, at = [], 0
        for c, ctx in zip(self.cells, context["cells"]):
            k = len(c.state_size)
            x, cell_states = c.step(x, states[at:at + k], ctx)
            new_states += cell_states
            at += k
        return x, new_states

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [_layer_spec(c) for c in self.cells]}


class RNN(Layer):
    """A cell run over the time steps of (batch, time, features) inputs."""
    CONFIG_FIELDS = {"cell": "layer", "return_sequences": "bool", "return_state": "bool", "go_backwards": "bool",
                     "stateful": "bool", "unroll": "bool", "time_major": "bool"}
    CONFIG_REQUIRED = ("cell",)

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, time_major: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**_keras_named(type(self), kwargs))
        what = f"RNN layer '{self.name}'"
        if stateful:
            raise NotImplementedError(f"{what}: stateful=True is not supported; feed the state back with "
                                      f"return_state=True and initial_state= instead")
        if time_major:
            raise NotImplementedError(f"{what}: time_major=True is not supported; give [batch, time, features]")
        self.cell = StackedRNNCells(cell) if isinstance(cell, (list, tuple)) else _cell(cell, what)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)

    def _step_shape(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"RNN layer '{self.name}' needs inputs [batch, time steps, features] with known "
                             f"features, got shape {tuple(input_shape)}")
        return (input_shape[0], input_shape[2])

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        specs = self.cell.weight_specs(self._step_shape(input_shape))
        return [(f"{self.cell.name}/{n}", s, i, t) for n, s, i, t in specs]

    def penalties(self, weight_name: str) -> tuple[Any, Any]:
        return self.cell.penalties(weight_name)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        steps = (input_shape[1],) if self.return_sequences else ()
        return (input_shape[0],) + steps + (self.cell.output_size,)

    def __call__(self, x: KerasTensor | Any, training: bool | Tensor = False, mask: Tensor | None = None,
                 initial_state: Any = None) -> Any:
        if isinstance(x, KerasTensor):
            if self.return_state or initial_state is not None or mask is not None:
                raise NotImplementedError(f"RNN layer '{self.name}': return_state, initial_state and mask work when "
                                          f"the layer is called on tensors, not in a model")
            return super().__call__(x, training)
        x = convert_to_tensor(x)
        self.build_weights(tuple(x.shape))
        return self.run(x, training, mask if mask is not None else get_mask(x), initial_state)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return self.run(x, training, get_mask(x), None)

    def _initial_states(self, initial_state, batch):
        sizes = self.cell.state_size
        if initial_state is None:
            return [zeros([batch, n]) for n in sizes]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != len(sizes):
            raise ValueError(f"RNN layer '{self.name}': initial_state must be a list of {len(sizes)} tensors "
                             f"(the cell's states), got {len(given)}")
        out = [convert_to_tensor(s) for s in given]
        for s, n in zip(out, sizes):
            if len(s.shape) != 2 or s.shape[1] not in (None, n):
                raise ValueError(f"RNN layer '{self.name}': initial state '{s.name}' must be [batch, {n}], got "
                                 f"{tuple(s.shape)}")
        return out

    def run(self, x: Tensor, training: bool | Tensor, mask: Tensor | None, initial_state: Any) -> Any:
        steps = _steps_of(self, x)
        batch = x.shape[0] if x.shape[0] is not None else shape(x)[0]
        states = self._initial_states(initial_state, batch)
        context = self.cell.prepare(self.weights, batch, x.shape[2], training)
        out = zeros([batch, self.cell.output_size])

        def step(x_t, keep, out, states):
            new_out, new_states = self.cell.step(x_t, states, context)
            if keep is None:
                return new_out, new_states
            return _keep(keep, new_out, out), [_keep(keep, n, s) for n, s in zip(new_states, states)]

        if steps is None:
            out, outputs, states = self._looped(x, mask, out, states, step)
        else:
            inputs, masks = unpack(x, 1), (unpack(mask, 1) if mask is not None else None)
            outputs = []
            for t in (range(steps - 1, -1, -1) if self.go_backwards else range(steps)):
                out, states = step(inputs[t], masks[t] if masks else None, out, states)
                outputs.append(out)
            outputs = stack(outputs, axis=1) if self.return_sequences else None
        result = outputs if self.return_sequences else out
        if self.return_sequences and mask is not None:
            set_mask(result, mask if not self.go_backwards else None)
        return [result] + list(states) if self.return_state else result

    def _looped(self, x, mask, out, states, step):
        """The steps as a while_loop reading each step's inputs (and mask) from TensorArrays."""
        steps = shape(x)[1]
        inputs = TensorArray(x.dtype, size=steps, element_shape=(x.shape[0], x.shape[2]),
                             tensor_array_name="inputs").unstack(transpose(x, (1, 0, 2)))
        masks = None if mask is None else TensorArray(_dt.bool_, size=steps, tensor_array_name="masks") \
            .unstack(transpose(mask, (1, 0)))
        outputs = TensorArray(x.dtype, size=steps, tensor_array_name="outputs")

        def body(t, out, outputs, *states):
            index = steps - 1 - t if self.go_backwards else t
            out, states = step(inputs.read(index), masks.read(index) if masks is not None else None, out,
                               list(states))
            return [t + 1, out, outputs.write(t, out)] + states

        _, out, outputs, *states = while_loop(lambda t, *_: t < steps, body, [0, out, outputs] + list(states))
        return out, transpose(outputs.stack(), (1, 0, 2)) if self.return_sequences else None, states

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cell": _layer_spec(self.cell), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": False,
                "unroll": self.unroll, "time_major": False}
