"""Keras with tf.data and TensorBoard: fit/evaluate/predict accept a Dataset of (features, labels)
batches; the TensorBoard callback writes the epoch logs, weight histograms and the graph, read back with
TensorBoard's own loader."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 0.5, 2.0], np.float32) > 0).astype(np.int64)
    return x, y


def _model():
    np.random.seed(1)
    m = keras.models.Sequential([keras.layers.Dense(8, activation="tanh", input_shape=(4,)),
                                 keras.layers.Dense(2, activation="softmax")])
    m.compile(optimizer=keras.optimizers.SGD(lr=0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_fit_on_a_dataset_equals_fit_on_its_arrays():
    x, y = _data()
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(16), epochs=3, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    np.testing.assert_allclose(b.evaluate(ds, verbose=0), a.evaluate(x, y, batch_size=16), rtol=1e-6)
    np.testing.assert_allclose(b.predict(ds), a.predict(x), rtol=1e-6)


def test_a_repeating_dataset_needs_steps():
    x, y = _data(32)
    m = _model()
    h = m.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat(), steps_per_epoch=4, epochs=1, verbose=0)
    assert len(h.history["loss"]) == 1
    with pytest.raises(ValueError, match="y must be None when x is a Dataset"):
        m.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), y, verbose=0)


def test_tensorboard_callback_writes_what_tensorboard_reads(tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    x, y = _data()
    m = _model()
    m.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25,
          callbacks=[keras.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=1)])
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"epoch_loss", "epoch_val_loss", "epoch_acc"} <= set(tags["scalars"]) or \
        {"epoch_loss", "epoch_val_loss", "epoch_accuracy"} <= set(tags["scalars"]), tags["scalars"]
    losses = [e.value for e in acc.Scalars("epoch_loss")]
    np.testing.assert_allclose(losses, m.history.history["loss"], rtol=1e-6)
    assert [e.step for e in acc.Scalars("epoch_loss")] == [0, 1, 2]
    assert len(tags["histograms"]) == len(m.weights)
    assert tags["graph"]
