"""The Keras API against NumPy references: layers, losses, optimizers (hand-computed updates), fit/evaluate,
callbacks, saving, progress output and error messages. Small synthetic data keeps it fast."""
import json
import re

import numpy as np
import pytest

import nnplug
from nnplug import keras

L = keras.layers


def mlp(n_in=4, hidden=8, n_out=3, act="tanh", out="softmax"):
    return keras.Sequential([L.Dense(hidden, input_dim=n_in, activation=act), L.Dense(n_out, activation=out)])


def blobs(n=120, n_in=4, k=3, seed=0):
    """k well-separated Gaussian clusters: any working classifier gets them right."""
    rng = np.random.RandomState(seed)
    centers = rng.randn(k, n_in) * 4
    y = rng.randint(0, k, n)
    return (centers[y] + rng.randn(n, n_in)).astype(np.float32), y


def np_forward(weights, x, acts):
    for (w, b), act in zip(zip(weights[::2], weights[1::2]), acts):
        x = act(x @ w + b)
    return x


def np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# -- structure -----------------------------------------------------------------------------
def test_to_categorical():
    out = keras.utils.to_categorical([2, 0, 1])
    np.testing.assert_array_equal(out, np.eye(3)[[2, 0, 1]])
    assert out.dtype == np.float32
    assert keras.utils.to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)
    with pytest.raises(ValueError, match="num_classes=2"):
        keras.utils.to_categorical([3], 2)


def test_sequential_add_and_list_agree_and_summary(capsys):
    a = keras.Sequential()
    a.add(L.Dense(50, input_dim=784, activation="tanh"))
    a.add(L.Dense(50, activation="tanh"))
    a.add(L.Dense(10, activation="softmax"))
    b = keras.Sequential([L.Dense(50, input_shape=(784,), activation="tanh"), L.Dense(50, activation="tanh"),
                          L.Dense(10, activation="softmax")])
    assert len(a.layers) == len(b.layers) == 3
    assert a.count_params() == b.count_params() == 784 * 50 + 50 + 50 * 50 + 50 + 50 * 10 + 10
    assert a.output_shape == (None, 10)
    a.summary()
    text = capsys.readouterr().out
    assert re.search(r"dense_\d+ \(Dense\)\s+\(None, 50\)\s+39250", text)
    assert re.search(r"\(None, 10\)\s+510", text)
    assert "Total params: 42,310" in text and "Non-trainable params: 0" in text


def test_summary_before_input_shape_is_an_error():
    m = keras.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match="input_shape"):
        m.summary()


