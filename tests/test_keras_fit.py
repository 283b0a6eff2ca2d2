"""fit/evaluate/predict arguments as Keras documents them: sample and class weights (Keras's default
reduction, sum_over_batch_size: sum(w * loss) / batch size, checked against float64 NumPy), return_dict,
predict's batch_size, and a clear error naming the argument for each bad value."""
import numpy as np
import pytest

from nnplug import keras
from test_keras import blobs, mlp, np_forward, np_softmax

L = keras.layers


def _frozen(loss="sparse_categorical_crossentropy", metrics=None):
    """An MLP whose weights never move (lr 0), so every reported loss is one of its fixed weights."""
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.0), loss, metrics=metrics)
    return m


def _np_crossentropy(m, x, y):
    p = np_forward(m.get_weights(), x.astype(np.float64), [np.tanh, np_softmax])
    return -np.log(p[np.arange(len(y)), y])


def test_fit_sample_weight_is_sum_of_weighted_losses_over_batch_size():
    x, y = blobs(50)
    w = np.random.RandomState(3).rand(50) * 3
    m = _frozen()
    h = m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, sample_weight=w)
    per = _np_crossentropy(m, x, y)
    # each batch's loss is sum(w*l)/len(batch); the epoch's is their batch-size-weighted mean
    assert h.history["loss"][0] == pytest.approx(np.sum(w * per) / 50, rel=1e-5)
    batches = []
    m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, sample_weight=w,
          callbacks=[keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: batches.append(logs["loss"]))])
    expect = [np.sum(w[i:i + 16] * per[i:i + 16]) / len(per[i:i + 16]) for i in range(0, 50, 16)]
    assert batches == pytest.approx(expect, rel=1e-5)


def test_fit_class_weight_and_both_weights_multiply():
    x, y = blobs(40)
    m = _frozen(metrics=["acc"])
    cw = {0: 2.0, 2: 0.5}  # class 1 keeps weight 1
    per = _np_crossentropy(m, x, y)
    table = np.array([2.0, 1.0, 0.5])
    h = m.fit(x, y, batch_size=40, epochs=1, verbose=0, class_weight=cw)
    assert h.history["loss"][0] == pytest.approx(np.mean(table[y] * per), rel=1e-5)
    # metrics are not weighted (Keras weights only `weighted_metrics`)
    pred = np_forward(m.get_weights(), x.astype(np.float64), [np.tanh, np_softmax]).argmax(-1)
    assert h.history["acc"][0] == pytest.approx(np.mean(pred == y))
    sw = np.linspace(0.1, 2, 40)
    h = m.fit(x, y, batch_size=40, epochs=1, verbose=0, class_weight=cw, sample_weight=sw)
    assert h.history["loss"][0] == pytest.approx(np.mean(sw * table[y] * per), rel=1e-5)
    # one-hot labels pick the class by arg max
    m1 = _frozen("categorical_crossentropy")
    m1.set_weights(m.get_weights())
    h = m1.fit(x, keras.utils.to_categorical(y, 3), batch_size=40, epochs=1, verbose=0, class_weight=cw)
    assert h.history["loss"][0] == pytest.approx(np.mean(table[y] * per), rel=1e-5)


def test_weighted_gradient_step_matches_numpy():
    rng = np.random.RandomState(5)
    x, y = rng.randn(12, 3).astype(np.float32), rng.randn(12, 1).astype(np.float32)
    w = rng.rand(12).astype(np.float32)
    m = keras.Sequential([L.Dense(1, input_dim=3)])
    m.compile(keras.optimizers.SGD(lr=0.1), "mse")
    w0, b0 = [a.astype(np.float64) for a in m.get_weights()]
    loss = m.train_on_batch(x, y, sample_weight=w)
    err = x.astype(np.float64) @ w0 + b0 - y
    assert loss == pytest.approx(np.sum(w[:, None] * err ** 2) / 12, rel=1e-5)
    gw = 2 * x.T.astype(np.float64) @ (w[:, None] * err) / 12
    gb = 2 * np.sum(w[:, None] * err, 0) / 12
    np.testing.assert_allclose(m.get_weights()[0], w0 - 0.1 * gw, rtol=1e-5)
    np.testing.assert_allclose(m.get_weights()[1], b0 - 0.1 * gb, rtol=1e-5)
    # the unweighted step still runs the plain training step, sharing the optimizer's state
    w1, b1 = [a.astype(np.float64) for a in m.get_weights()]
    assert m.train_on_batch(x, y) == pytest.approx(np.mean((x @ w1 + b1 - y) ** 2), rel=1e-5)


