"""Training a model: compile (loss, metrics and optimizer updates as graph ops, built once), fit, evaluate,
predict and the single-batch calls. Each batch is one Session.run of a fixed fetch list, so the loop builds
no graph; the data adapter turns the user's arrays into those batches.
"""
import warnings

import numpy as np

from .. import dtypes as _dt
from ..ops import math_ops as M
from ..ops.array_ops import placeholder
from ..variables import group
from . import callbacks as cbks
from . import data_adapter as data
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers


def _scalars(values):
    return float(values[0]) if len(values) == 1 else [float(v) for v in values]


class Trainer:
    """The training half of a Model (mixed into it): needs `_build`, `_graph`, `_session`, `_x`, `_y_pred`,
    `_y_train` and their logits from the model's structure."""

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
        self.optimizer.attach(self._session)
        names = ["loss"] + [n for n, _ in train_mets]
        self._train = {"y": y, "names": names,
                       "train": [train_op, train_loss] + [t for _, t in train_mets],
                       "test": [test_loss] + [t for _, t in test_mets]}

    # -- checked inputs ------------------------------------------------------------------
    def _check_x(self, x, what):
        self._build()
        return data.check_x(self, x, what)

    def _check_xy(self, x, y, what):
        x = self._check_x(x, what)
        return x, data.check_y(self, y, len(x), what)

    # -- the batch loop ------------------------------------------------------------------
    def _run_batches(self, fetches, x, y, batch_size):
        """Sample-weighted means of scalar fetches over all batches."""
        t = self._train
        sums, n = np.zeros(len(fetches)), len(x)
        for i in data.batch_slices(n, batch_size):
            feed = {self._x: x[i:i + batch_size]}
            if y is not None:
                feed[t["y"]] = y[i:i + batch_size]
            out = self._session.run(fetches, feed)
            sums += np.asarray(out, dtype=np.float64) * len(feed[self._x])
        return sums / max(n, 1)

    # -- predict -------------------------------------------------------------------------
    def predict(self, x, batch_size=32, verbose=0, steps=None):
        x = self._check_x(x, "predict")
        if len(x) == 0:
            return np.zeros((0,) + tuple(self.output_shape[1:]), np.float32)
        return np.concatenate([self._session.run(self._y_pred, {self._x: x[i:i + batch_size]})
                               for i in data.batch_slices(len(x), batch_size)])

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

    # -- evaluate and single batches -----------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, **kwargs):
        t = self._compiled("evaluate")
        x, y = self._check_xy(x, y, "evaluate")
        res = self._run_batches(t["test"], x, y, batch_size)
        if verbose:
            print(cbks.format_logs(dict(zip(t["names"], res)))[3:])
        return _scalars(res)

    def train_on_batch(self, x, y):
        t = self._compiled("train_on_batch")
        x, y = self._check_xy(x, y, "train_on_batch")
        return _scalars(self._session.run(t["train"], {self._x: x, t["y"]: y})[1:])

    def test_on_batch(self, x, y):
        t = self._compiled("test_on_batch")
        x, y = self._check_xy(x, y, "test_on_batch")
        return _scalars(self._session.run(t["test"], {self._x: x, t["y"]: y}))

    # -- fit -----------------------------------------------------------------------------
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
        x, y = self._check_xy(x, y, "fit")
        batch_size = int(batch_size or 32)
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be positive, got {batch_size}")
        val = None
        if validation_data is not None:
            val = data.unpack_validation_data(self, validation_data)
        elif validation_split:
            x, y, val = data.train_validation_split(x, y, validation_split)
        if len(x) == 0:
            raise ValueError("fit: no training samples (x is empty, or validation_split took them all)")
        params = {"batch_size": batch_size, "epochs": epochs, "samples": len(x), "verbose": verbose,
                  "metrics": t["names"] + ["val_" + k for k in t["names"]] if val else t["names"]}
        callbacks = cbks.CallbackList(callbacks, self, params, cbks.ProgbarLogger() if verbose else None)
        if verbose:
            print(f"Train on {len(x)} samples" + (f", validate on {len(val[0])} samples" if val else ""))
        self.stop_training = False
        callbacks.on_train_begin()
        train = data.TrainingData(*self._training_data(x, y), batch_size, shuffle)
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._fit_epoch(train, callbacks.batch_callbacks)
            if val is not None:
                res = self._run_batches(t["test"], val[0], val[1], batch_size)
                logs.update({"val_" + nm: float(v) for nm, v in zip(t["names"], res)})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end()
        self.history = callbacks.history
        return self.history

    def _fit_epoch(self, train, batch_cbs):
        """One pass over the training batches; the epoch's logs (batch-size-weighted means). A batch callback
        that sets `stop_training` (TerminateOnNaN) ends the epoch after its batch."""
        t = self._train
        run, xph, yph, fetches, names = self._session.run, self._x, t["y"], t["train"], t["names"]
        sums, seen = np.zeros(len(names)), 0
        for b, (bx, by) in enumerate(train.epoch()):
            if batch_cbs:
                for cb in batch_cbs:
                    cb.on_batch_begin(b, {"batch": b, "size": len(bx)})
            out = run(fetches, {xph: bx, yph: by})
            k = len(bx)
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

    def _training_data(self, x, y):
        """(x, y, to_device): the training set staged on the session's device where that pays."""
        return data.stage_on_device(self._session, x, y)

    def _prepare_input_shape(self, x):
        pass
