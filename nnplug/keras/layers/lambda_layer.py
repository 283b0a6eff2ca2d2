"""Keras's Lambda layer: a Python function of graph tensors, called when the model's graph is built.

Its output shape is `output_shape` when given (without the batch axis, or a function of the input shape),
else found by calling the function once on placeholders in a scratch graph. A Lambda is saved only when its
function is an activation named by its name (`Lambda('relu')`): nnplug never stores or evaluates code, so
saving a model with any other Lambda is an error naming the layer."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ... import dtypes as _dt
from ...graph import Graph, Tensor
from ...ops.array_ops import placeholder
from .. import activations
from .base import Layer

_SCALARS = (bool, int, float, str, type(None))


class Lambda(Layer):
    CONFIG_FIELDS = {"function": "activation", "output_shape": "lambda_output_shape", "arguments": "scalar_arguments"}
    CONFIG_REQUIRED = ("function",)

    def __init__(self, function: Callable[..., Tensor] | str, output_shape: Any = None,
                 arguments: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function_name = function if isinstance(function, str) else None
        try:
            self.function = activations.get(function) if isinstance(function, str) else function
        except ValueError as e:
            raise ValueError(f"Lambda layer '{self.name}': {e}") from None
        if not callable(self.function):
            raise TypeError(f"Lambda layer '{self.name}' needs a function, got {function!r:.60}")
        if output_shape is not None and not callable(output_shape) and not isinstance(output_shape, (list, tuple)):
            raise TypeError(f"Lambda layer '{self.name}': output_shape must be a shape tuple (without the batch "
                            f"axis) or a function of the input shape, got {output_shape!r:.60}")
        self.output_shape_arg = output_shape
        self.arguments = dict(arguments or {})

    def _run(self, x: Tensor | Sequence[Tensor]) -> Tensor:
        out = self.function(x, **self.arguments)
        if not isinstance(out, Tensor):
            raise TypeError(f"Lambda layer '{self.name}': its function must return one tensor, got "
                            f"{type(out).__name__}")
        return out

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        given = self.output_shape_arg
        if callable(given):
            return tuple(given(input_shape))
        if given is not None:
            return (None,) + tuple(given)
        many = isinstance(input_shape, list)
        with Graph().as_default():  # a scratch graph: the model's own is built later
            inputs = [placeholder(_dt.float32, s) for s in (input_shape if many else [input_shape])]
            try:
                out = self._run(inputs if many else inputs[0])
            except (ValueError, TypeError, IndexError, KeyError) as e:
                raise type(e)(f"Lambda layer '{self.name}' failed on inputs of shape {input_shape}: {e}") from None
        return (None,) + tuple(out.shape)[1:]

    def call(self, x: Tensor | Sequence[Tensor], training: bool | Tensor = False) -> Tensor:
        return self._run(list(x) if isinstance(x, (list, tuple)) else x)

    def get_config(self) -> dict[str, Any]:
        if self.function_name is None:
            raise ValueError(f"Lambda layer '{self.name}' cannot be saved: its function "
                             f"'{getattr(self.function, '__name__', self.function)}' is Python code, which nnplug "
                             f"never stores or runs from a file. Save the weights (model.save_weights) and rebuild "
                             f"the model in code, or use Lambda('<activation name>')")
        shape = self.output_shape_arg
        if callable(shape) or not all(isinstance(v, _SCALARS) for v in self.arguments.values()):
            raise ValueError(f"Lambda layer '{self.name}' cannot be saved: its output_shape function or "
                             f"non-scalar arguments are Python objects")
        return {**super().get_config(), "function": self.function_name,
                "output_shape": None if shape is None else list(shape), "arguments": self.arguments}
