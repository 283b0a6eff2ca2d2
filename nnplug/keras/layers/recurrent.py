"""Keras's recurrent layers: SimpleRNN, LSTM, GRU, and the Bidirectional, TimeDistributed and Masking layers.

The weights have Keras's layouts, so files written by tf.keras load: `kernel` [features, gates * units],
`recurrent_kernel` [units, gates * units] and `bias`, with the LSTM gates in the order i, f, c, o and the GRU
gates z, r, h (with `reset_after`, tf.keras 2's default, a bias of [2, 3 * units]: input and recurrent). The
input projection of every step is one matrix product over the whole sequence; each step then multiplies
the state by the recurrent kernel. The recurrence is unrolled over the time steps when the input shape
gives their number (LSTM: one fused LSTMSequence op); with `Input(shape=(None, features))` it runs as a
`tf.while_loop` over TensorArrays, so one model takes batches of any length.

Masks (from Embedding(mask_zero=True) or Masking) travel with the tensor they belong to: a masked step
keeps the state and repeats the previous output, as in Keras.
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ... import dtypes as _dt
from ... import initializers as _initializer_names
from ...graph import Tensor, convert_to_tensor
from ...ops import math_ops as M
from ...ops import nn_ops
from ...ops.array_ops import concat, expand_dims, reshape, shape, stack, transpose, zeros
from ...ops.control_flow import while_loop
from ...ops.lstm_sequence import lstm_sequence
from ...ops.manip_ops import reverse
from ...ops.rnn_cell import Orthogonal
from ...ops.split_ops import split_v, unpack
from ...ops.tensor_array import TensorArray
from ...shapes import ShapeError, fmt
from .. import activations, initializers
from .base import KerasTensor, Layer, WeightSpec, _auto_name
from ..._types import ActivationFn, InitializerLike, Regularizer, TensorLike

if TYPE_CHECKING:
    import numpy as np

_MASKS = weakref.WeakKeyDictionary()  # graph tensor -> its Keras mask, bool [batch, time]


def set_mask(tensor: Any, mask: Tensor) -> Any:
    if mask is not None:
        _MASKS[tensor] = mask
    return tensor


def get_mask(tensor: Any) -> Any:
    return _MASKS.get(tensor)


KERAS_NAMES = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru"}  # Keras's snake case of these


def keras_named(layer: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """kwargs with Keras's default name for the layer (`lstm_1`, not a letter-by-letter snake case)."""
    if kwargs.get("name") is None and type(layer).__name__ in KERAS_NAMES:
        return {**kwargs, "name": _auto_name(KERAS_NAMES[type(layer).__name__])}
    return kwargs


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def initializer(spec: Any) -> Any:
    """An initializer from a name, an object, or a config as Keras writes it ({class_name, config}, Keras 3's
    with module/registered_name); 'orthogonal' included."""
    if isinstance(spec, dict):
        name, config = _snake(str(spec.get("class_name", ""))), dict(spec.get("config") or {})
        if name == "orthogonal":
            return Orthogonal(**config)
        if name in _initializer_names._BY_NAME and all(v is None for v in config.values()):
            return name
        return initializers.deserialize({"class_name": spec.get("class_name"), "config": config})
    if isinstance(spec, str) and spec.lower() == "orthogonal":
        return Orthogonal()
    if isinstance(spec, str) and spec.lower() == "uniform":  # Keras's name for RandomUniform(-0.05, 0.05)
        return initializers.RandomUniform()
    initializers.get(spec)  # an unknown name fails here
    return spec


def serialize_initializer(init: Any) -> Any:
    if isinstance(init, Orthogonal):
        return {"class_name": "Orthogonal", "config": init.get_config()}
    return initializers.serialize(init)


def _steps_of(layer, x):
    """The number of time steps, or None when it is known only at run time."""
    if x.shape.unknown_rank or len(x.shape) != 3 or x.shape[2] is None:
        raise ShapeError(f"{type(layer).__name__} layer '{layer.name}' needs inputs [batch, time steps, features] "
                         f"with the number of features known, got {fmt(x.shape)}")
    return x.shape[1]


def _keep(mask_t, new, old):
    return M.where(reshape(mask_t, [-1, 1]), new, old)


