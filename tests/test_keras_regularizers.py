"""keras.regularizers and keras.constraints: the loss fit trains on and reports is the data loss plus the
penalties (checked against float64 NumPy), one SGD step matches a hand-computed one, constraints hold
after every update, and both survive a save/load round trip; bad ones are refused naming the field."""
import json

import numpy as np
import pytest

import nnplug as tf
from nnplug import keras
from test_keras import blobs, np_softmax

L, R, C = keras.layers, keras.regularizers, keras.constraints


def _crossentropy(weights, x, y):
    p = np_softmax(x.astype(np.float64) @ weights[0] + weights[1])
    return -np.log(p[np.arange(len(y)), y])


def _frozen_dense(**penalties):
    m = keras.Sequential([L.Dense(3, input_dim=4, activation="softmax", **penalties)])
    m.compile(keras.optimizers.SGD(lr=0.0), "sparse_categorical_crossentropy")
    rng = np.random.RandomState(1)
    m.set_weights([rng.randn(4, 3).astype(np.float32), rng.randn(3).astype(np.float32)])
    return m


def test_loss_is_data_loss_plus_weight_penalties():
    x, y = blobs(30)
    m = _frozen_dense(kernel_regularizer=R.l2(0.01), bias_regularizer=R.l1(0.02))
    w, b = [a.astype(np.float64) for a in m.get_weights()]
    penalty = 0.01 * np.sum(w ** 2) + 0.02 * np.sum(np.abs(b))
    data = _crossentropy([w, b], x, y)
    assert m.evaluate(x, y, batch_size=30) == pytest.approx(np.mean(data) + penalty, rel=1e-5)
    h = m.fit(x, y, batch_size=30, epochs=1, verbose=0)  # lr 0: the reported training loss is the same
    assert h.history["loss"][0] == pytest.approx(np.mean(data) + penalty, rel=1e-5)
    sw = np.linspace(0.5, 2.0, 30)  # the penalty is added to the weighted data loss
    assert m.evaluate(x, y, batch_size=30, sample_weight=sw) == pytest.approx(np.mean(sw * data) + penalty, rel=1e-5)
    values = m._session.run(m.losses)
    assert values == pytest.approx([0.01 * np.sum(w ** 2), 0.02 * np.sum(np.abs(b))], rel=1e-5)
    assert len(m.layers[0].losses) == 2


def test_l1_l2_and_activity_penalty():
    x, y = blobs(20)
    m = _frozen_dense(kernel_regularizer=R.l1_l2(l1=0.03, l2=0.04), activity_regularizer=R.L2(0.5))
    w, b = [a.astype(np.float64) for a in m.get_weights()]
    out = np_softmax(x.astype(np.float64) @ w + b)
    # tf.keras: the activity penalty over the batch size
    expect = np.mean(_crossentropy([w, b], x, y)) + 0.03 * np.abs(w).sum() + 0.04 * (w ** 2).sum() + \
        0.5 * np.sum(out ** 2) / 20
    assert m.evaluate(x, y, batch_size=20) == pytest.approx(expect, rel=1e-5)


def test_one_sgd_step_with_l2_and_max_norm_matches_numpy():
    rng = np.random.RandomState(0)
    x, y = rng.randn(6, 3).astype(np.float32), rng.randn(6, 2).astype(np.float32)
    lam, lr, cap = 0.05, 0.1, 0.7
    m = keras.Sequential([L.Dense(2, input_dim=3, kernel_regularizer=R.l2(lam), kernel_constraint=C.max_norm(cap))])
    m.compile(keras.optimizers.SGD(lr=lr), "mse")
    w0, b0 = rng.randn(3, 2).astype(np.float32), rng.randn(2).astype(np.float32)
    m.set_weights([w0, b0])
    w, b, xd, yd = w0.astype(np.float64), b0.astype(np.float64), x.astype(np.float64), y.astype(np.float64)
    err = xd @ w + b - yd
    loss = np.mean(err ** 2) + lam * np.sum(w ** 2)
    w1 = w - lr * (2 * xd.T @ err / err.size + 2 * lam * w)
    b1 = b - lr * 2 * err.sum(0) / err.size
    norms = np.sqrt((w1 ** 2).sum(0, keepdims=True))
    w1 = w1 * np.clip(norms, 0, cap) / (1e-7 + norms)  # the constraint, after the update
    assert m.train_on_batch(x, y) == pytest.approx(loss, rel=1e-5)
    got_w, got_b = m.get_weights()
    np.testing.assert_allclose(got_w, w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, b1, rtol=1e-5, atol=1e-6)