def test_deferred_input_shape_builds_on_fit():
    x, y = blobs()
    m = keras.Sequential([L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(x, y, verbose=0)
    assert m.input_shape == (None, 4)


def test_functional_model_matches_numpy_forward():
    inp = keras.Input(shape=(4,))
    h = L.Dense(6, activation="tanh")(inp)
    h = L.Dropout(0.5)(h)
    out = L.Dense(3, activation="softmax")(h)
    m = keras.Model(inputs=inp, outputs=out)
    x = np.random.RandomState(1).randn(5, 4).astype(np.float32)
    w = m.get_weights()
    assert [a.shape for a in w] == [(4, 6), (6,), (6, 3), (3,)]
    expect = np_forward(w, x.astype(np.float64), [np.tanh, np_softmax])
    np.testing.assert_allclose(m.predict(x), expect, rtol=1e-5, atol=1e-6)  # dropout off at inference


@pytest.mark.parametrize("name,ref", [
    ("linear", lambda z: z), ("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("tanh", np.tanh),
    ("relu", lambda z: np.maximum(z, 0)), ("softmax", np_softmax)])
def test_activations_by_name_and_callable(name, ref):
    x = np.random.RandomState(2).randn(6, 3).astype(np.float32)
    for act in (name, keras.activations.get(name)):
        m = keras.Sequential([L.Dense(4, input_dim=3, activation=act)])
        w = m.get_weights()
        np.testing.assert_allclose(m.predict(x), ref(x.astype(np.float64) @ w[0] + w[1]), rtol=1e-5, atol=1e-6)
    m = keras.Sequential([L.Dense(4, input_dim=3), L.Activation(name)])
    w = m.get_weights()
    np.testing.assert_allclose(m.predict(x), ref(x.astype(np.float64) @ w[0] + w[1]), rtol=1e-5, atol=1e-6)


def test_dense_initializers_by_name():
    m = keras.Sequential([L.Dense(200, input_dim=300, kernel_initializer="glorot_uniform", bias_initializer="ones")])
    k, b = m.get_weights()
    limit = np.sqrt(6 / (300 + 200))
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    np.testing.assert_array_equal(b, 1)


def test_flatten_and_dropout_training_pass():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    m = keras.Sequential([L.Flatten(input_shape=(3, 4))])
    np.testing.assert_array_equal(m.predict(x), x.reshape(2, 12))
    assert m.output_shape == (None, 12)
    # the training pass of a Dropout layer zeroes about `rate` of the inputs and scales the rest
    d = keras.Sequential([L.Dropout(0.25, input_shape=(2000,))])
    d.compile("sgd", "mse")
    d._build()
    d._compiled("test")
    out = d._session.run(d._y_train, {d._x: np.ones((4, 2000), np.float32)})
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.03
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(d.predict(np.ones((4, 2000))), 1)


# -- losses --------------------------------------------------------------------------------
def _fixed_model(out_act, n_out=3, n_in=4, seed=3):
    m = keras.Sequential([L.Dense(n_out, input_dim=n_in, activation=out_act)])
    rng = np.random.RandomState(seed)
    m.set_weights([rng.randn(n_in, n_out).astype(np.float32), rng.randn(n_out).astype(np.float32)])
    return m


def test_losses_against_numpy():
    rng = np.random.RandomState(4)
    x = rng.randn(10, 4).astype(np.float32)
    yi = rng.randint(0, 3, 10)
    y1 = np.eye(3)[yi]
    m = _fixed_model("softmax")
    p = np_softmax(x.astype(np.float64) @ m.get_weights()[0] + m.get_weights()[1])
    ce = -np.mean(np.sum(y1 * np.log(p), -1))
    for loss in ("categorical_crossentropy", keras.losses.CategoricalCrossentropy(),
                 keras.losses.categorical_crossentropy):
        m.compile("sgd", loss)
        assert m.evaluate(x, y1, verbose=0) == pytest.approx(ce, rel=1e-5)
    m.compile("sgd", "sparse_categorical_crossentropy")
    assert m.evaluate(x, yi, verbose=0) == pytest.approx(ce, rel=1e-5)

    b = _fixed_model("sigmoid", n_out=1)
    q = 1 / (1 + np.exp(-(x.astype(np.float64) @ b.get_weights()[0] + b.get_weights()[1])))
    yb = (rng.rand(10, 1) > 0.5).astype(np.float32)
    b.compile("sgd", "binary_crossentropy", metrics=["acc"])
    loss, acc = b.evaluate(x, yb, verbose=0)
    assert loss == pytest.approx(-np.mean(yb * np.log(q) + (1 - yb) * np.log(1 - q)), rel=1e-5)
    assert acc == pytest.approx(np.mean((q > 0.5) == yb))

    r = _fixed_model("linear", n_out=2)
    pr = x.astype(np.float64) @ r.get_weights()[0] + r.get_weights()[1]
    yr = rng.randn(10, 2)
    r.compile("sgd", "mse")
    assert r.evaluate(x, yr) == pytest.approx(np.mean((pr - yr) ** 2), rel=1e-5)
    r.compile("sgd", "mae", metrics=["mse"])
    assert r.evaluate(x, yr) == pytest.approx([np.mean(np.abs(pr - yr)), np.mean((pr - yr) ** 2)], rel=1e-5)


def test_softmax_crossentropy_uses_the_fused_logits_op():
    m = _fixed_model("softmax")
    m.compile("sgd", "categorical_crossentropy")
    m._compiled("test")
    types = {op.type for op in m._graph.get_operations()}
    assert "SoftmaxCrossEntropyWithLogits" in types


def test_accuracy_metric_follows_the_loss():
    x = np.random.RandomState(5).randn(20, 4).astype(np.float32)
    m = _fixed_model("softmax")
    pred = m.predict(x).argmax(-1)
    y = np.random.RandomState(6).randint(0, 3, 20)
    m.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    assert m.evaluate(x, keras.utils.to_categorical(y, 3))[1] == pytest.approx(np.mean(pred == y))
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    assert m.evaluate(x, y)[1] == pytest.approx(np.mean(pred == y))


# -- optimizers against hand-computed updates ------------------------------------------------
def _linear_step_data():
    rng = np.random.RandomState(7)
    return rng.randn(8, 3).astype(np.float32), rng.randn(8, 1).astype(np.float32), \
        rng.randn(3, 1).astype(np.float32), rng.randn(1).astype(np.float32)


def _grads(w, b, x, y):
    err = x.astype(np.float64) @ w + b - y  # mse = mean(err^2) over all n samples (one output)
    return 2 * x.T @ err / len(x), 2 * err.sum(0) / len(x)


def _run_opt(opt, steps=3):
    x, y, w0, b0 = _linear_step_data()
    m = keras.Sequential([L.Dense(1, input_dim=3)])
    m.set_weights([w0, b0])
    m.compile(opt, "mse")
    for _ in range(steps):
        m.train_on_batch(x, y)
    return m.get_weights(), (x, y, w0.astype(np.float64), b0.astype(np.float64))


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_decay_matches_keras2_rule(nesterov):
    lr, mom, decay = 0.1, 0.9, 0.5
    got, (x, y, w, b) = _run_opt(keras.optimizers.SGD(lr=lr, momentum=mom, decay=decay, nesterov=nesterov))
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for t in range(3):
        gw, gb = _grads(w, b, x, y)
        lr_t = lr / (1 + decay * t)
        vw, vb = mom * vw - lr_t * gw, mom * vb - lr_t * gb
        if nesterov:
            w, b = w + mom * vw - lr_t * gw, b + mom * vb - lr_t * gb
        else:
            w, b = w + vw, b + vb
    np.testing.assert_allclose(got[0], w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got[1], b, rtol=1e-4, atol=1e-6)


def test_sgd_plain_and_learning_rate_spelling():
    got, (x, y, w, b) = _run_opt(keras.optimizers.SGD(learning_rate=0.05), steps=1)
    gw, gb = _grads(w, b, x, y)
    np.testing.assert_allclose(got[0], w - 0.05 * gw, rtol=1e-5)
    assert keras.optimizers.SGD(lr=0.3).lr == 0.3
    with pytest.raises(TypeError, match="momentun"):
        keras.optimizers.SGD(momentun=0.9)


def test_adam_rmsprop_adagrad_match_hand_computed():
    got, (x, y, w, b) = _run_opt(keras.optimizers.Adam(learning_rate=0.01))
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    p = [w, b]
    for t in range(1, 4):
        g = _grads(p[0], p[1], x, y)
        lr_t = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for i in range(2):
            m[i] = 0.9 * m[i] + 0.1 * g[i]
            v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2
            p[i] = p[i] - lr_t * m[i] / (np.sqrt(v[i]) + 1e-7)
    np.testing.assert_allclose(got[0], p[0], rtol=1e-4)

    got, (x, y, w, b) = _run_opt(keras.optimizers.RMSprop(learning_rate=0.01))
    a, p = [np.zeros_like(w), np.zeros_like(b)], [w, b]
    for _ in range(3):
        g = _grads(p[0], p[1], x, y)
        for i in range(2):
            a[i] = 0.9 * a[i] + 0.1 * g[i] ** 2
            p[i] = p[i] - 0.01 * g[i] / (np.sqrt(a[i]) + 1e-7)
    np.testing.assert_allclose(got[0], p[0], rtol=1e-4)

    got, (x, y, w, b) = _run_opt(keras.optimizers.Adagrad(learning_rate=0.1))
    a, p = [np.zeros_like(w), np.zeros_like(b)], [w, b]
    for _ in range(3):
        g = _grads(p[0], p[1], x, y)
        for i in range(2):
            a[i] = a[i] + g[i] ** 2
            p[i] = p[i] - 0.1 * g[i] / (np.sqrt(a[i]) + 1e-7)
    np.testing.assert_allclose(got[0], p[0], rtol=1e-4)


def test_adadelta_matches_hand_computed_with_keras2_defaults():
    """Keras 2's Adadelta (lr 1.0, rho 0.95): the optimizer of Keras's MNIST convnet example."""
    opt = keras.optimizers.Adadelta()
    assert (opt.learning_rate, opt.rho) == (1.0, 0.95) and keras.optimizers.get("adadelta").rho == 0.95
    got, (x, y, w, b) = _run_opt(opt)
    a, d, p = [np.zeros_like(w), np.zeros_like(b)], [np.zeros_like(w), np.zeros_like(b)], [w, b]
    for _ in range(3):
        g = _grads(p[0], p[1], x, y)
        for i in range(2):
            a[i] = 0.95 * a[i] + 0.05 * g[i] ** 2
            step = g[i] * np.sqrt(d[i] + 1e-7) / np.sqrt(a[i] + 1e-7)
            p[i] = p[i] - step
            d[i] = 0.95 * d[i] + 0.05 * step ** 2
    np.testing.assert_allclose(got[0], p[0], rtol=1e-4)
    np.testing.assert_allclose(got[1], p[1], rtol=1e-4)


# -- fit -----------------------------------------------------------------------------------
def test_fit_learns_and_reports_history():
    x, y = blobs(240)
    np.random.seed(0)
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.1, momentum=0.9), "categorical_crossentropy", metrics=["accuracy"])
    h = m.fit(x, keras.utils.to_categorical(y, 3), batch_size=16, epochs=8, verbose=0, validation_split=0.25)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["loss"]) == 8 and h.history["loss"][-1] < h.history["loss"][0] / 3
    assert h.history["val_accuracy"][-1] > 0.95
    with pytest.warns(DeprecationWarning, match=r"predict\(\.\.\.\)\.argmax\(-1\)"):
        classes = m.predict_classes(x)
    np.testing.assert_array_equal(classes, m.predict(x).argmax(-1))
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(m.predict_proba(x[:5]), m.predict(x[:5]))