class _Recurrent(Layer):
    """The driver shared by SimpleRNN, LSTM and GRU; a subclass gives GATES, STATES, its weights and `_step`."""

    CELL = "rnn_cell"
    GATES, STATES = 1, 1
    CONFIG_FIELDS = {
        "units": "positive_int", "activation": "activation", "use_bias": "bool",
        "kernel_initializer": "initializer", "recurrent_initializer": "keras_initializer",
        "bias_initializer": "initializer", "dropout": "rate", "recurrent_dropout": "rate",
        "return_sequences": "bool", "return_state": "bool", "go_backwards": "bool", "stateful": "bool",
        "unroll": "bool", "time_major": "bool", "seed": "seed", "zero_output_for_mask": "bool"}
    CONFIG_REQUIRED = ("units",)
    PENALIZED = {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}
    _ARGS = ("activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer", "dropout",
             "recurrent_dropout", "return_sequences", "return_state", "go_backwards", "stateful", "unroll")

    def __init__(self, units: int, activation: str | ActivationFn = "tanh", use_bias: bool = True,
                 kernel_initializer: InitializerLike = "glorot_uniform",
                 recurrent_initializer: InitializerLike = "orthogonal", bias_initializer: InitializerLike = "zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, seed: int | None = None, zero_output_for_mask: bool = False,
                 kernel_regularizer: Regularizer | None = None, recurrent_regularizer: Regularizer | None = None,
                 bias_regularizer: Regularizer | None = None, activity_regularizer: Regularizer | None = None,
                 kernel_constraint: ActivationFn | None = None, recurrent_constraint: ActivationFn | None = None,
                 bias_constraint: ActivationFn | None = None, **kwargs: Any) -> None:
        super().__init__(kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, **keras_named(self, kwargs))
        what = f"{type(self).__name__} layer '{self.name}'"
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"{what} needs a positive number of units, got {units!r:.40}")
        if stateful:
            raise NotImplementedError(f"{what}: stateful=True is not supported; feed the state back with "
                                      f"return_state=True and initial_state= instead")
        if time_major:
            raise NotImplementedError(f"{what}: time_major=True is not supported; give [batch, time, features]")
        for arg, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= float(rate) < 1.0:
                raise ValueError(f"{what}: {arg} must be in [0, 1), got {rate}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializer(kernel_initializer)
        self.recurrent_initializer = initializer(recurrent_initializer)
        self.bias_initializer = initializer(bias_initializer)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.seed = seed

    # -- shapes, without a graph ------------------------------------------------------------------
    def _bias_spec(self):
        return ("bias", (self.GATES * self.units,), self.bias_initializer, True)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} layer '{self.name}' needs inputs [batch, time steps, features] "
                             f"with known features, got shape {tuple(input_shape)}")
        n = self.GATES * self.units
        specs: list[WeightSpec] = [(f"{self.CELL}/kernel", (input_shape[-1], n), self.kernel_initializer, True),
                                   (f"{self.CELL}/recurrent_kernel", (self.units, n), self.recurrent_initializer, True)]
        if self.use_bias:
            name, bias_shape, init, trainable = self._bias_spec()
            specs.append((f"{self.CELL}/{name}", bias_shape, init, trainable))
        return specs

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return (input_shape[0],) + ((input_shape[1],) if self.return_sequences else ()) + (self.units,)

    def keras3_weight_groups(self, input_shape: Sequence[int | None]) -> Any:
        """[(group under the layer's, weights)] as Keras 3 files hold them: a recurrent layer's are its cell's."""
        return [("cell", len(self.weight_specs(input_shape)))]

    def __call__(self, x: KerasTensor | TensorLike, training: bool | Tensor = False, mask: Tensor | None = None,
                 initial_state: Any = None) -> Any:
        if isinstance(x, KerasTensor):
            if self.return_state or initial_state is not None or mask is not None:
                raise NotImplementedError(
                    f"{type(self).__name__} layer '{self.name}': models here have one input and one output, so "
                    f"return_state, initial_state and mask work when the layer is called on tensors, not in a "
                    f"model")
            return super().__call__(x, training)
        return self.apply(x, training, mask, initial_state)

    # -- in a graph --------------------------------------------------------------------------------
    def apply(self, x: Tensor, training: bool | Tensor = False, mask: Tensor | None = None,
              initial_state: Any = None) -> Any:
        x = convert_to_tensor(x)
        self.build_weights(tuple(x.shape))
        self.logits = None
        return self.run(x, self.weights, training, mask if mask is not None else get_mask(x), initial_state)

    def run(self, x: Tensor, weights: Sequence[Tensor], training: bool | Tensor, mask: Tensor | None,
            initial_state: Any) -> Any:
        """The layer over x with `weights` (Bidirectional runs its two directions through here)."""
        steps = _steps_of(self, x)
        kernel, recurrent = weights[0], weights[1]
        bias = weights[2] if self.use_bias else None
        batch = x.shape[0] if x.shape[0] is not None else shape(x)[0]
        states = self._initial_states(initial_state, batch, x.dtype)
        if training and self.dropout:  # one mask per sequence, the same at every step, as Keras
            x = x * expand_dims(nn_ops.dropout(M.ones_like(x[:, 0]), rate=self.dropout, seed=self.seed), 1)
        rec_mask = None
        if training and self.recurrent_dropout:
            rec_mask = nn_ops.dropout(M.ones_like(states[0]), rate=self.recurrent_dropout, seed=self.seed)
        features = x.shape[2]  # every step's input projection at once, time-major: a block of rows per step
        projected = M.matmul(reshape(transpose(x, (1, 0, 2)), [-1, features]), kernel)
        input_bias = self._input_bias(bias)
        if input_bias is not None:
            projected = projected + input_bias
        projected = reshape(projected, [steps if steps is not None else shape(x)[1], -1, self.GATES * self.units])
        parts = self._recurrent_parts(recurrent, bias)  # sliced once, not at every step
        if steps is None:
            return self._looped(projected, parts, states, rec_mask, mask)
        fused = self._fused(projected, recurrent, states) if mask is None and rec_mask is None else None
        if fused is not None:
            outputs, states = fused
            result = stack(outputs, axis=1) if self.return_sequences else outputs[-1]
            return [result] + list(states) if self.return_state else result
        projected = unpack(projected, 0)
        masks = unpack(mask, 1) if mask is not None else None
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs, out = [], M.zeros_like(states[0])
        for t in order:
            out, states = self._masked_step(projected[t], masks[t] if masks else None, out, states, parts, rec_mask)
            outputs.append(out)
        return self._result(stack(outputs, axis=1) if self.return_sequences else out, states, mask)

    def _masked_step(self, xz, keep, out, states, parts, rec_mask):
        """(output, states) after one step; a masked example (keep False) keeps its states and last output."""
        h_in = states[0] if rec_mask is None else states[0] * rec_mask
        new_out, new_states = self._step(xz, h_in, states, parts)
        if keep is None:
            return new_out, new_states
        return _keep(keep, new_out, out), [_keep(keep, n, s) for n, s in zip(new_states, states)]

    def _looped(self, projected, parts, states, rec_mask, mask):
        """The recurrence over a number of steps known only at run time: a while_loop reading each step's
        projected inputs (and mask) from TensorArrays and writing its outputs, in processing order, to
        another."""
        steps = shape(projected)[0]
        step_inputs = TensorArray(projected.dtype, size=steps, element_shape=projected.shape[1:],
                                  tensor_array_name="inputs").unstack(projected)
        step_masks = None if mask is None else TensorArray(_dt.bool_, size=steps, tensor_array_name="masks") \
            .unstack(transpose(mask, (1, 0)))
        outputs = TensorArray(projected.dtype, size=steps, tensor_array_name="outputs")

        def body(t, out, outputs, *states):
            index = steps - 1 - t if self.go_backwards else t
            keep = step_masks.read(index) if step_masks is not None else None
            out, states = self._masked_step(step_inputs.read(index), keep, out, list(states), parts, rec_mask)
            return [t + 1, out, outputs.write(t, out)] + states

        _, out, outputs, *states = while_loop(lambda t, *_: t < steps, body,
                                              [0, M.zeros_like(states[0]), outputs] + list(states))
        result = transpose(outputs.stack(), (1, 0, 2)) if self.return_sequences else out
        return self._result(result, states, mask)

    def _result(self, result, states, mask):
        if self.return_sequences and mask is not None:
            set_mask(result, mask if not self.go_backwards else None)
        return [result] + list(states) if self.return_state else result

    def _initial_states(self, initial_state, batch, dtype):
        what = f"{type(self).__name__} layer '{self.name}'"
        if initial_state is None:
            return [zeros([batch, self.units], dtype=dtype) for _ in range(self.STATES)]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != self.STATES:
            raise ValueError(f"{what}: initial_state must be a list of {self.STATES} tensors "
                             f"({', '.join(self._state_names())}), got {len(given)}")
        out = []
        for name, s in zip(self._state_names(), given):
            s = convert_to_tensor(s)
            if len(s.shape) != 2 or s.shape[1] not in (None, self.units):
                raise ValueError(f"{what}: initial state {name} must be [batch, {self.units}], got '{s.name}' "
                                 f"{tuple(s.shape)}")
            out.append(s)
        return out

    def _state_names(self):
        return ["h"]

    def _input_bias(self, bias):
        return bias

    def _recurrent_parts(self, recurrent, bias):
        return recurrent

    def _fused(self, projected, recurrent, states):
        """(outputs in processing order, final states) from one fused op, or None to unroll step by step."""
        return None

    def _step(self, xz, h_in, states, parts):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        cfg = {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
               "use_bias": self.use_bias, "kernel_initializer": serialize_initializer(self.kernel_initializer),
               "recurrent_initializer": serialize_initializer(self.recurrent_initializer),
               "bias_initializer": serialize_initializer(self.bias_initializer)}
        for arg in ("dropout", "recurrent_dropout", "return_sequences", "return_state", "go_backwards", "stateful",
                    "unroll"):
            cfg[arg] = getattr(self, arg)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _Recurrent:
        config = dict(config)
        for k in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
            if k in config:
                config[k] = initializer(config[k])
        return cls(**config)