def _fit(layers, x, y, loss="mse", epochs=3):
    m = keras.Sequential(layers)
    m.compile(keras.optimizers.Adam(0.1), loss)
    m.fit(x, y, batch_size=8, epochs=epochs, verbose=0)
    return m


def test_constraints_hold_after_fit():
    rng = np.random.RandomState(2)
    x, y = rng.randn(32, 4).astype(np.float32), (rng.randn(32, 6) * 5).astype(np.float32)
    m = _fit([L.Dense(6, input_dim=4, kernel_constraint=C.MaxNorm(0.3), bias_constraint=C.NonNeg()),
              L.Dense(6, kernel_constraint=C.UnitNorm()),
              L.Dense(6, kernel_constraint=C.MinMaxNorm(0.5, 0.6), bias_constraint="non_neg")], x, y)
    w1, b1, w2, _, w3, b3 = m.get_weights()
    assert np.linalg.norm(w1, axis=0).max() <= 0.3 + 1e-5
    assert b1.min() >= 0 and b3.min() >= 0 and (np.r_[b1, b3] == 0).any()  # some were pushed below 0
    np.testing.assert_allclose(np.linalg.norm(w2, axis=0), 1.0, rtol=1e-5)
    norms = np.linalg.norm(w3, axis=0)
    assert norms.min() >= 0.5 - 1e-5 and norms.max() <= 0.6 + 1e-5


def test_conv_kernel_max_norm_per_filter_and_penalty():
    rng = np.random.RandomState(3)
    x, y = rng.randn(8, 6, 6, 2).astype(np.float32), rng.randint(0, 2, 8)
    m = _fit([L.Conv2D(4, 3, input_shape=(6, 6, 2), kernel_constraint=C.max_norm(0.2, axis=[0, 1, 2]),
                       kernel_regularizer="l2"), L.Flatten(), L.Dense(2, activation="softmax")],
             x, y, "sparse_categorical_crossentropy", epochs=2)
    k = m.get_weights()[0]
    assert np.sqrt((k ** 2).sum((0, 1, 2))).max() <= 0.2 + 1e-5
    assert m._session.run(m.losses)[0] == pytest.approx(0.01 * np.sum(k.astype(np.float64) ** 2), rel=1e-5)


def test_recurrent_embedding_and_batchnorm_penalties():
    emb = L.Embedding(10, 4, input_length=5, embeddings_regularizer=R.l2(0.1))
    lstm = L.LSTM(3, kernel_regularizer=R.l2(0.2), recurrent_regularizer=R.l1(0.3), bias_regularizer=R.l2(0.4))
    bn = L.BatchNormalization(gamma_regularizer=R.l2(0.5), beta_regularizer=R.l1(0.6))
    m = keras.Sequential([emb, lstm, bn])
    m.build()
    [e], (k, rk, b), (g, beta) = emb.get_weights(), lstm.get_weights(), bn.get_weights()[:2]
    expect = [0.1 * (e ** 2).sum(), 0.2 * (k ** 2).sum(), 0.3 * np.abs(rk).sum(), 0.4 * (b ** 2).sum(),
              0.5 * (g ** 2).sum(), 0.6 * np.abs(beta).sum()]
    assert m._session.run(m.losses) == pytest.approx(expect, rel=1e-5)
    again = keras.Sequential.from_config(m.get_config())
    assert again.layers[1].recurrent_regularizer.get_config() == {"l1": 0.3}


