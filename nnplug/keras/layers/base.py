"""The layer base: a layer describes its weights and output shape without a graph, so a model can be wired
up (and summarised) symbolically; the model then builds every layer into its own graph once, where each
layer creates its Variables on first use and reuses them for the training and the inference pass."""
from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias, overload

import numpy as np

from ... import dtypes as _dt
from ...graph import name_scope
from ...ops import math_ops as M
from ...ops.array_ops import shape as shape_of
from ...variables import Variable
from .. import constraints, initializers, regularizers
from ..._types import InitializerLike, TensorLike
from ...graph import Tensor

_counts = collections.Counter()
# (weight name, shape, initializer, trainable): what a layer makes for an input shape (Layer.weight_specs)
WeightSpec: TypeAlias = "tuple[str, tuple[int, ...], InitializerLike, bool]"
NAME_PATTERN = r"[A-Za-z0-9.][A-Za-z0-9_.\-]{0,255}"  # TF's op-name characters, without the scope '/'


def check_name(name: str, what: str = "layer") -> str:
    """A layer's name becomes part of its ops' names: letters, digits, '.', '_' and '-' only."""
    if not isinstance(name, str) or re.fullmatch(NAME_PATTERN, name) is None:
        raise ValueError(f"{what} name {name!r:.80} is not valid: use letters, digits, '.', '_' and '-' "
                         f"(starting with a letter, digit or '.'), at most 256 characters")
    return name


def _auto_name(prefix):
    _counts[prefix] += 1
    return f"{prefix}_{_counts[prefix]}"


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


class KerasTensor:
    """A symbolic layer output: its shape (batch dimension None) and the layer call that made it."""

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32", layer: Layer | None = None,
                 inputs: Iterable[KerasTensor] = (), many: bool = False) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        self.layer = layer
        self.inputs = list(inputs)
        self.many = many  # the layer was called on a list of tensors (a merge layer), not on one

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape} from {self.layer.name if self.layer else 'nowhere'}>"