class SimpleRNN(_Recurrent):
    """h' = activation(x @ kernel + bias + h @ recurrent_kernel)."""

    CELL = "simple_rnn_cell"

    def _step(self, xz, h_in, states, recurrent):
        h = self.activation(xz + M.matmul(h_in, recurrent))
        return h, [h]


class LSTM(_Recurrent):
    """Keras's LSTM: z = x @ kernel + h @ recurrent_kernel + bias, gates i, f, c, o = split(z, 4);
    c' = f * c + i * activation(z_c), h' = o * activation(c'), with i, f, o = recurrent_activation(...).
    `unit_forget_bias` starts the forget gate's bias at 1."""

    CELL = "lstm_cell"
    GATES, STATES = 4, 2
    CONFIG_FIELDS = {"recurrent_activation": "activation", "unit_forget_bias": "bool",
                     "implementation": "implementation", "use_cudnn": "use_cudnn"}

    def __init__(self, units: int, activation: str | ActivationFn = "tanh",
                 recurrent_activation: str | ActivationFn = "sigmoid", unit_forget_bias: bool = True,
                 implementation: int = 2, use_cudnn: str | bool = "auto", **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = int(implementation)

    def _bias_spec(self):
        n = self.units
        if not self.unit_forget_bias:
            return super()._bias_spec()
        base = initializers.get(self.bias_initializer)

        def forget_ones(shape, dtype=_dt.float32):  # Keras: bias_initializer, ones for f, bias_initializer
            return concat([base((n,), dtype), initializers.ones()((n,), dtype), base((2 * n,), dtype)], 0)
        return ("bias", (4 * n,), forget_ones, True)

    def _state_names(self):
        return ["h", "c"]

    def _fused(self, projected, recurrent, states):
        """Sigmoid gates and tanh: one LSTMSequence op (nnplug/ops/lstm_sequence.py), Keras's gate order."""
        if self.recurrent_activation not in (activations.sigmoid, M.sigmoid) or \
                self.activation not in (activations.tanh, M.tanh):
            return None
        hs, c_last = lstm_sequence(projected[::-1] if self.go_backwards else projected, recurrent, states[1],
                                   states[0], (0, 2, 1, 3))
        return hs, [hs[-1], c_last]

    def _step(self, xz, h_in, states, recurrent):
        z_i, z_f, z_c, z_o = split_v(xz + M.matmul(h_in, recurrent), 4, axis=1)
        c = self.recurrent_activation(z_f) * states[1] + self.recurrent_activation(z_i) * self.activation(z_c)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias, "implementation": self.implementation}


