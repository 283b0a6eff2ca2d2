"""Keras models: the functional Model and Sequential, as structure -- layers wired into one graph of
placeholders, an inference and a training pass (dropout on) through the same Variables, built once.

Training lives in trainer.py (mixed in), the data path in data_adapter.py, files in saving.py.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..graph import Graph, Tensor, convert_to_tensor, get_default_graph
from ..ops.array_ops import placeholder
from ..session import Session
from . import layers as L
from . import saving
from .data_adapter import DEVICE_DATA_MAX, shape_str as _shape_str  # noqa: F401 - kept importable here
from .saving import load_model, model_from_config, model_from_json, save_model  # noqa: F401 - Keras's paths
from .trainer import Trainer
from .._types import StrPath
from ..variables import Variable
from .layers import KerasTensor, Layer


@saving.assemble.model_class
class Model(Trainer):
    """The functional model: `Model(inputs=keras.Input(shape=(784,)), outputs=...)`."""

    config_class_name = "Model"  # the class_name a saved config gives
    _graph: Graph | None  # made when the model is first built
    _session: Session | None

    def __init__(self, inputs: KerasTensor | Sequence[KerasTensor] | None = None,
                 outputs: KerasTensor | Sequence[KerasTensor] | None = None, name: str | None = None) -> None:
        self.name = L.base.check_name(name, "model") if name is not None else L._auto_name("model")
        self._graph = self._session = None
        self._built = False
        self.optimizer = self.loss = None
        self._metric_specs = []
        self._train = None
        self._added_losses = []
        self.stop_training = False
        self.history = None
        if inputs is not None or outputs is not None:
            self._wire(inputs, outputs)

    # -- structure ----------------------------------------------------------------------
    def _wire(self, inputs, outputs):
        ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for t in ins + outs:
            if not isinstance(t, L.KerasTensor):
                raise TypeError(f"Model inputs and outputs must come from keras.Input and layer calls, got {t!r}")
        if len(ins) != 1 or len(outs) != 1:
            raise NotImplementedError("this Keras supports models with one input and one output")
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for i in t.inputs:
                visit(i)
            order.append(t)

        visit(outs[0])
        if not any(t is ins[0] for t in order):
            raise ValueError("the model's output does not depend on its input")
        self.inputs, self.outputs, self._order = ins, outs, order
        layers = []
        for t in order:
            if t.layer not in layers:
                layers.append(t.layer)
        self._layers = layers

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named '{name}' (layers: {', '.join(l.name for l in self.layers)})")

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        return self.inputs[0].shape

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        return self.outputs[0].shape

    @property
    def weights(self) -> list[Variable]:
        self._build()
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if w.trainable]

    def count_params(self) -> int:
        return sum(l.count_params() for l in self.layers)

    def summary(self, print_fn: Callable[[str], object] = print, line_length: int = 65) -> None:
        if not self._ready():
            raise ValueError("this model has not been built yet: give the first layer input_shape= or input_dim=, "
                             "or call fit/build first")
        cols = [29, 26, 10]
        rule = "_" * line_length
        row = lambda a, b, c: f"{a:<{cols[0]}}{b:<{cols[1]}}{c:<{cols[2]}}"  # noqa: E731
        print_fn(f'Model: "{self.name}"')
        print_fn(rule)
        print_fn(row("Layer (type)", "Output Shape", "Param #"))
        print_fn("=" * line_length)
        shown = [t for t in self._order if t.layer is not None and
                 not (isinstance(t.layer, L.InputLayer) and isinstance(self, Sequential))]
        for i, t in enumerate(shown):
            print_fn(row(f"{t.layer.name} ({type(t.layer).__name__})", _shape_str(t.shape),
                         str(t.layer.count_params())))
            print_fn("=" * line_length if i == len(shown) - 1 else rule)
        trainable = sum(int(np.prod(s)) for l in self.layers if l.trainable  # type: ignore[misc]
                        for _, s, _, tr in l.weight_specs(l.input_spec) if tr)
        total = self.count_params()
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn(rule)

    def _ready(self):
        return hasattr(self, "_order")

    # -- the graph -----------------------------------------------------------------------
    def _build(self):
        """Build the placeholders, inference and training passes once, and initialise new weights."""
        if self._built:
            return
        if not self._ready():
            raise ValueError(f"model '{self.name}' has no input shape yet: give the first layer input_shape= or "
                             f"input_dim=, or call fit first")
        owners = [l._model for l in self.layers if l.weights and l._model is not None]
        if owners:  # share the graph (and the Variables) of layers already built in another model
            self._graph, self._session = owners[0]._graph, owners[0]._session
        else:
            self._graph = Graph()
            seed = get_default_graph().seed
            self._graph.seed = seed if seed is not None else int(np.random.randint(1, 2 ** 31 - 1))
        with self._graph.as_default():
            inp = self.inputs[0]
            self._x = placeholder(_dt.float32, (None,) + tuple(inp.shape[1:]), name=inp.layer.name)
            self._y_pred, self._logits, self._pass_losses_test = self._replay(False)
            self._y_train, self._logits_train, self._pass_losses_train = self._replay(True)
        if self._session is None:
            self._session = Session(graph=self._graph)
        for layer in self.layers:
            if layer._model is None:
                layer._model = self
        self._initialize(self.weights_unbuilt())
        self._built = True

    def weights_unbuilt(self) -> list[Variable]:
        return [w for layer in self.layers for w in layer.weights]

    def _replay(self, training):
        """(output, logits, the pass's loss terms: the layers' add_loss and activity penalties)."""
        values = {id(self.inputs[0]): self._x}
        logits, losses = None, []
        for t in self._order:
            if t.layer is None or isinstance(t.layer, L.InputLayer):
                continue
            values[id(t)] = t.layer.apply(values[id(t.inputs[0])], training)
            logits = t.layer.logits
            losses += t.layer.collect_pass_losses(values[id(t)], training)
        return values[id(self.outputs[0])], logits, losses

    # -- extra loss terms: regularizers, add_loss -------------------------------------------
    def add_loss(self, loss: Callable[[], Tensor] | Tensor) -> None:
        """A loss term added to the loss that fit trains on and reports: a zero-argument callable (called in
        the model's graph once its weights exist, e.g. `lambda: 1e-3 * tf.reduce_sum(layer.weights[0])`) or
        a scalar tensor of the built model's graph."""
        if isinstance(loss, L.KerasTensor):
            raise NotImplementedError(f"model '{self.name}': add_loss of a symbolic layer output is not supported; "
                                      f"give a zero-argument callable, or add the term inside a layer's call "
                                      f"with layer.add_loss")
        if isinstance(loss, Tensor):
            if self._graph is None or loss.graph is not self._graph:
                raise ValueError(f"model '{self.name}': add_loss got the tensor '{loss.name}' from another graph; "
                                 f"give a zero-argument callable instead")
        elif not callable(loss):
            raise TypeError(f"model '{self.name}': add_loss takes a zero-argument callable or a scalar tensor, "
                            f"got {loss!r:.60}")
        self._added_losses.append(loss)
        self._train = None  # the next fit/evaluate builds its loss with the new term

    def _model_losses(self):
        """The add_loss terms as tensors of the model's graph (callables called once)."""
        with self._graph.as_default():
            self._added_losses = [t if isinstance(t, Tensor) else convert_to_tensor(t())
                                  for t in self._added_losses]
        return list(self._added_losses)

    def regularization_losses(self, training: bool) -> list[Tensor]:
        """Every term the training (or the inference) pass adds to the data loss."""
        self._build()
        weights = [t for layer in self.layers for t in layer._weight_losses]
        passes = self._pass_losses_train if training else self._pass_losses_test
        return weights + passes + self._model_losses()

    @property
    def losses(self) -> list[Tensor]:
        """The regularization and add_loss terms (of the inference pass), as Keras's `model.losses`."""
        return self.regularization_losses(False)

    def weight_constraints(self) -> list[tuple[Variable, Any]]:
        """(trainable weight, constraint) pairs, applied after every optimizer update."""
        self._build()
        return [(w, c) for layer in self.layers for w, c in layer.weight_constraints if w.trainable]

    def _initialize(self, variables):
        todo = [v for v in variables if self._session.variable_value(v) is None]
        if todo:
            self._session.run([v.initializer for v in todo])

    def build(self, input_shape: Sequence[int | None] | None = None) -> None:
        self._build()

    # -- weights -------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        self._build()
        return [self._session.variable_value(w).copy() for w in self.weights]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        self._build()
        self._load_values(list(zip(self.weights, weights)), "set_weights", expected=len(self.weights),
                          given=len(weights))

    def _load_values(self, pairs, what, expected=None, given=None):
        """Check every value first, then load them all: a bad list changes nothing."""
        if expected is not None and expected != given:
            raise ValueError(f"{what}: the model has {expected} weight arrays, got {given}")
        staged = []
        for var, value in pairs:
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{what}: weight '{var.name}' must be numeric, got dtype {arr.dtype}")
            if tuple(arr.shape) != tuple(var.shape):
                raise ValueError(f"{what}: weight '{var.name}' has shape {tuple(var.shape)}, "
                                 f"got an array of shape {arr.shape}")
            staged.append((var, arr))
        for var, arr in staged:
            self._session.load_variable(var, arr)

    # -- configuration and files (saving.py) ----------------------------------------------
    def get_config(self) -> dict[str, Any]:
        tensors = {id(t): i for i, t in enumerate(self._order)}
        layers = self.layers
        return {"name": self.name,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in layers],
                "nodes": [[layers.index(t.layer), [tensors[id(i)] for i in t.inputs]] for t in self._order],
                "input": tensors[id(self.inputs[0])], "output": tensors[id(self.outputs[0])]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        layers = [L.deserialize(s) for s in config["layers"]]
        made = []
        for layer_index, inputs in config["nodes"]:
            layer = layers[layer_index]
            made.append(layer.output if isinstance(layer, L.InputLayer) else layer(made[inputs[0]]))
        return cls(made[config["input"]], made[config["output"]], name=config["name"])

    def save(self, filepath: StrPath, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Architecture, weights and compile settings; the name picks the format: .keras (Keras 3), .h5 (tf.keras
        2), else nnplug's .npz. overwrite=False refuses to replace an existing file."""
        saving.save_model(self, filepath, overwrite, include_optimizer)

    def save_weights(self, filepath: StrPath, overwrite: bool = True) -> None:
        """Weights only: .weights.h5 (Keras 3), .h5 (tf.keras 2), else nnplug's .npz."""
        saving.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath: StrPath) -> None:
        saving.load_weights(self, filepath)

    def to_json(self) -> str:
        return saving.to_json(self)


@saving.assemble.model_class
class Sequential(Model):
    """A linear stack of layers: `Sequential([Dense(50, input_dim=784), ...])` or `add` one by one."""

    config_class_name = "Sequential"

    def __init__(self, layers: Sequence[Layer | KerasTensor] | None = None, name: str | None = None) -> None:
        super().__init__(name=name if name is not None else L._auto_name("sequential"))
        self._stack = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer | KerasTensor) -> None:
        if isinstance(layer, L.KerasTensor):  # keras.Input(...) added as the first "layer"
            layer = layer.layer
        if not isinstance(layer, L.Layer):
            raise TypeError(f"Sequential.add takes a keras layer, got {layer!r}")
        if isinstance(layer, L.InputLayer) and self._stack:
            raise ValueError("an InputLayer can only be the first layer of a Sequential model")
        self._stack.append(layer)
        self._built = False
        self._train = None
        self._rewire()

    def pop(self) -> None:
        if not self._stack:
            raise TypeError("there are no layers in the model to pop")
        self._stack.pop()
        self._built, self._train = False, None
        self._rewire()

    def _rewire(self, input_shape=None):
        if not self._stack:
            return
        first = self._stack[0]
        if isinstance(first, L.InputLayer):
            x, rest = first.output, self._stack[1:]
        else:
            batch_shape = first.batch_input_shape or input_shape
            if batch_shape is None:
                return
            x, rest = L.Input(batch_shape=(None,) + tuple(batch_shape[1:]), name=f"{first.name}_input"), self._stack
        inp = x
        for layer in rest:
            x = layer(x)
        self._wire(inp, x)

    @property
    def layers(self) -> list[Layer]:
        return [l for l in self._stack if not isinstance(l, L.InputLayer)]

    def _ready(self):
        return hasattr(self, "_order") and self._order[-1].layer is self._stack[-1]

    def _build(self):
        if not self._stack:
            raise ValueError("the Sequential model has no layers; add some first")
        if not self._ready():
            raise ValueError(f"model '{self.name}' has no input shape yet: give the first layer input_shape= or "
                             f"input_dim=, or call fit first")
        super()._build()

    def _prepare_input_shape(self, x):
        if self._stack and not self._ready() and x is not None:
            self._rewire((None,) + np.shape(x)[1:])

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._stack]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls([L.deserialize(s) for s in config["layers"]], name=config["name"])
