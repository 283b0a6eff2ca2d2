"""What `compile` adds to a model's graph: a label placeholder per trained output, the loss and metric heads
of the training and the inference pass, and the optimizer's update ops -- as fixed fetch lists that fit and
evaluate run. The compile arguments (one loss for all outputs, a list, or a dict by output name; loss_weights;
metrics) are resolved per output here (`per_output`).

The sample-weighted heads (Keras's default reduction, sum_over_batch_size: sum(w * loss) / batch size) are
built on first use only, sharing the optimizer's slots, so unweighted training runs exactly the plain step.
"""
import math

from .. import dtypes as _dt
from ..graph import control_dependencies
from ..ops import math_ops as M
from ..ops.array_ops import placeholder, reshape
from ..variables import group
from . import losses as _losses
from . import metrics as _metrics


def per_output(value, names, keys, what, default):
    """`value` (one setting for all outputs, a list in output order, or a dict by output name) as a list
    with one entry per output; a dict leaves the outputs it does not name at `default`."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"compile: {what} names the output '{unknown[0]}', but the model's outputs are "
                             f"{', '.join(names)}")
        out = [default] * len(names)
        for k, v in value.items():
            out[keys[k]] = v
        return out
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} has {len(value)} entries, but the model has {len(names)} outputs "
                             f"({', '.join(names)}); give one per output or a dict by output name")
        return list(value)
    return [value] * len(names)


class OutputHead:
    """One trained output: its name, position, loss, loss weight, metrics and label placeholder."""

    def __init__(self, name, index, shape, loss, weight, metric_ids):
        self.name, self.index, self.shape, self.loss, self.weight = name, index, tuple(shape), loss, weight
        self.metrics = [_metrics.get(m, loss, shape[-1]) for m in metric_ids]


def output_heads(model):
    """The OutputHeads of the model's outputs that have a loss (checks the compile arguments)."""
    names, keys = model.output_names, model._output_keys
    losses = per_output(model._loss_arg, names, keys, "loss", None)
    weights = per_output(model._loss_weights_arg if model._loss_weights_arg is not None else 1.0, names, keys,
                         "loss_weights", 1.0)
    metrics = model._metrics_arg
    if isinstance(metrics, dict):
        metrics = per_output(metrics, names, keys, "metrics", [])
    else:  # a list of metrics is applied to every output (Keras 2)
        metrics = [list(metrics or [])] * len(names)
    heads = []
    for i, (name, loss, weight, mets) in enumerate(zip(names, losses, weights, metrics)):
        if loss is None:
            continue
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ValueError(f"compile: loss_weights for output '{name}' must be a finite number, got {weight!r:.40}")
        heads.append(OutputHead(name, i, model.outputs[i].shape, _losses.get(loss), float(weight),
                                mets if isinstance(mets, (list, tuple)) else [mets]))
    if not heads:
        raise ValueError(f"compile: no output of the model has a loss (outputs: {', '.join(names)})")
    return heads