class GRU(_Recurrent):
    """Keras's GRU, gates z, r, h. With reset_after (tf.keras 2's default) the reset gate multiplies the
    recurrent projection: h~ = activation(x_h + r * (h @ R_h + b_rec_h)), and the bias is [2, 3 * units];
    without, h~ = activation(x_h + (r * h) @ R_h). h' = z * h + (1 - z) * h~."""

    CELL = "gru_cell"
    GATES = 3
    CONFIG_FIELDS = {"recurrent_activation": "activation", "reset_after": "bool", "implementation": "implementation",
                     "use_cudnn": "use_cudnn"}

    def __init__(self, units: int, activation: str | ActivationFn = "tanh",
                 recurrent_activation: str | ActivationFn = "sigmoid", reset_after: bool = True,
                 implementation: int = 2, use_cudnn: str | bool = "auto", **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.implementation = int(implementation)

    def _bias_spec(self):
        n = 3 * self.units
        return ("bias", (2, n) if self.reset_after else (n,), self.bias_initializer, True)

    def _input_bias(self, bias):
        return None if bias is None else (unpack(bias, 0)[0] if self.reset_after else bias)

    def _recurrent_parts(self, recurrent, bias):
        """reset_after: (R, the recurrent bias or None); else (R_z|R_r, R_h)."""
        if self.reset_after:
            return recurrent, (None if bias is None else unpack(bias, 0)[1])
        return tuple(split_v(recurrent, [2 * self.units, self.units], axis=1))

    def _step(self, xz, h_in, states, parts):
        h = states[0]
        x_z, x_r, x_h = split_v(xz, 3, axis=1)
        if self.reset_after:
            recurrent, recurrent_bias = parts
            inner = M.matmul(h_in, recurrent)
            if recurrent_bias is not None:
                inner = inner + recurrent_bias
            r_z, r_r, r_h = split_v(inner, 3, axis=1)
            z, r = self.recurrent_activation(x_z + r_z), self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            gates, candidate_kernel = parts
            r_z, r_r = split_v(M.matmul(h_in, gates), 2, axis=1)
            z, r = self.recurrent_activation(x_z + r_z), self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + M.matmul(r * h_in, candidate_kernel))
        new_h = z * h + (1.0 - z) * candidate
        return new_h, [new_h]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after, "implementation": self.implementation}


