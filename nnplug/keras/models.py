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
from ..shapes import compatible
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
        self._loss_arg = self._loss_weights_arg = None
        self._metrics_arg = self._metric_names = []
        self._train = None
        self._added_losses = []
        self.stop_training = False
        self.history = None
        if inputs is not None or outputs is not None:
            self._wire(inputs, outputs)

    # -- structure ----------------------------------------------------------------------
    def _wire(self, inputs, outputs):
        ins, in_keys = _tensor_list(inputs, "inputs")
        outs, out_keys = _tensor_list(outputs, "outputs")
        order, seen = [], set()

        def visit(t):
            if id(t) in seen:
                return
            seen.add(id(t))
            for i in t.inputs:
                visit(i)
            order.append(t)

        for t in ins + outs:
            visit(t)
        for t in order:
            if isinstance(t.layer, L.InputLayer) and not any(t is i for i in ins):
                raise ValueError(f"model '{self.name}': graph disconnected: the outputs depend on the input "
                                 f"'{t.layer.name}', which is not among the model's inputs "
                                 f"({', '.join(i.layer.name for i in ins)})")
        for what, tensors in (("input", ins), ("output", outs)):
            names = [t.layer.name for t in tensors]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"model '{self.name}': the {what} name '{twice[0]}' is used more than once; "
                                 f"each {what} needs its own layer")
        self.inputs, self.outputs, self._order = ins, outs, order
        self._input_keys = _keys(ins, in_keys)
        self._output_keys = _keys(outs, out_keys)
        layers = []
        for t in order:
            if t.layer not in layers:
                layers.append(t.layer)
        self._layers = layers

    @property
    def input_names(self) -> list[str]:
        return [t.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.layer.name for t in self.outputs]

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
    def input_shape(self) -> Any:
        """The input's shape; a list of shapes for a model of several inputs (as Keras)."""
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        """The model as a layer of a bigger functional model: its layers called on `inputs` (KerasTensors), so
        the weights are shared with this model."""
        given, _ = _tensor_list(inputs, "inputs")
        if len(given) != len(self.inputs):
            raise ValueError(f"model '{self.name}' takes {len(self.inputs)} inputs ({', '.join(self.input_names)}), "
                             f"called on {len(given)}")
        values = {}
        for mine, new in zip(self.inputs, given):
            if not compatible(mine.shape, new.shape):
                raise ValueError(f"model '{self.name}': input '{mine.layer.name}' expects shape "
                                 f"{_shape_str(mine.shape)}, called on {_shape_str(new.shape)}")
            values[id(mine)] = new
        for t in self._order:
            if id(t) not in values:
                args = [values[id(i)] for i in t.inputs]
                values[id(t)] = t.layer(args if t.many else args[0])
        outs = [values[id(t)] for t in self.outputs]
        return outs[0] if len(outs) == 1 else outs

    @property
    def weights(self) -> list[Variable]:
        self._build()
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if w.trainable]

    def count_params(self) -> int:
        return sum(l.count_params() for l in self.layers)

    def summary(self, print_fn: Callable[[str], object] = print, line_length: int | None = None) -> None:
        """Keras 2's table; a model that is not a plain chain gets its 'Connected to' column too."""
        if not self._ready():
            raise ValueError("this model has not been built yet: give the first layer input_shape= or input_dim=, "
                             "or call fit/build first")
        shown = [t for t in self._order if t.layer is not None and
                 not (isinstance(t.layer, L.InputLayer) and isinstance(self, Sequential))]
        calls = {}  # layer -> its calls (tensors made), for the node indices of 'Connected to'
        for t in shown:
            calls.setdefault(id(t.layer), []).append(t)
        chain = len(self.inputs) == 1 and len(self.outputs) == 1 and all(
            len(t.inputs) <= 1 and len(calls[id(t.layer)]) == 1 for t in shown)
        line_length = line_length or (65 if chain else 98)
        cols = [29, 26, 10] if chain else [33, 22, 12, line_length - 67]
        rule = "_" * line_length
        row = lambda *cells: "".join(f"{c:<{w}}" for c, w in zip(cells, cols))  # noqa: E731
        print_fn(f'Model: "{self.name}"')
        print_fn(rule)
        print_fn(row("Layer (type)", "Output Shape", "Param #", "Connected to"))
        print_fn("=" * line_length)
        rows = []
        for t in shown:
            first = calls[id(t.layer)][0]
            if t is not first:
                continue
            links = [f"{i.layer.name}[{calls.get(id(i.layer), [i]).index(i) if id(i.layer) in calls else 0}][0]"
                     for c in calls[id(t.layer)] for i in c.inputs]
            rows.append([row(f"{t.layer.name} ({type(t.layer).__name__})", _shape_str(t.shape),
                             str(t.layer.count_params()), links[0] if links else "")] +
                        ([] if chain else [row("", "", "", link) for link in links[1:]]))
        for i, lines in enumerate(rows):
            for line in lines:
                print_fn(line)
            print_fn("=" * line_length if i == len(rows) - 1 else rule)
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
            self._xs = [placeholder(_dt.as_dtype(t.layer.dtype), (None,) + tuple(t.shape[1:]), name=t.layer.name)
                        for t in self.inputs]
            self._y_preds, self._logits, self._pass_losses_test = self._replay(False)
            self._y_trains, self._logits_train, self._pass_losses_train = self._replay(True)
        if self._session is None:
            self._session = Session(graph=self._graph)
        for layer in self.layers:
            if layer._model is None:
                layer._model = self
        self._initialize(self.weights_unbuilt())
        self._built = True

    @property
    def _x(self) -> Tensor:
        """The first input's placeholder (a model of one input has only it)."""
        return self._xs[0]

    @property
    def _y_train(self) -> Tensor:
        """The first output of the training pass."""
        return self._y_trains[0]

    def weights_unbuilt(self) -> list[Variable]:
        return [w for layer in self.layers for w in layer.weights]

    def _replay(self, training):
        """([output per model output], [its (activation, logits) or None], the pass's loss terms: the layers'
        add_loss and activity penalties)."""
        values = {id(t): x for t, x in zip(self.inputs, self._xs)}
        logits, losses = {}, []
        for t in self._order:
            if id(t) in values:
                continue
            args = [values[id(i)] for i in t.inputs]
            values[id(t)] = t.layer.apply(args if t.many else args[0], training)
            logits[id(t)] = t.layer.logits
            losses += t.layer.collect_pass_losses(values[id(t)], training)
        return [values[id(t)] for t in self.outputs], [logits.get(id(t)) for t in self.outputs], losses

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
                "inputs": [tensors[id(t)] for t in self.inputs], "outputs": [tensors[id(t)] for t in self.outputs]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """The model a get_config describes (also the single "input"/"output" of older nnplug files)."""
        layers = [L.deserialize(s) for s in config["layers"]]
        made = []
        for n, (layer_index, inputs) in enumerate(config["nodes"]):
            if layer_index >= len(layers) or any(i >= n for i in inputs):
                raise ValueError(f"nodes[{n}] names a layer or an input node that does not come before it")
            layer = layers[layer_index]
            if isinstance(layer, L.InputLayer):
                made.append(layer.output)
            elif not inputs:
                raise ValueError(f"nodes[{n}]: layer '{layer.name}' is called on no inputs")
            else:
                made.append(layer([made[i] for i in inputs] if len(inputs) > 1 else made[inputs[0]]))
        ins = config["inputs"] if "inputs" in config else [config["input"]] if "input" in config else None
        outs = config["outputs"] if "outputs" in config else [config["output"]] if "output" in config else None
        if ins is None or outs is None:
            raise ValueError("the functional config names no inputs/outputs nodes")
        for i in ins + outs:
            if i >= len(made):
                raise ValueError(f"inputs/outputs name node {i}, but there are {len(made)} nodes")
        pick = lambda idx: [made[i] for i in idx] if len(idx) > 1 else made[idx[0]]  # noqa: E731
        return cls(pick(ins), pick(outs), name=config["name"])

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


def _tensor_list(tensors, what):
    """(KerasTensors, the dict keys they were given under or None) from one tensor, a list or a dict."""
    keys = None
    if isinstance(tensors, dict):
        keys, tensors = list(tensors), list(tensors.values())
    items = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if not items:
        raise ValueError(f"a model needs at least one of its {what}")
    for t in items:
        if not isinstance(t, L.KerasTensor):
            raise TypeError(f"Model {what} must come from keras.Input and layer calls, got {t!r:.80}")
    return items, keys


def _keys(tensors, dict_keys):
    """{name: position}: the layer names, and the dict keys the model was given its tensors under."""
    keys = {t.layer.name: i for i, t in enumerate(tensors)}
    for i, k in enumerate(dict_keys or []):
        keys[str(k)] = i
    return keys


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
