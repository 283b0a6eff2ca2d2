"""Keras models: Sequential and the functional Model, trained through one nnplug graph and Session.

A model builds its graph once: placeholders, an inference pass and a training pass (dropout on) through the
same Variables. `compile` adds the loss, metrics and the optimizer's update ops; `fit` then runs one
fetch of [updates, loss, metrics] per batch, with no graph building in the loop.
"""
import json
import warnings

import numpy as np

from .. import dtypes as _dt
from ..graph import Graph, get_default_graph
from ..ops import math_ops as M
from ..ops.array_ops import placeholder
from ..session import Session
from ..train.saver import atomic_write
from ..variables import group
from . import callbacks as cbks
from . import layers as L
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers

FORMAT = "nnplug-keras"
VERSION = 1
DEVICE_DATA_MAX = 1 << 30  # fit() keeps a training set up to this size on a GPU backend


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Model:
    """The functional model: `Model(inputs=keras.Input(shape=(784,)), outputs=...)`."""

    def __init__(self, inputs=None, outputs=None, name=None):
        self.name = name or L._auto_name("model")
        self._graph = self._session = None
        self._built = False
        self.optimizer = self.loss = None
        self._metric_specs = []
        self._train = None
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
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named '{name}' (layers: {', '.join(l.name for l in self.layers)})")

    @property
    def input_shape(self):
        return self.inputs[0].shape

    @property
    def output_shape(self):
        return self.outputs[0].shape

    @property
    def weights(self):
        self._build()
        return [w for layer in self.layers for w in layer.weights]

    trainable_weights = property(lambda self: [w for w in self.weights if w.trainable])

    def count_params(self):
        return sum(l.count_params() for l in self.layers)

    def summary(self, print_fn=print, line_length=65):
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
        trainable = sum(int(np.prod(s)) for l in self.layers if l.trainable
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
            self._y_pred, self._logits = self._replay(False)
            self._y_train, self._logits_train = self._replay(True)
        if self._session is None:
            self._session = Session(graph=self._graph)
        for layer in self.layers:
            if layer._model is None:
                layer._model = self
        self._initialize(self.weights_unbuilt())
        self._built = True

    def weights_unbuilt(self):
        return [w for layer in self.layers for w in layer.weights]

    def _replay(self, training):
        values = {id(self.inputs[0]): self._x}
        logits = None
        for t in self._order:
            if t.layer is None or isinstance(t.layer, L.InputLayer):
                continue
            values[id(t)] = t.layer.apply(values[id(t.inputs[0])], training)
            logits = t.layer.logits
        return values[id(self.outputs[0])], logits

    def _initialize(self, variables):
        todo = [v for v in variables if self._session.variable_value(v) is None]
        if todo:
            self._session.run([v.initializer for v in todo])

    def build(self, input_shape=None):
        self._build()

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, **kwargs):
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'")
        if isinstance(loss, (list, dict)):
            raise NotImplementedError("one loss per model: pass a single loss name or function")
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        self._metric_names = list(metrics or [])
        for m in self._metric_names:  # names are checked now; the graph comes with the first use
            _metrics.get(m, self.loss, 2)
        self._train = None

    def _compiled(self, what):
        if self.loss is None:
            raise RuntimeError(f"you must compile the model before calling {what}, e.g. "
                               f"model.compile(optimizer='sgd', loss='categorical_crossentropy')")
        self._build()
        if self._train is None:
            self._make_train_graph()
        return self._train

    def _make_train_graph(self):
        n_out = self.output_shape[-1]
        with self._graph.as_default():
            if self.loss.labels == "sparse":
                y = placeholder(_dt.int32, (None,), name="y_true")
            else:
                y = placeholder(_dt.float32, (None,) + tuple(self.output_shape[1:]), name="y_true")

            def heads(y_pred, logits):
                loss = M.reduce_mean(self.loss.per_sample(y, y_pred, logits))
                mets = []
                for m in self._metric_names:
                    name, fn = _metrics.get(m, self.loss, n_out)
                    mets.append((name, M.reduce_mean(fn(y, y_pred))))
                return loss, mets

            train_loss, train_mets = heads(self._y_train, self._logits_train)
            test_loss, test_mets = heads(self._y_pred, self._logits)
            params = self.trainable_weights
            updates = self.optimizer.get_updates(train_loss, params)
            train_op = group(*updates, name="train")
        self._initialize(self.optimizer.weights)
        names = ["loss"] + [n for n, _ in train_mets]
        self._train = {"y": y, "names": names,
                       "train": [train_op, train_loss] + [t for _, t in train_mets],
                       "test": [test_loss] + [t for _, t in test_mets]}

    # -- input checks --------------------------------------------------------------------
    def _check_x(self, x, what):
        self._build()
        try:
            x = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{what}: x must be a numeric array, got {type(x).__name__} ({e})") from None
        want = tuple(self.input_shape[1:])
        if x.ndim != len(want) + 1 or any(w is not None and w != d for w, d in zip(want, x.shape[1:])):
            raise ValueError(f"{what}: x has shape {x.shape}, but the model's input '{self.inputs[0].layer.name}' "
                             f"expects {_shape_str(self.input_shape)} (samples x {' x '.join(map(str, want))})")
        return x

    def _check_y(self, y, n, what):
        y = np.asarray(y)
        n_out = self.output_shape[-1]
        if len(y) != n:
            raise ValueError(f"{what}: x has {n} samples but y has {len(y)}; they need the same number of rows")
        name = self.loss.name
        if self.loss.labels == "sparse":
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1:
                raise ValueError(f"{what}: {name} expects integer class ids of shape ({n},), got y of shape "
                                 f"{y.shape}; for one-hot labels use loss='categorical_crossentropy'")
            if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
                raise ValueError(f"{what}: {name} expects integer class ids, got non-integer values")
            if y.size and (y.min() < 0 or y.max() >= n_out):
                raise ValueError(f"{what}: class ids must lie in [0, {n_out}) for the model's {n_out} outputs, "
                                 f"got values from {y.min()} to {y.max()}")
            return y.astype(np.int32)
        want = (n,) + tuple(self.output_shape[1:])
        if self.loss.labels == "onehot" and y.shape != want:
            if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
                raise ValueError(f"{what}: {name} expects one-hot labels of shape {want}, got integer class labels "
                                 f"of shape {y.shape}; convert them with keras.utils.to_categorical(y, {n_out}) "
                                 f"or use loss='sparse_categorical_crossentropy'")
            raise ValueError(f"{what}: {name} expects labels of shape {want} (one column per output), "
                             f"got {y.shape}")
        if y.ndim == 1 and want == (n, 1):
            y = y[:, None]
        if y.shape != want:
            raise ValueError(f"{what}: loss {name} expects y of shape {want} like the model's output "
                             f"{_shape_str(self.output_shape)}, got {y.shape}")
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{what}: y must be numeric, got dtype {y.dtype}")
        return y.astype(np.float32)

    # -- running -------------------------------------------------------------------------
    def _run_batches(self, fetches, x, y, batch_size):
        """Sample-weighted means of scalar fetches over all batches."""
        t = self._train
        sums, n = np.zeros(len(fetches)), len(x)
        for i in range(0, n, batch_size):
            feed = {self._x: x[i:i + batch_size]}
            if y is not None:
                feed[t["y"]] = y[i:i + batch_size]
            out = self._session.run(fetches, feed)
            sums += np.asarray(out, dtype=np.float64) * len(feed[self._x])
        return sums / max(n, 1)

    def predict(self, x, batch_size=32, verbose=0, steps=None):
        x = self._check_x(x, "predict")
        if len(x) == 0:
            return np.zeros((0,) + tuple(self.output_shape[1:]), np.float32)
        return np.concatenate([self._session.run(self._y_pred, {self._x: x[i:i + batch_size]})
                               for i in range(0, len(x), batch_size)])

    def predict_on_batch(self, x):
        return self._session.run(self._y_pred, {self._x: self._check_x(x, "predict_on_batch")})

    def predict_classes(self, x, batch_size=32, verbose=0):
        warnings.warn("predict_classes is deprecated (Keras removed it); use np.argmax(model.predict(x), "
                      "axis=-1), i.e. model.predict(...).argmax(-1), or (model.predict(x) > 0.5) for a "
                      "sigmoid output", DeprecationWarning, stacklevel=2)
        p = self.predict(x, batch_size, verbose)
        return p.argmax(-1) if p.shape[-1] > 1 else (p > 0.5).astype(np.int32)

    def predict_proba(self, x, batch_size=32, verbose=0):
        warnings.warn("predict_proba is deprecated (Keras removed it); use model.predict(x) — the class is "
                      "model.predict(...).argmax(-1)", DeprecationWarning, stacklevel=2)
        return self.predict(x, batch_size, verbose)

    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, **kwargs):
        t = self._compiled("evaluate")
        x = self._check_x(x, "evaluate")
        y = self._check_y(y, len(x), "evaluate")
        res = self._run_batches(t["test"], x, y, batch_size)
        if verbose:
            print(cbks.format_logs(dict(zip(t["names"], res)))[3:])
        return float(res[0]) if len(res) == 1 else [float(v) for v in res]

    def train_on_batch(self, x, y):
        t = self._compiled("train_on_batch")
        x = self._check_x(x, "train_on_batch")
        y = self._check_y(y, len(x), "train_on_batch")
        out = self._session.run(t["train"], {self._x: x, t["y"]: y})[1:]
        return float(out[0]) if len(out) == 1 else [float(v) for v in out]

    def test_on_batch(self, x, y):
        t = self._compiled("test_on_batch")
        x = self._check_x(x, "test_on_batch")
        y = self._check_y(y, len(x), "test_on_batch")
        out = self._session.run(t["test"], {self._x: x, t["y"]: y})
        return float(out[0]) if len(out) == 1 else [float(v) for v in out]

    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, steps_per_epoch=None, **kwargs):
        """Train for `epochs` epochs; returns the History (`.history` has loss, val_loss and metrics)."""
        if kwargs.get("nb_epoch") is not None:
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit got unexpected arguments: {', '.join(sorted(kwargs))}")
        if steps_per_epoch is not None:
            raise NotImplementedError("fit(steps_per_epoch=...) is not supported: pass arrays x and y")
        self._prepare_input_shape(x)
        t = self._compiled("fit")
        x = self._check_x(x, "fit")
        y = self._check_y(y, len(x), "fit")
        batch_size = int(batch_size or 32)
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be positive, got {batch_size}")
        val = None
        if validation_data is not None:
            if len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            vx = self._check_x(validation_data[0], "fit (validation_data)")
            val = (vx, self._check_y(validation_data[1], len(vx), "fit (validation_data)"))
        elif validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
            split = int(len(x) * (1.0 - validation_split))  # the last samples, before shuffling, as in Keras
            x, y, val = x[:split], y[:split], (x[split:], y[split:])
        n = len(x)
        if n == 0:
            raise ValueError("fit: no training samples (x is empty, or validation_split took them all)")

        history = cbks.History()
        callbacks = [history] + list(callbacks or [])
        for cb in callbacks:
            cb.set_model(self)
            cb.set_params({"batch_size": batch_size, "epochs": epochs, "samples": n, "verbose": verbose,
                           "metrics": t["names"] + ["val_" + k for k in t["names"]] if val else t["names"]})
        batch_cbs = cbks.batch_hooks(callbacks)
        if verbose:
            print(f"Train on {n} samples" + (f", validate on {len(val[0])} samples" if val else ""))
        progress = cbks.ProgressLogger(verbose, epochs, n) if verbose else None
        self.stop_training = False
        for cb in callbacks:
            cb.on_train_begin({})
        run, xph, yph, fetches = self._session.run, self._x, t["y"], t["train"]
        names = t["names"]
        x, y, to_device = self._training_data(x, y)
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            idx = np.random.permutation(n) if shuffle else None
            ex, ey = x, y
            if idx is not None and to_device is not None:  # one gather per epoch on the device, then slices
                order = to_device(idx)
                ex, ey, idx = x.take(order, axis=0), y.take(order, axis=0), None
            sums, seen = np.zeros(len(names)), 0
            if progress:
                progress.epoch_begin(epoch, lambda: dict(zip(names, sums / max(seen, 1))))
            for b, i in enumerate(range(0, n, batch_size)):
                if idx is not None:
                    j = idx[i:i + batch_size]
                    bx, by = ex[j], ey[j]
                else:
                    bx, by = ex[i:i + batch_size], ey[i:i + batch_size]
                if batch_cbs:
                    for cb in batch_cbs:
                        cb.on_batch_begin(b, {"batch": b, "size": len(bx)})
                out = run(fetches, {xph: bx, yph: by})
                k = len(bx)
                for m in range(len(names)):
                    sums[m] += out[m + 1] * k
                seen += k
                if progress:
                    progress.update(k)
                if batch_cbs:
                    logs = {"batch": b, "size": k, **{nm: float(v) for nm, v in zip(names, out[1:])}}
                    for cb in batch_cbs:
                        cb.on_batch_end(b, logs)
            logs = {nm: float(v) for nm, v in zip(names, sums / seen)}
            if val is not None:
                res = self._run_batches(t["test"], val[0], val[1], batch_size)
                logs.update({"val_" + nm: float(v) for nm, v in zip(names, res)})
            if progress:
                progress.epoch_end(logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end({})
        self.history = history
        return history

    def _training_data(self, x, y):
        """(x, y, to_device): on a backend whose arrays the session accepts as feeds (a GPU), the training
        set goes to the device once when it is at most DEVICE_DATA_MAX bytes, and each epoch's shuffle (drawn
        on the host, so np.random.seed still decides it) is applied there; else the host arrays and None."""
        backend = self._session.backend
        if x.nbytes + y.nbytes > DEVICE_DATA_MAX or not backend.is_device_array(backend.to_device(x[:1])):
            return x, y, None
        return backend.to_device(x), backend.to_device(y), backend.to_device

    def _prepare_input_shape(self, x):
        pass

    # -- weights -------------------------------------------------------------------------
    def get_weights(self):
        self._build()
        return [self._session.variable_value(w).copy() for w in self.weights]

    def set_weights(self, weights):
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

    # -- saving --------------------------------------------------------------------------
    def get_config(self):
        tensors = {id(t): i for i, t in enumerate(self._order)}
        layers = self.layers
        return {"name": self.name,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in layers],
                "nodes": [[layers.index(t.layer), [tensors[id(i)] for i in t.inputs]] for t in self._order],
                "input": tensors[id(self.inputs[0])], "output": tensors[id(self.outputs[0])]}

    @classmethod
    def from_config(cls, config):
        layers = [L.deserialize(s) for s in config["layers"]]
        made = []
        for layer_index, inputs in config["nodes"]:
            layer = layers[layer_index]
            made.append(layer.output if isinstance(layer, L.InputLayer) else layer(made[inputs[0]]))
        return cls(made[config["input"]], made[config["output"]], name=config["name"])

    def _model_json(self):
        spec = {"format": FORMAT, "version": VERSION,
                "model": {"class_name": "Sequential" if isinstance(self, Sequential) else "Model",
                          "config": self.get_config()}}
        if self.loss is not None:
            spec["training"] = {"loss": _losses.serialize(self.loss), "metrics": self._metric_names,
                                "optimizer": _optimizers.serialize(self.optimizer)}
        return spec

    def save(self, filepath, overwrite=True, include_optimizer=True):
        """One .npz file: the architecture and compile settings as JSON, the weights (and optimizer state)."""
        self._build()
        spec = self._model_json()
        arrays = {f"w/{i}": v for i, v in enumerate(self.get_weights())}
        if include_optimizer and self._train is not None:
            arrays.update({f"o/{i}": self._session.variable_value(v) for i, v in enumerate(self.optimizer.weights)})
        _write(filepath, spec, arrays)

    def save_weights(self, filepath, overwrite=True):
        self._build()
        names = [w.name for w in self.weights]
        spec = {"format": FORMAT, "version": VERSION, "weights": names}
        _write(filepath, spec, {f"w/{i}": v for i, v in enumerate(self.get_weights())})

    def load_weights(self, filepath):
        """Load weights saved by save_weights or save; a file that does not fit changes nothing."""
        self._build()
        _, arrays = _read(filepath)
        ws = _indexed(arrays, "w/")
        try:
            self._load_values(list(zip(self.weights, ws)), "load_weights", len(self.weights), len(ws))
        except (ValueError, TypeError) as e:
            raise ValueError(f"cannot load weights from '{filepath}': {e}") from None

    def to_json(self):
        return json.dumps(self._model_json()["model"])