# -- wrappers ----------------------------------------------------------------------------------------------
def _inner_layer(spec, what):
    """A wrapped layer from its config as a saved model holds it (read as the model's layers are)."""
    from .. import layers as L
    from ..saving.dialects import _read_layer  # lazily: saving imports the layers
    if isinstance(spec, Layer):
        return spec
    spec = _read_layer(spec)
    if not isinstance(spec, dict) or spec.get("class_name") not in L.LAYER_CLASSES:
        raise ValueError(f"{what}: 'layer' must be a known layer {{class_name, config}}, got {spec!r:.80}")
    return L.deserialize(spec)


def _copy(layer, name, **changes):
    """A new layer of the same class and config (its own weights), renamed."""
    config = {k: v for k, v in layer.get_config().items() if k not in ("name", "batch_input_shape")}
    return type(layer).from_config({**config, **changes, "name": name})


def _layer_spec(layer):
    """A wrapped layer's config as Keras writes one inside another (Keras 3 needs the module)."""
    return {"module": "keras.layers", "class_name": type(layer).__name__, "config": layer.get_config(),
            "registered_name": None}


_MERGES = {"concat": lambda a, b: concat([a, b], -1), "sum": M.add, "mul": M.multiply,
           "ave": lambda a, b: (a + b) * 0.5}


