"""What `compile` adds to a model's graph: the label placeholder, the loss and metric heads of the training
and the inference pass, and the optimizer's update ops -- as fixed fetch lists that fit and evaluate run.

The sample-weighted heads (Keras's default reduction, sum_over_batch_size: sum(w * loss) / batch size) are
built on first use only, sharing the optimizer's slots, so unweighted training runs exactly the plain step.
"""
from .. import dtypes as _dt
from ..graph import control_dependencies
from ..ops import math_ops as M
from ..ops.array_ops import placeholder, reshape
from ..variables import group
from . import metrics as _metrics


class TrainingGraph:
    """`y` (the label placeholder), `names` ('loss' then the metrics), and the fetch lists `train`
    ([update op, loss, *metrics]) and `test` ([loss, *metrics])."""

    def __init__(self, model):
        self.model = model
        loss, n_out = model.loss, model.output_shape[-1]
        with model._graph.as_default():
            if loss.labels == "sparse":
                self.y = placeholder(_dt.int32, (None,), name="y_true")
            else:
                self.y = placeholder(_dt.float32, (None,) + tuple(model.output_shape[1:]), name="y_true")
            metrics = [_metrics.get(m, loss, n_out) for m in model._metric_names]

            self._extra = {training: _summed(model.regularization_losses(training)) for training in (True, False)}

            def heads(y_pred, logits, training):
                losses = loss.per_sample(self.y, y_pred, logits)
                return losses, self._total(M.reduce_mean(losses), training), \
                    [M.reduce_mean(fn(self.y, y_pred)) for _, fn in metrics]

            self._train_losses, train_loss, self._train_mets = heads(model._y_train, model._logits_train, True)
            self._test_losses, test_loss, self._test_mets = heads(model._y_pred, model._logits, False)
            self.train = [self._updates(train_loss, "train"), train_loss] + self._train_mets
            self.test = [test_loss] + self._test_mets
        self.names = ["loss"] + [name for name, _ in metrics]
        model._initialize(model.optimizer.weights)
        model.optimizer.attach(model._session)
        self._weighted = None

    def _total(self, data_loss, training):
        """The data loss plus the regularization and add_loss terms of the pass (what Keras trains on and
        reports)."""
        extra = self._extra[training]
        return data_loss if extra is None else data_loss + extra

    def _updates(self, loss, name):
        """The optimizer's step, then each constrained weight projected (Keras applies constraints after the
        update)."""
        updates = self.model.optimizer.get_updates(loss, self.model.trainable_weights)
        constrained = self.model.weight_constraints()
        if constrained:
            updated = _updated_values(updates)
            with control_dependencies(updates):
                updates = updates + [w.assign(c(updated.get(id(w), w.value())), name=f"{w.op.name}/Constraint")
                                     for w, c in constrained]
        return group(*updates, name=name)

    def weighted(self):
        """(sample-weight placeholder, train fetches, test fetches) with the weighted loss."""
        if self._weighted is None:
            with self.model._graph.as_default():
                w = placeholder(_dt.float32, (None,), name="sample_weight")

                def mean_weighted(losses):
                    rank = len(losses.shape)
                    if rank == 0:
                        raise ValueError(f"sample_weight/class_weight need a loss that gives one value per sample; "
                                         f"the loss '{self.model.loss.name}' returns a scalar")
                    return M.reduce_mean(losses * (w if rank == 1 else reshape(w, [-1] + [1] * (rank - 1))))

                train_loss = self._total(mean_weighted(self._train_losses), True)
                self._weighted = (w, [self._updates(train_loss, "train_weighted"), train_loss] + self._train_mets,
                                  [self._total(mean_weighted(self._test_losses), False)] + self._test_mets)
            self.model._initialize(self.model.optimizer.weights)
        return self._weighted


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