class Layer:
    # the fields of get_config() and their kinds, checked before a saved layer is built (saving/schema.py)
    CONFIG_FIELDS = {"name": "name", "trainable": "bool", "batch_input_shape": "shape", "dtype": "dtype",
                     "activity_regularizer": "regularizer"}
    CONFIG_REQUIRED: tuple[str, ...] = ()
    # argument prefix -> the weight it penalises: {"kernel": "kernel"} gives the layer the arguments (and config
    # fields) kernel_regularizer and kernel_constraint, applied to its weight named "kernel"
    PENALIZED: dict[str, str] = {}

    def __init__(self, name: str | None = None, input_shape: Sequence[int | None] | None = None,
                 input_dim: int | None = None, batch_input_shape: Sequence[int | None] | None = None,
                 dtype: str = "float32", trainable: bool = True, activity_regularizer: Any = None,
                 **kwargs: Any) -> None:
        penalties = {f"{p}_{kind}": kwargs.pop(f"{p}_{kind}", None) for p in self.PENALIZED
                     for kind in ("regularizer", "constraint")}
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments: {', '.join(sorted(kwargs))}")
        self.name = check_name(name) if name is not None else _auto_name(_snake(type(self).__name__))
        self.activity_regularizer: Any = self._penalty("activity_regularizer", activity_regularizer)
        for arg, value in penalties.items():
            setattr(self, arg, self._penalty(arg, value))
        self._weight_losses: list[Tensor] = []  # the weight regularizers' terms, made with the weights
        self._weight_constraints: list[tuple[Variable, Any]] = []
        self._pending_losses: list[Tensor] = []  # add_loss calls of the pass being built
        self._pass_losses: dict[bool, list[Tensor]] = {}  # the add_loss and activity terms of each pass
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
    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def weight_specs(self, input_shape: Sequence[int | None]) -> list[WeightSpec]:
        """[(name, shape, initializer, trainable)] for inputs of `input_shape`."""
        return []

    def count_params(self) -> int:
        if self.input_spec is None:
            raise ValueError(f"layer '{self.name}' is not built yet: its input shape is unknown")
        return sum(int(np.prod(s)) for _, s, _, _ in self.weight_specs(self.input_spec))

    @overload
    def __call__(self, x: KerasTensor | Sequence[KerasTensor], training: bool | Tensor = False) -> KerasTensor: ...
    @overload
    def __call__(self, x: TensorLike, training: bool | Tensor = False) -> Tensor: ...

    def __call__(self, x: KerasTensor | Sequence[KerasTensor] | TensorLike,
                 training: bool | Tensor = False) -> KerasTensor | Tensor:
        """On a KerasTensor or a list of them (functional API): the symbolic output; on a tensor: this layer
        applied to it. Calling a built layer again (on the same shapes) shares its weights."""
        many = isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(t, KerasTensor) for t in x)
        if isinstance(x, KerasTensor) or many:
            inputs = list(x) if many else [x]
            shape = [t.shape for t in inputs] if many else x.shape
            if self.input_spec is None:
                self.weight_specs(shape)  # raises early on an input it cannot take
                out_shape = self.compute_output_shape(shape)
                self.input_spec = shape
            else:
                if [s for _, s, _, _ in self.weight_specs(shape)] != \
                        [s for _, s, _, _ in self.weight_specs(self.input_spec)]:
                    raise ValueError(f"layer '{self.name}' was built for inputs of shape {self.input_spec}, "
                                     f"now called on {shape}")
                out_shape = self.compute_output_shape(shape)
            return KerasTensor(out_shape, self.output_dtype(inputs), self, inputs, many)
        return self.apply(x, training)

    def output_dtype(self, inputs: Sequence[KerasTensor]) -> str:
        """The dtype of this layer's symbolic output: float32 (the layers compute in float32)."""
        return "float32"

    # -- in a graph ----------------------------------------------------------------------
    def build_weights(self, input_shape: Any) -> list[Variable]:
        """Create the Variables (in the default graph) once; later calls reuse them."""
        if self.weights:
            return self.weights
        for wname, shape, init, trainable in self.weight_specs(input_shape):
            init_fn = initializers.get(init)
            var = Variable(lambda f=init_fn, s=shape: f(s, _dt.float32), name=f"{self.name}/{wname}",
                           trainable=trainable and self.trainable)
            self.weights.append(var)
            regularizer, constraint = self.penalties(wname)
            if regularizer is not None:
                with name_scope(f"{self.name}/{wname}/Regularizer"):
                    self._weight_losses.append(regularizer(var.value()))
            if constraint is not None:
                self._weight_constraints.append((var, constraint))
        return self.weights

    # -- penalties: regularizers, constraints, add_loss -----------------------------------------
    def _penalty(self, arg: str, value: Any) -> Any:
        """The regularizer or constraint an argument names; a bad one is an error naming the layer and it."""
        try:
            return (constraints if arg.endswith("_constraint") else regularizers).get(value)
        except (ValueError, TypeError) as e:
            raise type(e)(f"{type(self).__name__} layer '{self.name}': {arg}: {e}") from None

    def penalties(self, weight_name: str) -> tuple[Any, Any]:
        """(regularizer, constraint) of the weight `weight_name` (its last path part names it)."""
        key = weight_name.rsplit("/", 1)[-1]
        for prefix, weight in self.PENALIZED.items():
            if weight == key:
                return getattr(self, f"{prefix}_regularizer"), getattr(self, f"{prefix}_constraint")
        return None, None

    def add_loss(self, loss: Tensor) -> None:
        """A scalar loss term made inside `call`; the model adds it to the loss of the pass it belongs to."""
        self._pending_losses.append(loss)

    def collect_pass_losses(self, output: Tensor, training: bool | Tensor) -> list[Tensor]:
        """The add_loss terms of the call just made and the activity penalty of its `output`: the
        regularizer's value over the batch size, as tf.keras (batch-size independent)."""
        losses, self._pending_losses = self._pending_losses, []
        if self.activity_regularizer is not None:
            with name_scope(f"{self.name}/ActivityRegularizer"):
                batch = M.cast(shape_of(output)[0], _dt.float32)
                losses.append(self.activity_regularizer(output) / batch)
        self._pass_losses[bool(training)] = losses
        return losses

    @property
    def losses(self) -> list[Tensor]:
        """The weight regularizers' terms and the inference pass's activity and add_loss terms."""
        return self._weight_losses + self._pass_losses.get(False, [])

    @property
    def weight_constraints(self) -> list[tuple[Variable, Any]]:
        return list(self._weight_constraints)

    def apply(self, x: Any, training: bool | Tensor = False) -> Tensor:
        """This layer on `x`: a tensor, or a list of tensors for a layer of several inputs (merge layers)."""
        self.build_weights([tuple(t.shape) for t in x] if isinstance(x, (list, tuple)) else tuple(x.shape))
        self.logits = None
        return self.call(x, training)

    def call(self, x: Tensor, training: bool | Tensor = False) -> Tensor:
        return x

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if not w.trainable]

    def get_weights(self) -> list[np.ndarray]:
        if self._model is None:
            return []
        return [self._model._session.variable_value(w).copy() for w in self.weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        if self._model is None:
            raise ValueError(f"layer '{self.name}' has no weights yet: build its model first")
        self._model._load_values(list(zip(self.weights, weights)), what=f"layer '{self.name}'")

    def get_config(self) -> dict[str, Any]:
        cfg = {"name": self.name, "trainable": self.trainable}
        if self.batch_input_shape is not None:
            cfg["batch_input_shape"] = list(self.batch_input_shape)
        args = [f"{p}_{kind}" for p in self.PENALIZED for kind in ("regularizer", "constraint")]
        if self.PENALIZED or self.activity_regularizer is not None:
            args.append("activity_regularizer")
        for arg in args:
            try:
                cfg[arg] = (constraints if arg.endswith("_constraint") else regularizers).serialize(getattr(self, arg))
            except ValueError as e:
                raise ValueError(f"{type(self).__name__} layer '{self.name}': {arg}: {e}") from None
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)


