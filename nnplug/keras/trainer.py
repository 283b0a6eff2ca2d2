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
from . import metrics as _metrics
from . import optimizers as _optimizers
from .compile_utils import TrainingGraph

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
    """The training half of a Model (mixed into it): needs `_build`, `_graph`, `_session`, `_x`, `_y_pred`,
    `_y_train` and their logits from the model's structure."""

    if TYPE_CHECKING:  # what the model provides (models.py), as its training methods read it
        _session: Session | None
        _x: Tensor
        _y_pred: Tensor

        @property
        def output_shape(self) -> tuple[int | None, ...]: ...

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer: str | _optimizers.Optimizer = "rmsprop", loss: str | Callable[..., Any] | None = None,
                metrics: Sequence[str | Callable[..., Any]] | None = None, loss_weights: Any = None,
                **kwargs: Any) -> None:
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
        """x, y and the per-sample weights (None when neither weights argument is given)."""
        x = self._check_x(x, what)
        if y is None:
            raise ValueError(f"{what}: y (the targets) is required")
        y = data.check_y(self, y, len(x), what)
        w = data.check_sample_weight(sample_weight, len(x), what)
        if class_weight is not None:
            w = data.combine_weights(w, data.class_sample_weights(self, y, class_weight, what))
        return x, y, w

    def _feeds(self, w):
        """(placeholders, train fetches, test fetches) for unweighted (w None) or weighted batches."""
        t = self._train
        if w is None:
            return (self._x, t.y), t.train, t.test
        wph, train, test = t.weighted()
        return (self._x, t.y, wph), train, test

    # -- the batch loop ------------------------------------------------------------------
    def _run_batches(self, fetches, placeholders, arrays, batch_size):
        """Sample-count-weighted means of scalar fetches over all batches (Keras's epoch averages)."""
        sums, n = np.zeros(len(fetches)), len(arrays[0])
        for i in data.batch_slices(n, batch_size):
            batch = [a[i:i + batch_size] for a in arrays]
            out = self._session.run(fetches, dict(zip(placeholders, batch)))
            sums += np.asarray(out, dtype=np.float64) * len(batch[0])
        return sums / max(n, 1)

    # -- predict -------------------------------------------------------------------------
    def predict(self, x: Data, batch_size: int | None = None, verbose: int = 0, steps: int | None = None) -> np.ndarray:
        if data.is_dataset(x):
            x, _, batch_size = data.from_dataset(x, None, steps, "predict")
        batch_size = args.batch_size("predict", batch_size)
        x = self._check_x(x, "predict")
        if len(x) == 0:
            return np.zeros((0,) + tuple(self.output_shape[1:]), np.float32)
        return np.concatenate([self._session.run(self._y_pred, {self._x: x[i:i + batch_size]})
                               for i in data.batch_slices(len(x), batch_size)])

    def predict_on_batch(self, x: ArrayLike) -> np.ndarray:
        x = data.check_nonempty(self._check_x(x, "predict_on_batch"), "predict_on_batch")
        return self._session.run(self._y_pred, {self._x: x})

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
        x, y, w = self._check_xy(x, y, "evaluate", sample_weight)
        data.check_nonempty(x, "evaluate")
        placeholders, _, test = self._feeds(w)
        res = self._run_batches(test, placeholders, [x, y] if w is None else [x, y, w], batch_size)
        logs = {name: float(v) for name, v in zip(t.names, res)}
        if verbose:
            print(cbks.format_logs(logs)[3:])
        return logs if return_dict else _scalars(res)

    def _one_batch(self, what, x, y, sample_weight, class_weight, training):
        t = self._compiled(what)
        x, y, w = self._check_xy(x, y, what, sample_weight, class_weight)
        data.check_nonempty(x, what)
        placeholders, train, test = self._feeds(w)
        arrays = (x, y) if w is None else (x, y, w)
        out = self._session.run(train if training else test, dict(zip(placeholders, arrays)))
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
        x, y, w = self._check_xy(x, y, "fit", sample_weight, class_weight)
        val = None
        if validation_data is not None:
            val = data.unpack_validation_data(self, validation_data)
        elif validation_split:
            (x, y, w), val = data.train_validation_split([x, y, w], validation_split)
        if len(x) == 0:
            raise ValueError("fit: no training samples (x is empty, or validation_split took them all)")
        params = {"batch_size": batch_size, "epochs": epochs, "samples": len(x), "verbose": verbose,
                  "metrics": t.names + ["val_" + k for k in t.names] if val else t.names}
        callbacks = cbks.CallbackList(callbacks, self, params, cbks.ProgbarLogger() if verbose else None)
        if verbose:
            print(f"Train on {len(x)} samples" + (f", validate on {len(val[0])} samples" if val else ""))
        self.stop_training = False
        callbacks.on_train_begin()
        train = data.TrainingData(*self._training_data(x, y), batch_size, shuffle, w)
        placeholders, fetches, _ = self._feeds(w)
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._fit_epoch(train, placeholders, fetches, callbacks.batch_callbacks)
            if val is not None:
                vph, _, vtest = self._feeds(val[2])
                res = self._run_batches(vtest, vph, [a for a in val if a is not None], batch_size)
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

    def _training_data(self, x, y) -> tuple[np.ndarray, np.ndarray, Callable[..., Any] | None]:
        """(x, y, to_device): the training set staged on the session's device where that pays."""
        return data.stage_on_device(self._session, x, y)

    def _prepare_input_shape(self, x):
        pass