def _write(path, spec, arrays):
    arrays = {"__config__": np.array(json.dumps(spec)), **arrays}
    atomic_write(str(path), lambda f: np.savez(f, **arrays))


def _read(path):
    try:
        with np.load(str(path), allow_pickle=False) as data:
            if "__config__" not in data.files:
                raise ValueError("it is not an nnplug Keras file (no '__config__' entry)")
            spec = json.loads(str(data["__config__"]))
            if spec.get("format") != FORMAT:
                raise ValueError(f"its format is {spec.get('format')!r}, not {FORMAT!r}")
            if int(spec.get("version", 0)) > VERSION:
                raise ValueError(f"it has version {spec['version']}; this nnplug reads up to {VERSION}")
            return spec, {k: data[k] for k in data.files if k != "__config__"}
    except FileNotFoundError:
        raise FileNotFoundError(f"no such model file: '{path}'") from None
    except ValueError as e:
        raise ValueError(f"cannot read '{path}': {e}") from None
    except Exception as e:  # zipfile.BadZipFile, EOFError, OSError ...
        raise ValueError(f"cannot read '{path}': corrupted or not an .npz file ({type(e).__name__}: {e})") from None


def _indexed(arrays, prefix):
    keys = sorted((int(k[len(prefix):]), k) for k in arrays if k.startswith(prefix))
    return [arrays[k] for _, k in keys]


