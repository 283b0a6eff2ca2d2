"""Training a model: compile, fit, evaluate, predict and the single-batch calls. Each batch is one Session.run
of a fixed fetch list (compile_utils.TrainingGraph), so the loops build no graph; the data adapter turns the
user's arrays into those batches, and arguments.py checks the scalar arguments first.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike

from . import arguments as args
from . import callbacks as cbks
from . import data_adapter as data
from . import losses as _losses
from . import optimizers as _optimizers
from .compile_utils import TrainingGraph, output_heads

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..graph import Tensor
    from ..session import Session

# What fit, evaluate and predict take as x: array data (an ndarray, nested lists) or a tf.data Dataset of batches.
Data: TypeAlias = "ArrayLike | Dataset"
# What evaluate and the single-batch calls return: the loss as a float, [loss, *metrics] when compile had
# metrics, or with return_dict=True {name: value}; which one depends on compile, so a checker is told Any.
Scalars: TypeAlias = Any


def _scalars(values):
    return float(values[0]) if len(values) == 1 else [float(v) for v in values]


class Trainer:
    """The training half of a Model (mixed into it): needs `_build`, `_graph`, `_session`, `_xs`, `_y_preds`,
    `_y_trains` and their logits from the model's structure."""

    if TYPE_CHECKING:  # what the model provides (models.py), as its training methods read it
        _session: Session | None
        _xs: list[Tensor]
        _y_preds: list[Tensor]
        outputs: list[Any]

        def _ready(self) -> bool: ...

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer: str | _optimizers.Optimizer = "rmsprop", loss: Any = None,
                metrics: Sequence[str | Callable[..., Any]] | Mapping[str, Any] | None = None,
                loss_weights: Sequence[float] | Mapping[str, float] | None = None, **kwargs: Any) -> None:
        """`loss`: one loss for every output, a list (one per output) or a dict by output name (an output
        without a loss is not trained); `loss_weights` scale the outputs' losses in the total; `metrics`: a
        list for every output or a dict by output name."""
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = _optimizers.get(optimizer)
        if isinstance(loss, dict):
            self.loss = {k: None if v is None else _losses.get(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            self.loss = [None if v is None else _losses.get(v) for v in loss]
        else:
            self.loss = _losses.get(loss)
        self._loss_arg, self._loss_weights_arg = self.loss, loss_weights
        self._metrics_arg = metrics if isinstance(metrics, dict) else list(metrics or [])
        self._metric_names = self._metrics_arg  # what a saved model records
        self._train = None
        if self._ready():  # names, counts and metrics are checked now; the graph comes with the first use
            output_heads(self)

    @property
    def metrics_names(self) -> list[str]:
        """The names of what evaluate and the single-batch calls return, in order (Keras 2)."""
        return list(self._compiled("metrics_names").names)

    def _compiled(self, what):
        """The TrainingGraph, built on first use."""
        if self.loss is None:
            raise RuntimeError(f"you must compile the model before calling {what}, e.g. "
                               f"model.compile(optimizer='sgd', loss='categorical_crossentropy')")
        self._build()
        if self._train is None:
            self._train = TrainingGraph(self)
        return self._train

    # -- checked inputs ------------------------------------------------------------------
    def _check_x(self, x, what):
        self._build()
        return data.check_x(self, x, what)

    def _check_xy(self, x, y, what, sample_weight=None, class_weight=None):
        """(input arrays, target arrays of the trained outputs, their per-sample weights or None)."""
        xs = self._check_x(x, what)
        if y is None:
            raise ValueError(f"{what}: y (the targets) is required")
        n = len(xs[0])
        ys = data.check_y(self, y, n, what)
        ws = data.check_sample_weights(self, sample_weight, n, what)
        if class_weight is not None:
            ws = data.combine_weights(ws, data.class_weights(self, ys, class_weight, what))
        return xs, ys, ws

    def _feeds(self, ws):
        """(placeholders, train fetches, test fetches) for unweighted (ws None) or weighted batches."""
        t = self._train
        if ws is None:
            return self._xs + t.ys, t.train, t.test
        wph, train, test = t.weighted()
        return self._xs + t.ys + wph, train, test

    # -- the batch loop ------------------------------------------------------------------
    def _run_batches(self, fetches, placeholders, arrays, batch_size):
        """Sample-count-weighted means of scalar fetches over all batches (Keras's epoch averages)."""
        sums, n = np.zeros(len(fetches)), len(arrays[0])
        for i in data.batch_slices(n, batch_size):
            batch = [a[i:i + batch_size] for a in arrays]
            out = self._session.run(fetches, dict(zip(placeholders, batch)))
            sums += np.asarray(out, dtype=np.float64) * len(batch[0])
        return sums / max(n, 1)

    def _outputs(self, values):
        """One array for a model of one output, else the list (Keras's predict)."""
        return values[0] if len(values) == 1 else list(values)

    # -- predict -------------------------------------------------------------------------
    def predict(self, x: Data, batch_size: int | None = None, verbose: int = 0, steps: int | None = None) -> Any:
        """The outputs for x: an array, or a list of arrays for a model of several outputs."""
        if data.is_dataset(x):
            x, _, batch_size = data.from_dataset(x, None, steps, "predict")
        batch_size = args.batch_size("predict", batch_size)
        xs = self._check_x(x, "predict")
        if len(xs[0]) == 0:
            return self._outputs([np.zeros((0,) + tuple(t.shape[1:]), np.float32) for t in self.outputs])
        parts = [self._session.run(self._y_preds, dict(zip(self._xs, [a[i:i + batch_size] for a in xs])))
                 for i in data.batch_slices(len(xs[0]), batch_size)]
        return self._outputs([np.concatenate([p[k] for p in parts]) for k in range(len(self._y_preds))])

    def predict_on_batch(self, x: Any) -> Any:
        xs = data.check_nonempty(self._check_x(x, "predict_on_batch"), "predict_on_batch")
        return self._outputs(self._session.run(self._y_preds, dict(zip(self._xs, xs))))

    def predict_classes(self, x: Data, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        warnings.warn("predict_classes is deprecated (Keras removed it); use np.argmax(model.predict(x), "
                      "axis=-1), i.e. model.predict(...).argmax(-1), or (model.predict(x) > 0.5) for a "
                      "sigmoid output", DeprecationWarning, stacklevel=2)
        p = self.predict(x, batch_size, verbose)
        return p.argmax(-1) if p.shape[-1] > 1 else (p > 0.5).astype(np.int32)

    def predict_proba(self, x: Data, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        warnings.warn("predict_proba is deprecated (Keras removed it); use model.predict(x) — the class is "
                      "model.predict(...).argmax(-1)", DeprecationWarning, stacklevel=2)
        return self.predict(x, batch_size, verbose)

    # -- evaluate and single batches -----------------------------------------------------
    def evaluate(self, x: Data | None = None, y: ArrayLike | None = None, batch_size: int | None = None,
                 verbose: int = 0, sample_weight: ArrayLike | None = None, steps: int | None = None,
                 callbacks: Sequence[cbks.Callback] | None = None, return_dict: bool = False,
                 **kwargs: Any) -> Scalars:
        """The loss (sample-weighted when weights are given) and metrics over (x, y): a float, a list, or with
        return_dict=True a {name: value} dict."""
        if kwargs:
            raise TypeError(f"evaluate got unexpected arguments: {', '.join(sorted(kwargs))}")
        if data.is_dataset(x):
            x, y, batch_size = data.from_dataset(x, y, steps, "evaluate")
        batch_size, verbose = args.batch_size("evaluate", batch_size), args.verbose("evaluate", verbose)
        t = self._compiled("evaluate")
        xs, ys, ws = self._check_xy(x, y, "evaluate", sample_weight)
        data.check_nonempty(xs, "evaluate")
        placeholders, _, test = self._feeds(ws)
        res = self._run_batches(test, placeholders, xs + ys + (ws or []), batch_size)
        logs = {name: float(v) for name, v in zip(t.names, res)}
        if verbose:
            print(cbks.format_logs(logs)[3:])
        return logs if return_dict else _scalars(res)

    def _one_batch(self, what, x, y, sample_weight, class_weight, training):
        t = self._compiled(what)
        xs, ys, ws = self._check_xy(x, y, what, sample_weight, class_weight)
        data.check_nonempty(xs, what)
        placeholders, train, test = self._feeds(ws)
        out = self._session.run(train if training else test, dict(zip(placeholders, xs + ys + (ws or []))))
        return t, out[1:] if training else out

    def train_on_batch(self, x: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                       class_weight: Mapping[int, float] | None = None, return_dict: bool = False) -> Scalars:
        t, out = self._one_batch("train_on_batch", x, y, sample_weight, class_weight, True)
        return dict(zip(t.names, map(float, out))) if return_dict else _scalars(out)

    def test_on_batch(self, x: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None,
                      return_dict: bool = False) -> Scalars:
        t, out = self._one_batch("test_on_batch", x, y, sample_weight, None, False)
        return dict(zip(t.names, map(float, out))) if return_dict else _scalars(out)

    # -- fit -----------------------------------------------------------------------------
    def fit(self, x: Data | None = None, y: ArrayLike | None = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int = 1, callbacks: Sequence[cbks.Callback] | None = None, validation_split: float = 0.0,
            validation_data: Sequence[ArrayLike] | None = None, shuffle: bool = True,
            class_weight: Mapping[int, float] | None = None, sample_weight: ArrayLike | None = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None, **kwargs: Any) -> cbks.History:
        """Train for `epochs` epochs; returns the History (`.history` has loss, val_loss and metrics). With
        sample_weight and/or class_weight (multiplied), each batch's loss is sum(w * loss) / batch size."""
        if kwargs.get("nb_epoch") is not None:
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit got unexpected arguments: {', '.join(sorted(kwargs))}")
        if data.is_dataset(x):  # its batches, in its order, read once (TF's Keras does not shuffle a Dataset)
            x, y, batch_size = data.from_dataset(x, y, steps_per_epoch, "fit")
            shuffle = False
        elif steps_per_epoch is not None:
            raise NotImplementedError("fit(steps_per_epoch=...) needs x to be a Dataset; with arrays give batch_size")
        batch_size, verbose = args.batch_size("fit", batch_size), args.verbose("fit", verbose)
        epochs, initial_epoch = args.count("fit", "epochs", epochs, 0), args.count("fit", "initial_epoch",
                                                                                  initial_epoch, 0)
        validation_split = args.fraction("fit", "validation_split", validation_split)
        shuffle = args.flag("fit", "shuffle", shuffle)
        self._prepare_input_shape(x)
        t = self._compiled("fit")
        xs, ys, ws = self._check_xy(x, y, "fit", sample_weight, class_weight)
        val = None
        if validation_data is not None:
            val = data.unpack_validation_data(self, validation_data)
        elif validation_split:
            sizes = (len(xs), len(ys))
            train_arrays, val_arrays = data.train_validation_split(xs + ys + (ws or []), validation_split)
            xs, ys, rest = train_arrays[:sizes[0]], train_arrays[sizes[0]:sum(sizes)], train_arrays[sum(sizes):]
            ws = rest or None
            val = (val_arrays[:sizes[0]], val_arrays[sizes[0]:sum(sizes)], val_arrays[sum(sizes):] or None)
        n = len(xs[0])
        if n == 0:
            raise ValueError("fit: no training samples (x is empty, or validation_split took them all)")
        params = {"batch_size": batch_size, "epochs": epochs, "samples": n, "verbose": verbose,
                  "metrics": t.names + ["val_" + k for k in t.names] if val else t.names}
        callbacks = cbks.CallbackList(callbacks, self, params, cbks.ProgbarLogger() if verbose else None)
        if verbose:
            print(f"Train on {n} samples" + (f", validate on {len(val[0][0])} samples" if val else ""))
        self.stop_training = False
        callbacks.on_train_begin()
        *staged, to_device = self._training_data(xs, ys)
        weights = [w if to_device is None else to_device(w) for w in ws or []]
        train = data.TrainingData(staged + weights, to_device, batch_size, shuffle)
        placeholders, fetches, _ = self._feeds(ws)
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._fit_epoch(train, placeholders, fetches, callbacks.batch_callbacks)
            if val is not None:
                vph, _, vtest = self._feeds(val[2])
                res = self._run_batches(vtest, vph, val[0] + val[1] + (val[2] or []), batch_size)
                logs.update({"val_" + nm: float(v) for nm, v in zip(t.names, res)})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end()
        self.history = callbacks.history
        return self.history

    def _fit_epoch(self, train, placeholders, fetches, batch_cbs):
        """One pass over the training batches; the epoch's logs (batch-size-weighted means). A batch callback
        that sets `stop_training` (TerminateOnNaN) ends the epoch after its batch."""
        run, names = self._session.run, self._train.names
        sums, seen = np.zeros(len(names)), 0
        for b, batch in enumerate(train.epoch()):
            k = len(batch[0])
            if batch_cbs:
                for cb in batch_cbs:
                    cb.on_batch_begin(b, {"batch": b, "size": k})
            out = run(fetches, dict(zip(placeholders, batch)))
            for m in range(len(names)):
                sums[m] += out[m + 1] * k
            seen += k
            if batch_cbs:
                logs = {"batch": b, "size": k, **{nm: float(v) for nm, v in zip(names, out[1:])}}
                for cb in batch_cbs:
                    cb.on_batch_end(b, logs)
                if self.stop_training:
                    break
        return {nm: float(v) for nm, v in zip(names, sums / seen)}

    def _training_data(self, xs, ys) -> tuple[Any, ...]:
        """(*input arrays, *target arrays, to_device): the training set staged on the session's device where
        that pays."""
        return data.stage_on_device(self._session, list(xs) + list(ys))

    def _prepare_input_shape(self, x):
        pass