def test_evaluate_sample_weight_return_dict_and_weighted_validation_data():
    x, y = blobs(30)
    m = _frozen(metrics=["acc"])
    w = np.arange(30) % 4
    per = _np_crossentropy(m, x, y)
    got = m.evaluate(x, y, batch_size=7, sample_weight=w, return_dict=True)
    assert set(got) == {"loss", "acc"}
    assert got["loss"] == pytest.approx(np.sum(w * per) / 30, rel=1e-5)
    assert m.evaluate(x, y, return_dict=True)["loss"] == pytest.approx(per.mean(), rel=1e-5)
    h = m.fit(x[:10], y[:10], epochs=1, verbose=0, validation_data=(x, y, w))
    assert h.history["val_loss"][0] == pytest.approx(np.sum(w * per) / 30, rel=1e-5)
    assert m.train_on_batch(x, y, return_dict=True).keys() == {"loss", "acc"}


def test_validation_split_splits_the_weights_too():
    """As tf.keras 2 does: the last rows of x, y and sample_weight become the validation set."""
    x, y = blobs(40)
    w = np.r_[np.ones(30), np.full(10, 2.0)]
    m = _frozen()
    h = m.fit(x, y, epochs=1, verbose=0, shuffle=False, sample_weight=w, validation_split=0.25)
    assert h.history["loss"][0] == pytest.approx(_np_crossentropy(m, x[:30], y[:30]).mean(), rel=1e-5)
    assert h.history["val_loss"][0] == pytest.approx(2 * _np_crossentropy(m, x[30:], y[30:]).mean(), rel=1e-5)


def test_predict_batch_size():
    x = blobs(23)[0]
    m = mlp()
    full = np_forward(m.get_weights(), x.astype(np.float64), [np.tanh, np_softmax])
    for bs in (1, 5, 23, 100, None):
        np.testing.assert_allclose(m.predict(x, batch_size=bs), full, rtol=1e-5, atol=1e-6)


# -- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("call,kwargs,error,pattern", [
    ("fit", {"batch_size": 0}, ValueError, r"fit: batch_size must be >= 1, got 0"),
    ("fit", {"batch_size": -1}, ValueError, r"fit: batch_size must be >= 1, got -1"),
    ("fit", {"batch_size": 2.5}, TypeError, r"fit: batch_size must be an integer, got 2\.5"),
    ("fit", {"epochs": 1.5}, TypeError, r"fit: epochs must be an integer, got 1\.5"),
    ("fit", {"epochs": -2}, ValueError, r"fit: epochs must be >= 0, got -2"),
    ("fit", {"initial_epoch": "1"}, TypeError, r"fit: initial_epoch must be an integer, got '1'"),
    ("fit", {"verbose": 3}, ValueError, r"fit: verbose must be 0, 1, 2 or 'auto', got 3"),
    ("fit", {"validation_split": 1.0}, ValueError, r"fit: validation_split must be a number in \[0, 1\), got 1\.0"),
    ("fit", {"shuffle": "yes"}, TypeError, r"fit: shuffle must be True or False, got 'yes'"),
    ("fit", {"sample_weight": np.ones(5)}, ValueError, r"fit: sample_weight must have shape \(30,\).*\(5,\)"),
    ("fit", {"sample_weight": np.r_[np.ones(29), np.nan]}, ValueError, r"sample_weight holds NaN.*index 29"),
    ("fit", {"class_weight": {3: 1.0}}, ValueError, r"class_weight keys must be class ids in \[0, 3\), got 3"),
    ("fit", {"class_weight": {0: None}}, ValueError, r"class_weight\[0\] must be a finite number, got None"),
    ("fit", {"class_weight": [1, 2]}, TypeError, r"class_weight must be a dict"),
    ("evaluate", {"batch_size": 0}, ValueError, r"evaluate: batch_size must be >= 1, got 0"),
    ("predict", {"batch_size": 0}, ValueError, r"predict: batch_size must be >= 1, got 0"),
])
def test_bad_arguments_name_the_argument_and_value(call, kwargs, error, pattern):
    x, y = blobs(30)
    m = _frozen()
    before = m.get_weights()
    with pytest.raises(error, match=pattern):
        if call == "predict":
            m.predict(x, **kwargs)
        else:
            getattr(m, call)(x, y, **{"verbose": 0, **kwargs})
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_empty_batches_and_string_labels_are_clear_errors():
    x, y = blobs(10)
    m = _frozen()
    for call in (m.train_on_batch, m.test_on_batch):
        with pytest.raises(ValueError, match=r"on_batch: x has no samples \(shape \(0, 4\)\)"):
            call(x[:0], y[:0])
    with pytest.raises(ValueError, match=r"predict_on_batch: x has no samples"):
        m.predict_on_batch(x[:0])
    with pytest.raises(ValueError, match=r"evaluate: x has no samples"):
        m.evaluate(x[:0], y[:0])
    labels = np.array(["cat", "dog"] * 5)
    with pytest.raises(TypeError, match=r"fit: sparse_categorical_crossentropy expects integer class ids 0\.\.2, "
                                        r"got y of dtype <U3 \(first value np.str_\('cat'\)\)"):
        m.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match=r"fit: y \(the targets\) is required"):
        m.fit(x, verbose=0)