def test_fit_is_reproducible_with_seeds():
    x, y = blobs()

    def run():
        np.random.seed(11)
        nnplug.set_random_seed(11)
        m = keras.Sequential([L.Dense(8, input_dim=4, activation="relu"), L.Dropout(0.3),
                              L.Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy")
        return m.fit(x, y, batch_size=10, epochs=2, verbose=0).history["loss"], m.get_weights()

    (l1, w1), (l2, w2) = run(), run()
    assert l1 == l2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_epoch_loss_is_the_sample_weighted_batch_mean_and_validation_data():
    x, y = blobs(50)
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.0), "sparse_categorical_crossentropy")  # lr 0: weights never move
    h = m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False, validation_data=(x[:7], y[:7]))
    assert h.history["loss"][0] == pytest.approx(m.evaluate(x, y), rel=1e-5)
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate(x[:7], y[:7]), rel=1e-5)


def test_validation_split_takes_the_last_samples():
    x, y = blobs(40)
    seen = []
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    cb = keras.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["size"]))
    m.fit(x, y, batch_size=7, epochs=1, verbose=0, validation_split=0.25, callbacks=[cb])
    assert seen == [7, 7, 7, 7, 2]  # 30 training samples
    assert len(x) - sum(seen) == 10


def test_train_and_eval_graphs_are_built_once():
    x, y = blobs()
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["acc"])
    m.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    n_ops = len(m._graph.get_operations())
    m.fit(x, y, epochs=2, verbose=0, validation_split=0.2)
    m.evaluate(x, y)
    m.predict(x)
    m.train_on_batch(x[:5], y[:5])
    assert len(m._graph.get_operations()) == n_ops