class Sequential(Model):
    """A linear stack of layers: `Sequential([Dense(50, input_dim=784), ...])` or `add` one by one."""

    def __init__(self, layers=None, name=None):
        super().__init__(name=name or L._auto_name("sequential"))
        self._stack = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
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

    def pop(self):
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
    def layers(self):
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

    def get_config(self):
        return {"name": self.name,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._stack]}

    @classmethod
    def from_config(cls, config):
        return cls([L.deserialize(s) for s in config["layers"]], name=config["name"])


def model_from_config(spec):
    cls = {"Sequential": Sequential, "Model": Model}.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"unknown model class '{spec['class_name']}'")
    return cls.from_config(spec["config"])


def model_from_json(text):
    return model_from_config(json.loads(text))


def load_model(filepath, compile=True):  # noqa: A002 - the Keras name
    """A model saved by `model.save`: architecture, weights, and (if it was compiled) loss and optimizer."""
    spec, arrays = _read(filepath)
    if "model" not in spec:
        raise ValueError(f"'{filepath}' holds weights only (written by save_weights); build the model and "
                         f"call model.load_weights('{filepath}')")
    model = model_from_config(spec["model"])
    model._load_values(list(zip(model.weights, _indexed(arrays, "w/"))), f"load_model('{filepath}')",
                       len(model.weights), len(_indexed(arrays, "w/")))
    training = spec.get("training")
    if compile and training:
        model.compile(optimizer=_optimizers.deserialize(training["optimizer"]),
                      loss=_losses.deserialize(training["loss"]), metrics=training["metrics"])
        opt_values = _indexed(arrays, "o/")
        if opt_values:
            model._compiled("load_model")
            model._load_values(list(zip(model.optimizer.weights, opt_values)), f"load_model('{filepath}') optimizer",
                               len(model.optimizer.weights), len(opt_values))
    return model
