"""TF1's tf.layers classes (Dense, Conv2D, ..., BatchNormalization) and their Layer base.

A layer object claims its variable scope on its first call (`dense`, `dense_1`, ... as the functional
forms do) and calls the functional form (nnplug/layers.py) in that scope, creating the variables then and
reusing them on every later call, so `tf.layers.Dense(3)(x)` makes the same `dense/kernel` and
`dense/bias` as `tf.layers.dense(x, 3)`. A user subclass writes `build` (with `add_weight`) and `call`.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from .graph import GraphKeys, get_default_graph
from .variables import Variable, VariableScope, get_variable, variable_scope


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class _LayerScope(VariableScope):
    """The scope a layer claimed; prints as its name (the functional forms put names in messages)."""

    def __str__(self) -> str:
        return self.name


class Layer:
    """TF1's tf.layers.Layer: variables made on the first call under the layer's own scope, reused after."""

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        self._reuse = kwargs.pop("_reuse", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments {sorted(kwargs)}")
        self.trainable, self.dtype = trainable, dtype
        self._name_arg, self._base_name = name, name or _snake_case(type(self).__name__)
        self._scope = None
        self.built = False
        self._variables, self._updates = [], []

    @property
    def name(self) -> str:
        return self._scope.name.rsplit("/", 1)[-1] if self._scope is not None else self._base_name

    @property
    def scope_name(self) -> str | None:
        return None if self._scope is None else self._scope.name

    # -- for subclasses ---------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, **kwargs: Any) -> Any:
        return inputs

    def add_weight(self, name: str, shape: Any, dtype: Any = None, initializer: Any = None, regularizer: Any = None,
                   trainable: bool = True, constraint: Any = None, **kwargs: Any) -> Variable:
        """A variable `<layer scope>/<name>`; trainable only if the layer is."""
        return get_variable(name, shape, dtype=dtype or self.dtype, initializer=initializer, regularizer=regularizer,
                            trainable=trainable and self.trainable)

    add_variable = add_weight

    # -- calling ----------------------------------------------------------------------------------
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        graph = get_default_graph()
        if self._scope is None:
            with variable_scope(self._name_arg, default_name=self._base_name) as scope:
                self._scope = _LayerScope(scope.name, initializer=scope.initializer)
        known = set(graph.get_collection(GraphKeys.GLOBAL_VARIABLES))
        n_updates = len(graph.get_collection(GraphKeys.UPDATE_OPS))
        outputs = self._invoke(inputs, *args, **kwargs)
        self.built = True
        new = [v for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES) if v not in known]
        self._variables += new
        for v in new:
            self._weight_found(v.op.name.rsplit("/", 1)[-1], v)
        self._updates += graph.get_collection(GraphKeys.UPDATE_OPS)[n_updates:]
        return outputs

    apply = __call__

    def _reusing(self):
        return True if self.built else self._reuse

    def _invoke(self, inputs, *args, **kwargs):
        with variable_scope(self._scope, reuse=self._reusing()):
            if not self.built:
                self.build(getattr(inputs, "shape", None))
            return self.call(inputs, *args, **kwargs)

    def _weight_found(self, short_name, var):
        pass

    # -- what it holds ------------------------------------------------------------------------------
    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    @property
    def trainable_variables(self) -> list[Variable]:
        trainable = set(get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES))
        return [v for v in self._variables if v in trainable]

    @property
    def non_trainable_variables(self) -> list[Variable]:
        trainable = set(self.trainable_variables)
        return [v for v in self._variables if v not in trainable]

    @property
    def updates(self) -> list[Any]:
        return list(self._updates)

    weights, trainable_weights, non_trainable_weights = variables, trainable_variables, non_trainable_variables


class _FunctionalLayer(Layer):
    """A layer that calls `_function` (a functional tf.layers form) with its constructor's arguments."""

    _function: Callable[..., Any]
    _call_args: tuple[str, ...] = ()  # arguments given at call time (`training`)
    _has_weights = True
    _weights: tuple[str, ...] = ()  # attributes that name its variables (`kernel`, `bias`)

    def __init__(self, *args: Any, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 _reuse: Any = None, **config: Any) -> None:
        super().__init__(trainable=trainable, name=name, dtype=dtype, _reuse=_reuse)
        fn = type(self)._function
        params = inspect.signature(fn).parameters
        refused = [k for k in config if k in self._call_args or k in ("inputs", "reuse")]
        try:
            bound = inspect.signature(fn).bind_partial(None, *args, **config)
        except TypeError as e:
            raise TypeError(f"{type(self).__name__}: {e}") from None
        if refused:
            raise TypeError(f"{type(self).__name__}: {refused[0]!r} is not a constructor argument")
        self._config = {k: v for k, v in bound.arguments.items() if k != "inputs"}
        for k, p in params.items():  # TF1's attributes: layer.units, layer.activation, ...
            if k not in ("inputs", "name", "reuse", "trainable") + self._call_args:
                setattr(self, k, self._config.get(k, p.default))
        for w in self._weights:
            setattr(self, w, None)

    def _invoke(self, inputs, *args, **kwargs):
        if args:
            raise TypeError(f"{type(self).__name__} takes its inputs and keyword arguments "
                            f"{list(self._call_args)}, got {len(args)} more positional arguments")
        extra = [k for k in kwargs if k not in self._call_args]
        if extra:
            raise TypeError(f"{type(self).__name__} got unexpected call arguments {extra}")
        config = dict(self._config, **kwargs)
        if self._has_weights:
            config.update(name=self._scope, reuse=self._reusing(), trainable=self.trainable)
        else:
            config["name"] = self._name_arg
        return type(self)._function(inputs, **config)

    def _weight_found(self, short_name, var):
        if short_name in self._weights:
            setattr(self, short_name, var)


def functional_layer(class_name: str, function: Callable[..., Any], weights: tuple[str, ...] = (),
                     call_args: tuple[str, ...] = (), doc: str = "") -> type[Layer]:
    """A Layer class calling `function` (nnplug/layers.py makes tf.layers.Dense, ... with it)."""
    return type(class_name, (_FunctionalLayer,), {
        "_function": staticmethod(function), "_weights": weights, "_call_args": call_args,
        "_has_weights": bool(weights), "__doc__": doc or f"TF1's tf.layers.{class_name}: tf.layers."
                                                          f"{function.__name__} as a reusable object.",
        "__module__": __name__})
