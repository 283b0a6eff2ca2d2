"""Keras callbacks and fit's progress output against what Keras documents: each callback's effect on a small
fit (learning rates applied per epoch, when training stops, which files and rows are written), and the exact
bytes the progress logger writes to a non-terminal stream."""
import contextlib
import csv
import io
import re

import numpy as np
import pytest

from nnplug import keras
from nnplug.keras.callbacks import progbar_logger
from test_keras import blobs, mlp

L = keras.layers


# -- callbacks --------------------------------------------------------------------------------
class _Scripted(keras.callbacks.Callback):
    """Overwrites the logged val_loss with a scripted sequence, to drive the monitoring callbacks."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_patience_and_restore_best_weights():
    x, y = blobs()
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.1), "sparse_categorical_crossentropy")
    snapshots = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(m.get_weights()))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=10, verbose=0, callbacks=[_Scripted([5, 3, 4, 4, 1, 1]), keep, stop])
    assert h.epoch == [0, 1, 2, 3]  # best at epoch 1, two epochs without improvement
    for a, b in zip(m.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = blobs()
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    saved = []
    ck = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.npz"), save_best_only=True)
    note = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: saved.append(sorted(
        p.name for p in tmp_path.iterdir())))
    m.fit(x, y, epochs=4, verbose=0, callbacks=[_Scripted([3, 2, 2.5, 1]), ck, note])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01.npz", "m-02.npz", "m-04.npz"]
    keras.models.load_model(tmp_path / "m-04.npz")


def test_lambda_callback_and_csv_logger(tmp_path):
    x, y = blobs()
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    events = []
    cb = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                        on_epoch_end=lambda e, logs: events.append(e),
                                        on_train_end=lambda logs: events.append("end"))
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[cb, keras.callbacks.CSVLogger(tmp_path / "log.csv")],
              validation_split=0.2)
    assert events == ["begin", 0, 1, 2, "end"]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[2]["val_loss"]) == pytest.approx(h.history["val_loss"][2])
    assert set(rows[0]) == {"epoch", "loss", "acc", "val_loss", "val_acc"}


def test_early_stopping_never_stops_after_the_first_epoch_alone_and_honours_a_baseline():
    x, y = blobs(40)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[_Scripted([5, 6, 7, 8, 9]),
                                                     keras.callbacks.EarlyStopping(patience=0)])
    assert h.epoch == [0, 1]  # patience 0: the first epoch without improvement stops, but not epoch 0
    # improving epochs that do not beat the baseline do not reset the wait (tf.keras 2)
    h = m.fit(x, y, epochs=6, verbose=0, callbacks=[_Scripted([5, 4, 3, 1, 1, 1]),
                                                     keras.callbacks.EarlyStopping(patience=2, baseline=2)])
    assert h.epoch == [0, 1]
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_acc'.*available: loss"):
        m.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.EarlyStopping(monitor="val_acc")])


def test_csv_logger_append_continues_without_a_second_header(tmp_path):
    x, y = blobs(40)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    path = tmp_path / "log.csv"
    m.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger(path)])
    h = m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss" and len(lines) == 4 and lines[3].startswith("0,")
    assert float(lines[3].split(",")[1]) == pytest.approx(h.history["loss"][0])


# -- learning rates -----------------------------------------------------------------------------
def _linear(lr, n_in=3):
    m = keras.Sequential([L.Dense(1, input_dim=n_in)])
    rng = np.random.RandomState(0)
    m.set_weights([rng.randn(n_in, 1).astype(np.float32), np.zeros(1, np.float32)])
    m.compile(keras.optimizers.SGD(learning_rate=lr), "mse")
    return m


def _sgd_steps(w, b, x, y, lrs):
    """float64 plain SGD on mse, one full batch per epoch."""
    for lr in lrs:
        err = x @ w + b - y
        w, b = w - lr * 2 * x.T @ err / len(x), b - lr * 2 * err.sum(0) / len(x)
    return w, b


def test_learning_rate_scheduler_applies_the_schedule_each_epoch():
    rng = np.random.RandomState(1)
    x, y = rng.randn(16, 3).astype(np.float32), rng.randn(16, 1).astype(np.float32)
    m = _linear(0.1)
    w0, b0 = [a.astype(np.float64) for a in m.get_weights()]
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.2 / (epoch + 1))
    h = m.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=[sched])
    lrs = [0.2, 0.1, 0.2 / 3, 0.05]
    assert h.history["lr"] == pytest.approx(lrs)
    w, b = _sgd_steps(w0, b0, x.astype(np.float64), y.astype(np.float64), lrs)
    np.testing.assert_allclose(m.get_weights()[0], w, rtol=1e-5)
    np.testing.assert_allclose(m.get_weights()[1], b, rtol=1e-5, atol=1e-7)
    # the Keras 2.0 form schedule(epoch) works too; a schedule returning junk is named
    m = _linear(0.1)
    h = m.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lambda e: 0.01 * (e + 1))])
    assert h.history["lr"] == pytest.approx([0.01, 0.02])
    with pytest.raises(ValueError, match="schedule must return a finite float.*None for epoch 0"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(lambda e, lr: None)])


def _lr_in_session(m):
    return float(m._session.variable_value(m.optimizer.learning_rate_variable))


def test_reduce_lr_on_plateau_waits_patience_epochs_then_cools_down():
    x, y = blobs(40)
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.1), "sparse_categorical_crossentropy")
    applied = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(_lr_in_session(m)))
    seen = []
    plateau = keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_delta=0.01)
    #            e0   e1   e2     e3    e4    e5    e6    e7
    scripted = [1.0, 0.5, 0.495, 0.6, 0.6, 0.6, 0.6, 0.6]
    h = m.fit(x, y, epochs=8, verbose=0, callbacks=[_Scripted(scripted), applied, plateau])
    # e2 improves by less than min_delta: waits 1, then 2 at e3 -> halve after e3. Keras's cooldown counter
    # runs out at e4, which then counts as wait 1 again; e5 is wait 2 -> halve after e5; likewise after e7.
    # 'lr' in the logs is the rate the epoch trained with.
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert seen == pytest.approx(np.float32([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]))
    assert m.optimizer.learning_rate == pytest.approx(0.0125)
    with pytest.raises(ValueError, match="factor must be in"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)


def test_reduce_lr_on_plateau_stops_at_min_lr():
    x, y = blobs(40)
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.1), "sparse_categorical_crossentropy")
    plateau = keras.callbacks.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005)
    h = m.fit(x, y, epochs=4, verbose=0, callbacks=[_Scripted([1, 1, 1, 1]), plateau])
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.005])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_at_the_first_invalid_batch_loss(capsys):
    x, y = blobs(120)
    m = _linear(1e10, n_in=4)
    losses = []
    record = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: losses.append(logs["loss"]))
    h = m.fit(x, y.astype(np.float32), batch_size=8, epochs=3, verbose=0,
              callbacks=[record, keras.callbacks.TerminateOnNaN()])
    first_bad = next(i for i, v in enumerate(losses) if not np.isfinite(v))
    assert len(losses) == first_bad + 1 < 15  # stopped right there, in the first epoch
    assert h.epoch == [0] and not np.isfinite(h.history["loss"][0])
    assert f"Batch {first_bad}: Invalid loss, terminating training" in capsys.readouterr().out


# -- progress output ------------------------------------------------------------------------------
def test_verbose_1_draws_a_keras_progress_line(capsys):
    x, y = blobs(60)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=16, epochs=2, verbose=1, validation_split=0.2)
    out = capsys.readouterr().out
    assert "Train on 48 samples, validate on 12 samples" in out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert re.search(r"48/48 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - val_loss: \d\.\d{4}", out)


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = blobs(60)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    m.fit(x, y, epochs=3, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    summary = [ln for ln in lines if re.fullmatch(r" - \d+s - loss: \d\.\d{4} - acc: \d\.\d{4}", ln)]
    assert len(summary) == 3 and "[" not in "".join(lines)


def _fixed_clock(monkeypatch, times):
    ticks = iter(times)
    monkeypatch.setattr(progbar_logger, "clock", lambda: next(ticks))


def _fit_printing(verbose, stream):
    x, y = blobs(60)
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    with contextlib.redirect_stdout(stream):
        return m.fit(x, y, batch_size=16, epochs=2, verbose=verbose, validation_split=0.2).history


def test_progress_on_a_non_terminal_is_one_finished_line_per_epoch(monkeypatch):
    _fixed_clock(monkeypatch, [10.0, 12.0, 20.0, 24.0])  # epoch 1 takes 2 s, epoch 2 takes 4 s
    out = io.StringIO()
    h = _fit_printing(1, out)
    f = "{:.4f}".format
    assert out.getvalue() == (
        "Train on 48 samples, validate on 12 samples\n"
        "Epoch 1/2\n"
        f"48/48 [==============================] - 2s 42ms/step - loss: {f(h['loss'][0])} - "
        f"val_loss: {f(h['val_loss'][0])}\n"
        "Epoch 2/2\n"
        f"48/48 [==============================] - 4s 83ms/step - loss: {f(h['loss'][1])} - "
        f"val_loss: {f(h['val_loss'][1])}\n")


def test_progress_verbose_2_prints_seconds_and_logs(monkeypatch):
    _fixed_clock(monkeypatch, [0.0, 3.0, 5.0, 5.2])
    out = io.StringIO()
    h = _fit_printing(2, out)
    assert out.getvalue() == (
        "Train on 48 samples, validate on 12 samples\n"
        f"Epoch 1/2\n - 3s - loss: {h['loss'][0]:.4f} - val_loss: {h['val_loss'][0]:.4f}\n"
        f"Epoch 2/2\n - 0s - loss: {h['loss'][1]:.4f} - val_loss: {h['val_loss'][1]:.4f}\n")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_draws_the_live_bar():
    out = _Terminal()
    h = _fit_printing(1, out)
    text = out.getvalue()
    assert "\r" in text  # tqdm redraws the line in place
    final = text.split("Epoch 2/2\n")[1].split("\r")[-1]
    assert re.fullmatch(rf"48/48 \[={{30}}\] - \d+s \d+(us|ms|s)/step - loss: {h['loss'][1]:.4f} - "
                        rf"val_loss: {h['val_loss'][1]:.4f}\n", final)
