"""The callback interface, the list fit drives, and History (which fit always adds, last)."""


class Callback:
    """Hooks into fit; `self.model` is the model being trained, `self.params` fit's settings."""

    def __init__(self):
        self.model, self.params = None, {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def wants_batches(self):
        """Whether fit must call the per-batch hooks (it skips building batch logs when no callback does)."""
        return type(self).on_batch_begin is not Callback.on_batch_begin or \
            type(self).on_batch_end is not Callback.on_batch_end


class History(Callback):
    """Records every epoch's logs: `history.history['loss']`, `['val_loss']`, one list per metric."""

    def __init__(self):
        super().__init__()
        self.epoch, self.history = [], {}

    def on_train_begin(self, logs=None):
        self.epoch, self.history = [], {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class CallbackList:
    """fit's callbacks in Keras's order: the progress bar first (when verbose and none is given), the user's,
    then History last, so it records what the others added to the logs (e.g. 'lr')."""

    def __init__(self, callbacks, model, params, progbar=None):
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be keras.callbacks.Callback objects, got {cb!r}")
        if progbar is not None and not any(type(cb) is type(progbar) for cb in callbacks):
            callbacks.insert(0, progbar)
        self.history = History()
        self.callbacks = callbacks + [self.history]
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.batch_callbacks = []

    def on_train_begin(self):
        for cb in self.callbacks:
            cb.on_train_begin({})
        self.batch_callbacks = [cb for cb in self.callbacks if cb.wants_batches()]

    def on_train_end(self):
        for cb in self.callbacks:
            cb.on_train_end({})

    def on_epoch_begin(self, epoch):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, {})

    def on_epoch_end(self, epoch, logs):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