INPUT_DTYPES = ("float32", "float64", "int32", "int64", "bool")  # what an Input may be fed as


class InputLayer(Layer):
    CONFIG_FIELDS = {"name": "name", "batch_input_shape": "shape", "dtype": "input_dtype"}
    CONFIG_REQUIRED = ("batch_input_shape",)

    def __init__(self, input_shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: str = "float32", name: str | None = None, batch_input_shape: Sequence[int | None] | None = None,
                 **kwargs: Any) -> None:
        if input_shape is None and batch_input_shape is None:
            raise ValueError("InputLayer needs input_shape (the shape of one sample, e.g. (784,))")
        if batch_input_shape is None:
            batch_input_shape = (batch_size,) + tuple(input_shape)
        dtype = str(getattr(dtype, "name", dtype))
        if dtype not in INPUT_DTYPES:
            raise ValueError(f"InputLayer '{name}': dtype {dtype!r:.40} is not supported (use one of "
                             f"{', '.join(INPUT_DTYPES)})")
        super().__init__(name=name if name is not None else _auto_name("input"), batch_input_shape=batch_input_shape, dtype=dtype,
                         **kwargs)
        self.output = KerasTensor((None,) + tuple(self.batch_input_shape[1:]), dtype, self, [])  # type: ignore[index]
        self.input_spec = self.output.shape

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "batch_input_shape": list(self.batch_input_shape), "dtype": self.dtype}


def Input(shape: int | Sequence[int | None] | None = None, batch_size: int | None = None,  # noqa: N802 - Keras name
          name: str | None = None, dtype: str = "float32",
          batch_shape: Sequence[int | None] | None = None) -> KerasTensor:
    """A symbolic input of per-sample `shape`, to start a functional model."""
    if shape is None and batch_shape is None:
        raise ValueError("Input needs shape= (the shape of one sample, e.g. shape=(784,))")
    if isinstance(shape, int):
        shape = (shape,)
    return InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                      batch_input_shape=batch_shape).output
