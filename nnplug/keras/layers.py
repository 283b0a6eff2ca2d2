"""Keras layers. A layer describes its weights and output shape without a graph, so a model can be wired up
(and summarised) symbolically; the model then builds every layer into its own graph once, where each
layer creates its Variables on first use and reuses them for the training and the inference pass."""
import collections
import math

import numpy as np

from .. import dtypes as _dt
from ..ops import math_ops as M
from ..ops import nn_ops
from ..ops.array_ops import reshape
from ..variables import Variable
from . import activations, initializers

_counts = collections.Counter()


def _auto_name(prefix):
    _counts[prefix] += 1
    return f"{prefix}_{_counts[prefix]}"


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class KerasTensor:
    """A symbolic layer output: its shape (batch dimension None) and the layer call that made it."""

    def __init__(self, shape, dtype="float32", layer=None, inputs=()):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        self.inputs = list(inputs)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape} from {self.layer.name if self.layer else 'nowhere'}>"


class Layer:
    def __init__(self, name=None, input_shape=None, input_dim=None, batch_input_shape=None, dtype="float32",
                 trainable=True, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}")
        self.name = name or _auto_name(_snake(type(self).__name__))
        if input_dim is not None:
            input_shape = (int(input_dim),)
        if input_shape is not None:
            batch_input_shape = (None,) + tuple(input_shape)
        self.batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None
        self.dtype = dtype
        self.trainable = trainable
        self.input_spec = None  # the input shape the weights were made for
        self.weights = []  # Variables, once built into a graph
        self._model = None  # the model whose session holds the weights
        self.logits = None  # (activation name, pre-activation tensor) of the last graph call

    # -- shapes, without a graph ---------------------------------------------------------
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def weight_specs(self, input_shape):
        """[(name, shape, initializer, trainable)] for inputs of `input_shape`."""
        return []

    def count_params(self):
        if self.input_spec is None:
            raise ValueError(f"layer '{self.name}' is not built yet: its input shape is unknown")
        return sum(int(np.prod(s)) for _, s, _, _ in self.weight_specs(self.input_spec))

    def __call__(self, x, training=False):
        if isinstance(x, KerasTensor):
            shape = x.shape
            if self.input_spec is None:
                self.weight_specs(shape)  # raises early on an input it cannot take
                self.input_spec = shape
            elif [s for _, s, _, _ in self.weight_specs(shape)] != \
                    [s for _, s, _, _ in self.weight_specs(self.input_spec)]:
                raise ValueError(f"layer '{self.name}' was built for inputs of shape {self.input_spec}, "
                                 f"now called on {shape}")
            return KerasTensor(self.compute_output_shape(shape), x.dtype, self, [x])
        return self.apply(x, training)

    # -- in a graph ----------------------------------------------------------------------
    def build_weights(self, input_shape):
        """Create the Variables (in the default graph) once; later calls reuse them."""
        if self.weights:
            return self.weights
        for wname, shape, init, trainable in self.weight_specs(input_shape):
            init_fn = initializers.get(init)
            self.weights.append(Variable(lambda f=init_fn, s=shape: f(s, _dt.float32), name=f"{self.name}/{wname}",
                                         trainable=trainable and self.trainable))
        return self.weights

    def apply(self, x, training=False):
        self.build_weights(tuple(x.shape))
        self.logits = None
        return self.call(x, training)

    def call(self, x, training=False):
        return x

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable]

    def get_weights(self):
        if self._model is None:
            return []
        return [self._model._session.variable_value(w).copy() for w in self.weights]

    def set_weights(self, weights):
        if self._model is None:
            raise ValueError(f"layer '{self.name}' has no weights yet: build its model first")
        self._model._load_values(list(zip(self.weights, weights)), what=f"layer '{self.name}'")

    def get_config(self):
        cfg = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self.batch_input_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class InputLayer(Layer):
    def __init__(self, input_shape=None, batch_size=None, dtype="float32", name=None, batch_input_shape=None,
                 **kwargs):
        if input_shape is None and batch_input_shape is None:
            raise ValueError("InputLayer needs input_shape (the shape of one sample, e.g. (784,))")
        if batch_input_shape is None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        super().__init__(name=name or _auto_name("input"), batch_input_shape=batch_input_shape, dtype=dtype,
                         **kwargs)
        self.output = KerasTensor((None,) + tuple(self.batch_input_shape[1:]), dtype, self, [])
        self.input_spec = self.output.shape

    def get_config(self):
        return {"name": self.name, "batch_input_shape": list(self.batch_input_shape), "dtype": self.dtype}


def Input(shape=None, batch_size=None, name=None, dtype="float32", batch_shape=None):  # noqa: N802 - Keras name
    """A symbolic input of per-sample `shape`, to start a functional model."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs shape= (the shape of one sample, e.g. shape=(784,))")
    if isinstance(shape, int):
        shape = (shape,)
    return InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                      batch_input_shape=batch_shape).output


class Dense(Layer):
    """activation(x @ kernel + bias)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        if self.units <= 0:
            raise ValueError(f"Dense layer '{self.name}' needs a positive number of units, got {units}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        initializers.get(kernel_initializer), initializers.get(bias_initializer)  # unknown names fail here
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def weight_specs(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense layer '{self.name}' needs inputs with a known last dimension, "
                             f"got shape {input_shape}")
        specs = [("kernel", (input_shape[-1], self.units), self.kernel_initializer, True)]
        if self.use_bias:
            specs.append(("bias", (self.units,), self.bias_initializer, True))
        return specs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x, training=False):
        shape = x.shape
        flat = reshape(x, [-1, shape[-1]]) if len(shape) > 2 else x
        z = M.matmul(flat, self.weights[0])
        if self.use_bias:
            z = nn_ops.bias_add(z, self.weights[1])
        if len(shape) > 2:
            z = reshape(z, [-1] + list(shape[1:-1]) + [self.units])
        self.logits = (_name_of(self.activation), z)
        return self.activation(z)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for k in ("kernel_initializer", "bias_initializer"):
            config[k] = initializers.deserialize(config[k])
        return cls(**config)


def _name_of(fn):
    try:
        return activations.serialize(fn)
    except ValueError:
        return None


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        self.logits = (_name_of(self.activation), x)
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout in the training pass only; the inference pass is the identity."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout layer '{self.name}': rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("Dropout(noise_shape=...) is not supported")
        self.rate, self.seed = float(rate), seed

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        return nn_ops.dropout(x, rate=self.rate, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Flatten layer '{self.name}' needs every dimension but the batch one known, "
                             f"got {input_shape}")
        return (input_shape[0], math.prod(rest))

    def weight_specs(self, input_shape):
        self.compute_output_shape(input_shape)
        return []

    def call(self, x, training=False):
        return reshape(x, [-1, self.compute_output_shape(tuple(x.shape))[1]])


_CLASSES = {c.__name__: c for c in (InputLayer, Dense, Activation, Dropout, Flatten)}


def deserialize(spec):
    cls = _CLASSES.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown layer class '{spec['class_name']}' in a saved model "
                         f"(known: {', '.join(sorted(_CLASSES))})")
    return cls.from_config(spec["config"])