def test_initial_epoch_and_test_on_batch():
    x, y = blobs()
    m = mlp()
    m.compile("sgd", "sparse_categorical_crossentropy")
    h = m.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
    assert m.test_on_batch(x, y) == pytest.approx(m.evaluate(x, y, batch_size=1000), rel=1e-5)


# -- weights and files ------------------------------------------------------------------------
def test_get_set_weights_validate_before_changing():
    m = mlp()
    w = m.get_weights()
    w[0][:] = 123  # a copy: the model is untouched
    assert not np.any(m.get_weights()[0] == 123)
    new = [np.full_like(a, i) for i, a in enumerate(w)]
    m.set_weights(new)
    np.testing.assert_array_equal(m.get_weights()[2], 2)
    before = m.get_weights()
    bad = [np.zeros_like(a) for a in w]
    bad[3] = np.zeros(7)
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(7,\)"):
        m.set_weights(bad)
    with pytest.raises(ValueError, match="4 weight arrays, got 3"):
        m.set_weights(bad[:3])
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.layers[1].get_weights()[1], 3)


def test_save_and_load_model_round_trip(tmp_path):
    x, y = blobs()
    m = mlp()
    m.compile(keras.optimizers.SGD(lr=0.05, momentum=0.9, decay=1e-3), "sparse_categorical_crossentropy",
              metrics=["acc"])
    m.fit(x, y, batch_size=20, epochs=2, verbose=0)
    path = tmp_path / "model.npz"  # nnplug's own format (.keras and .h5: tests/test_keras_saving.py)
    m.save(path)
    with np.load(path, allow_pickle=False) as data:  # plain data: arrays and one JSON string
        spec = json.loads(str(data["__config__"]))
    assert spec["model"]["class_name"] == "Sequential"
    m2 = keras.models.load_model(path)
    np.testing.assert_array_equal(m2.predict(x), m.predict(x))
    assert [type(l) for l in m2.layers] == [type(l) for l in m.layers]
    # optimizer state (momentum, iterations) came along: one more step gives the same weights
    m.train_on_batch(x, y)
    m2.train_on_batch(x, y)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_functional_model_saves_too(tmp_path):
    inp = keras.Input(shape=(4,))
    out = L.Dense(3, activation="softmax")(L.Dropout(0.2)(L.Dense(5, activation="relu")(inp)))
    m = keras.Model(inp, out)
    m.save(tmp_path / "f.npz")
    m2 = keras.models.load_model(tmp_path / "f.npz")
    x = blobs(10)[0]
    np.testing.assert_allclose(m2.predict(x), m.predict(x))