class TrainingGraph:
    """`heads` (the trained outputs), `ys` (their label placeholders), `names` ('loss', then per output
    '<output>_loss' when the model has several outputs, then the metrics, '<output>_<metric>' there), and
    the fetch lists `train` ([update op, loss, ...]) and `test` ([loss, ...])."""

    def __init__(self, model):
        self.model = model
        self.heads = output_heads(model)
        multi = len(model.outputs) > 1
        with model._graph.as_default():
            self.ys = [placeholder(_dt.int32, (None,), name=f"{h.name}_target" if multi else "y_true")
                       if h.loss.labels == "sparse" else
                       placeholder(_dt.float32, (None,) + h.shape[1:], name=f"{h.name}_target" if multi else "y_true")
                       for h in self.heads]
            self._extra = {training: _summed(model.regularization_losses(training)) for training in (True, False)}
            self._per_sample, self._metrics = {}, {}
            for training in (True, False):
                preds = model._y_trains if training else model._y_preds
                logits = model._logits_train if training else model._logits
                self._per_sample[training] = [h.loss.per_sample(y, preds[h.index], logits[h.index])
                                              for h, y in zip(self.heads, self.ys)]
                self._metrics[training] = [M.reduce_mean(fn(y, preds[h.index])) for h, y in zip(self.heads, self.ys)
                                           for _, fn in h.metrics]
            train, test = self._fetches(True, _mean), self._fetches(False, _mean)
            self.train = [self._updates(train[0], "train")] + train
            self.test = test
        self.names = ["loss"] + ([f"{h.name}_loss" for h in self.heads] if multi else []) + \
            [f"{h.name}_{m}" if multi else m for h in self.heads for m, _ in h.metrics]
        model._initialize(model.optimizer.weights)
        model.optimizer.attach(model._session)
        self._weighted = None

    def _fetches(self, training, reduce):
        """[total loss, per-output losses (several outputs), metrics]; `reduce(per-sample losses, head index)`
        gives an output's batch loss."""
        means = [reduce(losses, i) for i, losses in enumerate(self._per_sample[training])]
        terms = [m if h.weight == 1.0 else m * h.weight for h, m in zip(self.heads, means)]
        data_loss = terms[0] if len(terms) == 1 else M.add_n(terms)
        extra = self._extra[training]
        total = data_loss if extra is None else data_loss + extra  # what Keras trains on and reports
        return [total] + (means if len(self.model.outputs) > 1 else []) + self._metrics[training]

    def _updates(self, loss, name):
        """The optimizer's step, then each constrained weight projected (Keras applies constraints after the
        update)."""
        updates = self.model.optimizer.get_updates(loss, self._trained_weights())
        constrained = self.model.weight_constraints()
        if constrained:
            updated = _updated_values(updates)
            with control_dependencies(updates):
                updates = updates + [w.assign(c(updated.get(id(w), w.value())), name=f"{w.op.name}/Constraint")
                                     for w, c in constrained]
        return group(*updates, name=name)

    def _trained_weights(self):
        """The trainable weights of the layers the trained outputs depend on (all of them unless an output
        has no loss), and of layers with weight regularizers (their terms are part of the loss)."""
        model = self.model
        if len(self.heads) == len(model.outputs):
            return model.trainable_weights
        used, seen = set(), set()
        todo = [model.outputs[h.index] for h in self.heads]
        while todo:
            t = todo.pop()
            if id(t) not in seen:
                seen.add(id(t))
                used.add(id(t.layer))
                todo.extend(t.inputs)
        return [w for layer in model.layers if id(layer) in used or layer._weight_losses
                for w in layer.weights if w.trainable]

    def weighted(self):
        """(a sample-weight placeholder per head, train fetches, test fetches) with the weighted losses."""
        if self._weighted is None:
            multi = len(self.model.outputs) > 1
            with self.model._graph.as_default():
                ws = [placeholder(_dt.float32, (None,), name=f"{h.name}_sample_weights" if multi else "sample_weight")
                      for h in self.heads]

                def mean_weighted(losses, i):
                    rank = len(losses.shape)
                    if rank == 0:
                        raise ValueError(f"sample_weight/class_weight need a loss that gives one value per sample; "
                                         f"the loss '{self.heads[i].loss.name}' returns a scalar")
                    w = ws[i]
                    return M.reduce_mean(losses * (w if rank == 1 else reshape(w, [-1] + [1] * (rank - 1))))

                train = self._fetches(True, mean_weighted)
                self._weighted = (ws, [self._updates(train[0], "train_weighted")] + train,
                                  self._fetches(False, mean_weighted))
            self.model._initialize(self.model.optimizer.weights)
        return self._weighted


def _mean(losses, head_index):
    return M.reduce_mean(losses)


def _summed(terms):
    """One scalar for the loss terms (None when there are none, so an unregularized model trains exactly
    as before)."""
    if not terms:
        return None
    terms = [M.cast(t, _dt.float32) if t.dtype != _dt.float32 else t for t in terms]
    terms = [M.reduce_sum(t) if len(t.shape) else t for t in terms]
    return terms[0] if len(terms) == 1 else M.add_n(terms)


def _updated_values(updates):
    """{id(variable): the tensor its update assigns}: a constraint projects that value, not a second read of
    the variable (which the compiler may merge with a read made before the update, e.g. a regularizer's)."""
    return {id(t.op.attrs["variable"]): t for t in updates
            if getattr(t, "op", None) is not None and t.op.type in ("Assign", "AssignAdd", "AssignSub")
            and "variable" in t.op.attrs}