class Bidirectional(Layer):
    """A recurrent layer run forwards and backwards over the sequence, outputs merged ('concat', 'sum', 'mul',
    'ave'); the backward outputs are put back in time order. Weights: the forward layer's, then the
    backward one's (`forward_<name>/...`, `backward_<name>/...`)."""

    CONFIG_FIELDS = {"layer": "layer", "merge_mode": "merge_mode", "backward_layer": "layer"}
    CONFIG_REQUIRED = ("layer",)

    def __init__(self, layer: _Recurrent, merge_mode: str = "concat", weights: Sequence[np.ndarray] | None = None,
                 backward_layer: _Recurrent | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        what = f"Bidirectional layer '{self.name}'"
        layer = _inner_layer(layer, what)
        if not isinstance(layer, _Recurrent):
            raise TypeError(f"{what} wraps SimpleRNN, LSTM or GRU, got {type(layer).__name__}")
        if merge_mode not in _MERGES:
            raise ValueError(f"{what}: merge_mode must be one of {', '.join(sorted(_MERGES))}, got {merge_mode!r}")
        if weights is not None:
            raise NotImplementedError(f"{what}: weights= is not supported; use set_weights after building")
        if layer.return_state:
            raise NotImplementedError(f"{what}: the wrapped layer's return_state is not supported")
        base = layer.name.removeprefix("forward_")
        self.forward_layer = _copy(layer, f"forward_{base}")
        if backward_layer is None:  # the layer again, reading the sequence the other way
            self.backward_layer = _copy(layer, f"backward_{base}", go_backwards=not layer.go_backwards)
        else:  # given (Keras 3 always writes it): used as it is
            self.backward_layer = _inner_layer(backward_layer, what)
            if not isinstance(self.backward_layer, _Recurrent) or \
                    self.backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(f"{what}: backward_layer must be a recurrent layer reading the other way "
                                 f"(go_backwards={not layer.go_backwards})")
        self.layer, self.merge_mode = layer, merge_mode
        self.return_sequences = layer.return_sequences

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        return [(f"{inner.name}/{n}", s, i, t) for inner in (self.forward_layer, self.backward_layer)
                for n, s, i, t in inner.weight_specs(input_shape)]

    def penalties(self, weight_name: str) -> tuple[Any, Any]:
        inner = self.forward_layer if weight_name.startswith(f"{self.forward_layer.name}/") else self.backward_layer
        return inner.penalties(weight_name)

    def keras3_weight_groups(self, input_shape: Sequence[int | None]) -> Any:
        return [(f"{direction}/{group}", n) for direction, inner in (("forward_layer", self.forward_layer),
                                                                     ("backward_layer", self.backward_layer))
                for group, n in inner.keras3_weight_groups(input_shape)]

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        out = self.forward_layer.compute_output_shape(input_shape)
        return out[:-1] + (2 * out[-1] if self.merge_mode == "concat" else out[-1],)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        n = len(self.forward_layer.weight_specs(tuple(x.shape)))
        mask = get_mask(x)
        fw = self.forward_layer.run(x, self.weights[:n], training, mask, None)
        bw = self.backward_layer.run(x, self.weights[n:], training, mask, None)
        if self.return_sequences:  # back in time order
            bw = reverse(bw, [1])
        merged = _MERGES[self.merge_mode](fw, bw)
        return set_mask(merged, mask) if self.return_sequences else merged

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _layer_spec(self.layer), "merge_mode": self.merge_mode,
                "backward_layer": _layer_spec(self.backward_layer)}


class TimeDistributed(Layer):
    """The wrapped layer applied to every time step: [batch, time, ...] -> [batch, time, ...out]."""

    CONFIG_FIELDS = {"layer": "layer"}
    CONFIG_REQUIRED = ("layer",)

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = _inner_layer(layer, f"TimeDistributed layer '{self.name}'")

    def _inner_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed layer '{self.name}' needs inputs [batch, time, ...], got "
                             f"{tuple(input_shape)}")
        return (None,) + tuple(input_shape[2:])

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        return self.layer.weight_specs(self._inner_shape(input_shape))

    def keras3_weight_groups(self, input_shape: Sequence[int | None]) -> Any:
        return [("layer", len(self.weight_specs(input_shape)))]

    def penalties(self, weight_name: str) -> tuple[Any, Any]:
        return self.layer.penalties(weight_name)

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        inner = self.layer.compute_output_shape(self._inner_shape(input_shape))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        steps, rest = x.shape[1], list(x.shape[2:])
        if None in rest:
            raise ShapeError(f"TimeDistributed layer '{self.name}' needs the features known, got {tuple(x.shape)}")
        if steps is None:
            steps = shape(x)[1]  # known when the graph runs
        self.layer.weights = self.weights  # the wrapped layer computes with the wrapper's variables
        self.layer.logits = None
        y = self.layer.call(reshape(x, [-1] + rest), training)
        if self.layer.logits is not None:  # the pre-activation, for the trainer's stable losses
            name, z = self.layer.logits
            self.logits = (name, reshape(z, [-1, steps] + list(z.shape[1:])))
        return set_mask(reshape(y, [-1, steps] + list(y.shape[1:])), get_mask(x))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": _layer_spec(self.layer)}


class Masking(Layer):
    """Marks the time steps whose features all equal mask_value as masked (for the recurrent layers after it)
    and zeroes them."""

    CONFIG_FIELDS = {"mask_value": "number"}

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        mask = M.reduce_any(M.not_equal(x, self.mask_value), axis=-1)
        return set_mask(x * M.cast(expand_dims(mask, -1), x.dtype), mask)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