def test_bidirectional_and_time_distributed_use_the_wrapped_layers_penalties():
    bi = L.Bidirectional(L.SimpleRNN(2, kernel_regularizer=R.l2(0.1), return_sequences=True), input_shape=(4, 3))
    td = L.TimeDistributed(L.Dense(2, kernel_constraint=C.NonNeg()))
    m = keras.Sequential([bi, td])
    m.build()
    fw, bw = bi.get_weights()[0], bi.get_weights()[3]
    assert m._session.run(m.losses) == pytest.approx([0.1 * (fw ** 2).sum(), 0.1 * (bw ** 2).sum()], rel=1e-5)
    assert [w.name for w, _ in m.weight_constraints()] == [td.weights[0].name]


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.npz"])
def test_save_load_keeps_regularizers_and_constraints(tmp_path, name):
    pytest.importorskip("jsonschema")
    if name != "m.npz":
        pytest.importorskip("h5py")
    x, y = blobs(24)
    m = keras.Sequential([L.Dense(5, input_dim=4, activation="tanh", kernel_regularizer=R.L1L2(0.01, 0.02),
                                  kernel_constraint=C.MaxNorm(0.8), activity_regularizer=R.l1(0.001)),
                          L.Dense(3, activation="softmax", bias_regularizer=R.l2(0.3),
                                  bias_constraint=C.MinMaxNorm(0.1, 0.9, rate=0.5))])
    m.compile(keras.optimizers.SGD(lr=0.1), "sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    m.save(tmp_path / name)
    m2 = keras.models.load_model(tmp_path / name)
    first, second = m2.layers
    assert (type(first.kernel_regularizer), first.kernel_regularizer.get_config()) == (R.L1L2, {"l1": 0.01, "l2": 0.02})
    assert first.kernel_constraint.get_config() == {"max_value": 0.8, "axis": 0}
    assert second.bias_constraint.get_config() == {"min_value": 0.1, "max_value": 0.9, "rate": 0.5, "axis": 0}
    assert first.activity_regularizer.get_config() == {"l1": 0.001}
    assert m2.evaluate(x, y, batch_size=24) == pytest.approx(m.evaluate(x, y, batch_size=24), rel=1e-6)
    m2.fit(x * 10, y, batch_size=8, epochs=1, verbose=0)
    assert np.linalg.norm(m2.get_weights()[0], axis=0).max() <= 0.8 + 1e-5


def test_get_names_configs_and_objects():
    assert isinstance(R.get("l2"), R.L2) and R.get("l2").l2 == 0.01
    assert R.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert R.l2(l2=0.3).l2 == R.l2(l=0.3).l2 == R.l2(0.3).l2 == 0.3 and R.l1(l1=0.2).l1 == 0.2 and R.l1().l1 == 0.01
    reg = R.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}, "module": "keras.regularizers"})
    assert (reg.l1, reg.l2) == (0.1, 0.2)
    assert R.L2.from_config(R.L2(0.3).get_config()).l2 == 0.3
    assert isinstance(C.get("max_norm"), C.MaxNorm) and C.get(None) is None
    assert C.max_norm is C.MaxNorm and C.non_neg is C.NonNeg and C.unit_norm is C.UnitNorm
    assert isinstance(R.Regularizer(), R.Regularizer) and C.Constraint()(3.0) == 3.0
    assert R.serialize(R.l2(0.5)) == {"class_name": "L2", "config": {"l2": 0.5}}


def test_custom_callables_train_but_do_not_save():
    x, y = blobs(16)
    m = keras.Sequential([L.Dense(3, input_dim=4, activation="softmax",
                                  kernel_regularizer=lambda w: 0.0 * tf.reduce_sum(w),
                                  kernel_constraint=lambda w: tf.clip_by_value(w, -0.1, 0.1))])
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, verbose=0)
    assert np.abs(m.get_weights()[0]).max() <= 0.1 + 1e-7
    with pytest.raises(ValueError, match=r"Dense layer 'dense_\d+': kernel_regularizer: cannot save the custom"):
        m.get_config()