def test_save_weights_load_weights_and_failed_loads_change_nothing(tmp_path):
    a, b = mlp(), mlp()
    a.save_weights(tmp_path / "w.npz")
    b.load_weights(tmp_path / "w.npz")
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    other = mlp(hidden=9)
    before = other.get_weights()
    with pytest.raises(ValueError, match="w.npz"):
        other.load_weights(tmp_path / "w.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz"):
        other.load_weights(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        other.load_weights(tmp_path / "missing.npz")
    for u, v in zip(before, other.get_weights()):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="save_weights"):
        keras.models.load_model(tmp_path / "w.npz")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]  # atomic writes left no temp file


# -- bad input --------------------------------------------------------------------------------
def test_bad_input_errors_name_the_problem():
    x, y = blobs(30)
    m = mlp()
    m.compile("sgd", "categorical_crossentropy")
    y1 = keras.utils.to_categorical(y, 3)
    with pytest.raises(ValueError, match="30 samples but y has 29"):
        m.fit(x, y1[:29], verbose=0)
    with pytest.raises(ValueError, match=r"shape \(30, 5\).*\(None, 4\)"):
        m.fit(np.zeros((30, 5)), y1, verbose=0)
    with pytest.raises(ValueError, match="to_categorical.*sparse_categorical_crossentropy"):
        m.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"\(30, 3\)"):
        m.evaluate(x, np.zeros((30, 4)))
    with pytest.raises(ValueError, match=r"expects \(None, 4\)"):
        m.predict(np.zeros((2, 3)))
    m.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        m.fit(x, y + 5, verbose=0)


def test_unknown_names_list_choices_and_suggest():
    with pytest.raises(ValueError, match="(?i)did you mean 'tanh'.*relu"):
        L.Dense(3, activation="tahn")
    with pytest.raises(ValueError, match="(?i)did you mean 'categorical_crossentropy'"):
        mlp().compile("sgd", "categorical_crossentropie")
    with pytest.raises(ValueError, match="(?i)did you mean 'adam'.*rmsprop"):
        mlp().compile("adma", "mse")
    with pytest.raises(ValueError, match="metric 'accuracyy'"):
        mlp().compile("sgd", "mse", metrics=["accuracyy"])
    with pytest.raises(RuntimeError, match="compile"):
        mlp().fit(*blobs(), verbose=0)
