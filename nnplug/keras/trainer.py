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
        if _is_generator(x):
            return self.predict_generator(x, steps)
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
        if _is_generator(x):
            _no_y_with_generator("evaluate", y, sample_weight)
            return self.evaluate_generator(x, steps, **_ignored_worker_args(kwargs))
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
        if _is_generator(x):  # Keras 2.2.5+: fit takes a generator or Sequence as fit_generator does
            _no_y_with_generator("fit", y, sample_weight)
            return self.fit_generator(x, steps_per_epoch, epochs, verbose, callbacks, validation_data,
                                      kwargs.pop("validation_steps", None), class_weight=class_weight, shuffle=shuffle,
                                      initial_epoch=initial_epoch, **_ignored_worker_args(kwargs))
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
        *staged, to_device = self._training_data(xs, ys)
        weights = [w if to_device is None else to_device(w) for w in ws or []]
        train = data.TrainingData(staged + weights, to_device, batch_size, shuffle)
        placeholders, fetches, _ = self._feeds(ws)

        def validate():
            vph, _, vtest = self._feeds(val[2])
            return self._run_batches(vtest, vph, val[0] + val[1] + (val[2] or []), batch_size)
        return self._fit_loop(callbacks, initial_epoch, epochs, lambda: ((placeholders, fetches, b) for b in train.epoch()),
                              validate if val is not None else None)

    def _fit_loop(self, callbacks, initial_epoch, epochs, epoch_feeds, validate):
        """The epochs of fit: `epoch_feeds()` gives an epoch's (placeholders, fetches, batch) triples,
        `validate()` (or None) the validation means."""
        self.stop_training = False
        callbacks.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callbacks.on_epoch_begin(epoch)
            logs = self._fit_epoch(epoch_feeds(), callbacks.batch_callbacks)
            if validate is not None:
                logs.update({"val_" + nm: float(v) for nm, v in zip(self._train.names, validate())})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end()
        self.history = callbacks.history
        return self.history

    def _fit_epoch(self, feeds, batch_cbs):
        """One pass over the training batches; the epoch's logs (batch-size-weighted means). A batch callback
        that sets `stop_training` (TerminateOnNaN) ends the epoch after its batch."""
        run, names = self._session.run, self._train.names
        sums, seen = np.zeros(len(names)), 0
        for b, (placeholders, fetches, batch) in enumerate(feeds):
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

    # -- generators and Sequences (Keras 2's *_generator) ---------------------------------
    def _checked_batch(self, item, step, what, class_weight=None):
        """(xs, ys, ws) of one generator item (x, y) or (x, y, sample_weight), checked; errors name the step."""
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            raise ValueError(f"{what}: step {step}: the generator must yield (x, y) or (x, y, sample_weight) "
                             f"tuples, got {type(item).__name__}" + (f" of {len(item)}" if isinstance(item, tuple) else ""))
        x, y, sw = item if len(item) == 3 else (*item, None)
        self._prepare_input_shape(np.asarray(x) if not isinstance(x, (list, tuple, dict)) else None)
        self._compiled(what)
        return self._check_xy(x, y, f"{what}: step {step}", sw, class_weight)

    def _evaluate_batches(self, batches, what):
        """Batch-size-weighted means of the loss and metrics over one epoch of `batches`."""
        t = self._compiled(what)
        sums, n = np.zeros(len(t.names)), 0
        for step, item in batches.epoch():
            xs, ys, ws = self._checked_batch(item, step, what)
            placeholders, _, test = self._feeds(ws)
            sums += np.asarray(self._session.run(test, dict(zip(placeholders, xs + ys + (ws or [])))), np.float64) * len(xs[0])
            n += len(xs[0])
        return sums / n

    def fit_generator(self, generator: Any, steps_per_epoch: int | None = None, epochs: int = 1, verbose: int = 1,
                      callbacks: Sequence[cbks.Callback] | None = None, validation_data: Any = None,
                      validation_steps: int | None = None, validation_freq: int = 1,
                      class_weight: Mapping[int, float] | None = None, max_queue_size: int = 10, workers: int = 1,
                      use_multiprocessing: bool = False, shuffle: bool = True, initial_epoch: int = 0) -> cbks.History:
        """Train on the batches of a Python generator (read on across epochs) or a keras.utils.Sequence (its
        batches in order, or shuffled with shuffle=True); batches are read in this process (workers and
        use_multiprocessing are accepted and ignored)."""
        what = "fit_generator"
        batches = _Batches(generator, steps_per_epoch, "steps_per_epoch", what, shuffle)
        verbose = args.verbose(what, verbose)
        epochs = args.count(what, "epochs", epochs, 0)
        initial_epoch = args.count(what, "initial_epoch", initial_epoch, 0)
        if not self._ready():  # a Sequential without an input shape is built from the first batch
            self._checked_batch(batches.peek(), 0, what, class_weight)
        t = self._compiled(what)
        validate = None
        if validation_data is not None and _is_generator(validation_data):
            val_batches = _Batches(validation_data, validation_steps, "validation_steps", f"{what} (validation)", False)
            validate = lambda: self._evaluate_batches(val_batches, f"{what} (validation)")
        elif validation_data is not None:
            val = data.unpack_validation_data(self, validation_data)

            def validate():
                vph, _, vtest = self._feeds(val[2])
                return self._run_batches(vtest, vph, val[0] + val[1] + (val[2] or []), args.DEFAULT_BATCH_SIZE)
        names = t.names + ["val_" + k for k in t.names] if validate else t.names
        # ProgbarLogger counts params["samples"] / batch_size; here its units are steps of one
        params = {"epochs": epochs, "steps": batches.steps, "samples": batches.steps, "batch_size": 1,
                  "verbose": verbose, "metrics": names}
        callbacks = cbks.CallbackList(callbacks, self, params,
                                      cbks.ProgbarLogger(count_mode="steps") if verbose else None)

        def epoch_feeds():
            for step, item in batches.epoch():
                xs, ys, ws = self._checked_batch(item, step, what, class_weight)
                placeholders, fetches, _ = self._feeds(ws)
                yield placeholders, fetches, xs + ys + (ws or [])
        return self._fit_loop(callbacks, initial_epoch, epochs, epoch_feeds, validate)

    def evaluate_generator(self, generator: Any, steps: int | None = None, callbacks: Any = None,
                           max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                           verbose: int = 0) -> Scalars:
        """The loss and metrics over `steps` batches of a generator or Sequence (batch-size-weighted means)."""
        return _scalars(self._evaluate_batches(_Batches(generator, steps, "steps", "evaluate_generator", False),
                                               "evaluate_generator"))

    def predict_generator(self, generator: Any, steps: int | None = None, callbacks: Any = None,
                          max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                          verbose: int = 0) -> Any:
        """The outputs for `steps` batches of a generator or Sequence yielding x (or (x, y[, w]), whose x is used)."""
        what = "predict_generator"
        parts = []
        for step, item in _Batches(generator, steps, "steps", what, False).epoch():
            x = item[0] if isinstance(item, tuple) else item
            self._prepare_input_shape(np.asarray(x) if not isinstance(x, (list, tuple, dict)) else None)
            xs = data.check_nonempty(self._check_x(x, f"{what}: step {step}"), f"{what}: step {step}")
            parts.append(self._session.run(self._y_preds, dict(zip(self._xs, xs))))
        return self._outputs([np.concatenate([p[k] for p in parts]) for k in range(len(self._y_preds))])