def test_model_add_loss():
    x, y = blobs(20)
    m = _frozen_dense()
    m.add_loss(lambda: 0.5 * tf.reduce_sum(tf.square(m.layers[0].weights[1])))
    w, b = m.get_weights()
    expect = np.mean(_crossentropy([w, b], x, y)) + 0.5 * np.sum(b.astype(np.float64) ** 2)
    assert m.evaluate(x, y, batch_size=20) == pytest.approx(expect, rel=1e-5)
    with pytest.raises(TypeError, match="add_loss takes a zero-argument callable"):
        m.add_loss(3)
    with pytest.raises(NotImplementedError, match="symbolic layer output"):
        m.add_loss(keras.Input(shape=(2,)))


@pytest.mark.parametrize("make, error, message", [
    (lambda: R.get("l3"), ValueError, r"unknown regularizer 'l3'\. Valid regularizer names: L1, L1L2, L2, l1, l1_l2, l2"),
    (lambda: R.L2(-1.0), ValueError, r"L2: l2 must be a finite number >= 0, got -1\.0"),
    (lambda: R.L1L2(l1="x"), ValueError, r"L1L2: l1 must be a finite number"),
    (lambda: R.L2(float("nan")), ValueError, "finite"),
    (lambda: R.get({"class_name": "L2", "config": {"l3": 1}}), ValueError, r"L2 has no config field 'l3'"),
    (lambda: R.get({"class_name": "Evil", "config": {}}), ValueError, r"unknown regularizer class 'Evil'"),
    (lambda: C.MaxNorm(axis="0"), ValueError, r"MaxNorm: axis must be an int or a list of ints"),
    (lambda: C.MinMaxNorm(2.0, 1.0), ValueError, r"min_value <= max_value"),
    (lambda: L.Dense(2, kernel_regularizer=42, name="d"), TypeError, r"Dense layer 'd': kernel_regularizer"),
    (lambda: L.Dense(2, kernel_constraint="max_nrom", name="d"), ValueError,
     r"Dense layer 'd': kernel_constraint: unknown constraint 'max_nrom'\. Did you mean 'max_norm'"),
    (lambda: L.Flatten(kernel_regularizer="l2"), TypeError, r"Flatten got unexpected arguments: kernel_regularizer"),
])
def test_bad_arguments_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_constraint_axis_that_does_not_fit_the_weight():
    m = keras.Sequential([L.Dense(2, input_dim=3, kernel_constraint=C.MaxNorm(axis=3))])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"MaxNorm\(axis=3\) does not fit a weight of shape \(3, 2\)"):
        m.train_on_batch(np.zeros((1, 3), np.float32), np.zeros((1, 2), np.float32))


@pytest.mark.parametrize("field, value, message", [
    ("kernel_regularizer", {"class_name": "Evil", "config": {}},
     r"layers\[0\]\.config\.kernel_regularizer\.class_name: expected L1, L1L2 or L2, got 'Evil'"),
    ("kernel_regularizer", {"class_name": "L2", "config": {"l2": -1}}, r"layers\[0\]\.config\.kernel_regularizer"),
    ("kernel_regularizer", "l2", r"layers\[0\]\.config\.kernel_regularizer"),
    ("bias_constraint", {"class_name": "MaxNorm", "config": {"max_value": "big"}},
     r"layers\[0\]\.config\.bias_constraint\.config\.max_value: expected a number, got 'big'"),
    ("bias_constraint", {"class_name": "MinMaxNorm", "config": {"min_value": 3, "max_value": 1}},
     r"min_value <= max_value"),
    ("embeddings_regularizer", None, r"layers\[0\]\.config: unknown field 'embeddings_regularizer'"),
])
def test_bad_saved_penalties_name_the_field(field, value, message):
    pytest.importorskip("jsonschema")
    m = keras.Sequential([L.Dense(2, input_dim=3)])
    spec = json.loads(m.to_json())
    spec["config"]["layers"][0]["config"][field] = value
    with pytest.raises(keras.saving.ModelFileError, match=message):
        keras.models.model_from_json(json.dumps(spec))