def _no_y_with_generator(what, y, sample_weight):
    if y is not None or sample_weight is not None:
        raise ValueError(f"{what}: y and sample_weight must be None when x is a generator or Sequence (it yields "
                         f"(x, y) or (x, y, sample_weight))")


def _ignored_worker_args(kwargs):
    """workers, use_multiprocessing and max_queue_size (accepted, batches are read in this process); any
    other keyword is a TypeError naming it."""
    known = {k: kwargs.pop(k) for k in ("workers", "use_multiprocessing", "max_queue_size") if k in kwargs}
    if kwargs:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
    return known


def _is_sequence(source):
    return hasattr(source, "__getitem__") and hasattr(source, "__len__") and hasattr(source, "on_epoch_end")


def _is_generator(source):
    """A Python generator/iterator or a keras.utils.Sequence (not arrays, lists or tuples of arrays)."""
    return _is_sequence(source) or (hasattr(source, "__next__") and hasattr(source, "__iter__"))


class _Batches:
    """`steps` items per epoch of a Sequence (by index, cycling; shuffled with shuffle=True; on_epoch_end
    after each epoch) or of a generator (read on across epochs; ending early is an error naming the step)."""

    def __init__(self, source, steps, steps_name, what, shuffle):
        if not _is_generator(source):
            raise TypeError(f"{what}: expected a Python generator or a keras.utils.Sequence, got "
                            f"{type(source).__name__}")
        self.source, self.what, self.sequence = source, what, _is_sequence(source)
        if steps is None:
            if not self.sequence:
                raise ValueError(f"{what}: {steps_name} is required with a generator (it has no length and may "
                                 f"never end)")
            steps = len(source)
        self.steps = args.count(what, steps_name, steps, 1)
        self.shuffle = args.flag(what, "shuffle", shuffle)
        self._pending = None

    def peek(self):
        """The first item, kept for the first epoch."""
        if self._pending is None:
            self._pending = self.source[0] if self.sequence else self._next(0)
        return self._pending

    def _next(self, step):
        try:
            return next(self.source)
        except StopIteration:
            raise ValueError(f"{self.what}: the generator ended at step {step} of {self.steps}; it must yield "
                             f"at least steps batches per epoch (loop it with `while True`)") from None

    def epoch(self):
        if self.sequence:
            n = len(self.source)
            order = np.random.permutation(n) if self.shuffle else np.arange(n)
            for step in range(self.steps):
                i = int(order[step % n])
                item = self._pending if (step == 0 and i == 0 and self._pending is not None) else self.source[i]
                self._pending = None
                yield step, item
            self.source.on_epoch_end()
        else:
            for step in range(self.steps):
                item, self._pending = (self._pending, None) if self._pending is not None else (self._next(step), None)
                yield step, item
