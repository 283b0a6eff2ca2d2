"""Functional Keras models of several inputs and outputs, shared layers, nested models, the merge layers and
Lambda -- against NumPy forward passes and a hand-computed SGD step, with Keras 2's log names, their files,
and clear errors for inputs that do not fit."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras

L = keras.layers
RS = np.random.RandomState(0)
XA, XB = RS.randn(12, 4).astype(np.float32), RS.randn(12, 3).astype(np.float32)


def np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def two_by_two(name="m"):
    """Inputs a (4) and b (3); outputs cls (softmax 2) and reg (linear 1) of tanh(Dense(a)) joined with b."""
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    h = L.Concatenate(name="join")([L.Dense(5, activation="tanh", name="hid")(a), b])
    return keras.Model(inputs=[a, b], outputs=[L.Dense(2, activation="softmax", name="cls")(h),
                                               L.Dense(1, name="reg")(h)], name=name)


def np_two_by_two(weights, xa, xb):
    w1, b1, wc, bc, wr, br = [w.astype(np.float64) for w in weights]
    h = np.concatenate([np.tanh(xa @ w1 + b1), xb], 1)
    return np_softmax(h @ wc + bc), h @ wr + br


def test_two_inputs_two_outputs_predict_like_numpy_from_lists_and_dicts():
    m = two_by_two()
    assert m.input_names == ["a", "b"] and m.output_names == ["cls", "reg"]
    assert m.input_shape == [(None, 4), (None, 3)] and m.output_shape == [(None, 2), (None, 1)]
    assert [t.shape for t in m.inputs] == [(None, 4), (None, 3)] and len(m.outputs) == 2
    assert m.get_layer("join").name == "join"
    p_cls, p_reg = m.predict([XA, XB], batch_size=5)
    want_cls, want_reg = np_two_by_two(m.get_weights(), XA, XB)
    np.testing.assert_allclose(p_cls, want_cls, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p_reg, want_reg, rtol=1e-5, atol=1e-5)
    by_name = m.predict({"b": XB, "a": XA}, batch_size=5)
    np.testing.assert_array_equal(by_name[1], p_reg)
    np.testing.assert_array_equal(m.predict_on_batch([XA, XB])[0], p_cls)


def test_dict_inputs_are_fed_by_their_keys():
    a = keras.Input(shape=(2,), name="left")
    m = keras.Model(inputs={"x": a}, outputs=L.Dense(1, name="o")(a))
    w, bias = m.get_weights()
    np.testing.assert_allclose(m.predict({"x": XA[:, :2]}), XA[:, :2] @ w + bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.predict({"left": XA[:, :2]}), XA[:, :2] @ w + bias, rtol=1e-5, atol=1e-6)


def test_one_sgd_step_with_loss_weights_matches_numpy():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    h = L.concatenate([a, b])
    m = keras.Model([a, b], [L.Dense(2, name="o1")(h), L.Dense(1, name="o2")(h)])
    lr, lw = 0.1, {"o1": 0.5, "o2": 2.0}
    m.compile(keras.optimizers.SGD(lr=lr), loss="mse", loss_weights=lw)
    y1, y2 = RS.randn(12, 2).astype(np.float32), RS.randn(12, 1).astype(np.float32)
    w1, b1, w2, b2 = [w.astype(np.float64) for w in m.get_weights()]
    hx = np.concatenate([XA, XB], 1).astype(np.float64)
    p1, p2 = hx @ w1 + b1, hx @ w2 + b2
    l1, l2 = np.mean((p1 - y1) ** 2), np.mean((p2 - y2) ** 2)
    loss, o1_loss, o2_loss = m.train_on_batch({"a": XA, "b": XB}, {"o1": y1, "o2": y2})
    assert m.metrics_names == ["loss", "o1_loss", "o2_loss"]
    np.testing.assert_allclose([loss, o1_loss, o2_loss], [0.5 * l1 + 2.0 * l2, l1, l2], rtol=1e-5)
    g1 = lw["o1"] * 2 * (p1 - y1) / p1.size  # d(weighted loss)/d(output)
    g2 = lw["o2"] * 2 * (p2 - y2) / p2.size
    want = [w1 - lr * hx.T @ g1, b1 - lr * g1.sum(0), w2 - lr * hx.T @ g2, b2 - lr * g2.sum(0)]
    for got, exp in zip(m.get_weights(), want):
        np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-6)


def test_fit_logs_and_history_are_named_as_keras_2():
    m = two_by_two()
    m.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"], metrics=["acc"], loss_weights=[1.0, 0.5])
    yc, yr = RS.randint(0, 2, 12), RS.randn(12, 1)
    h = m.fit([XA, XB], [yc, yr], batch_size=4, epochs=2, verbose=0, validation_split=0.25)
    names = ["loss", "cls_loss", "reg_loss", "cls_acc", "reg_acc"]
    assert m.metrics_names == names
    assert set(h.history) == set(names) | {"val_" + n for n in names}
    assert all(len(v) == 2 for v in h.history.values())
    res = m.evaluate([XA, XB], [yc, yr], return_dict=True)
    assert list(res) == names
    assert res["loss"] == pytest.approx(res["cls_loss"] + 0.5 * res["reg_loss"], rel=1e-5)
    # metrics by output name; an output without a loss is not trained and has no log entries
    m.compile("sgd", loss={"cls": "sparse_categorical_crossentropy"}, metrics={"cls": "accuracy"})
    h = m.fit([XA, XB], {"cls": yc}, epochs=1, verbose=0, validation_data=([XA, XB], {"cls": yc}))
    assert set(h.history) == {"loss", "cls_loss", "cls_accuracy", "val_loss", "val_cls_loss", "val_cls_accuracy"}


def test_sample_weight_per_output_scales_that_outputs_loss():
    a = keras.Input(shape=(4,), name="a")
    m = keras.Model(a, [L.Dense(1, name="u")(a), L.Dense(1, name="v")(a)])
    m.compile("sgd", "mse")
    y = [np.zeros((12, 1)), np.zeros((12, 1))]
    base = m.test_on_batch(XA, y)
    w = np.arange(12, dtype=np.float32)
    pu = m.predict(XA)[0].astype(np.float64)
    got = m.test_on_batch(XA, y, sample_weight={"u": w})
    want_u = np.mean(w * pu[:, 0] ** 2)
    np.testing.assert_allclose(got[1:], [want_u, base[2]], rtol=1e-5)


def test_a_shared_layer_shares_its_weights_between_inputs():
    a, b = keras.Input(shape=(3,), name="a"), keras.Input(shape=(3,), name="b")
    shared = L.Dense(2, name="shared")
    m = keras.Model([a, b], L.subtract([shared(a), shared(b)]))
    assert len(m.weights) == 2 and m.count_params() == 8
    w, bias = m.get_weights()
    np.testing.assert_allclose(m.predict([XB, XA[:, :3]]), XB @ w - XA[:, :3] @ w, rtol=1e-5, atol=1e-6)
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "a[0][0]" in text and "b[0][0]" in text and "Total params: 8" in text
    assert text.count("shared (Dense)") == 1
    m.compile("sgd", "mse")
    m.fit([XB, XA[:, :3]], np.ones((12, 2)), epochs=1, verbose=0)
    np.testing.assert_allclose(shared.get_weights()[1], bias)  # the bias cancels in a - b: no gradient


def test_a_nested_model_is_a_layer_with_the_same_weights():
    i = keras.Input(shape=(4,))
    inner = keras.Model(i, L.Dense(3, activation="relu", name="enc")(i), name="inner")
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(4,), name="b")
    outer = keras.Model([a, b], L.Dot(axes=1)([inner(a), inner(b)]))
    xa2 = XA[::-1].copy()
    ea, eb = inner.predict(XA), inner.predict(xa2)
    np.testing.assert_allclose(outer.predict([XA, xa2])[:, 0], (ea * eb).sum(1), rtol=1e-5, atol=1e-6)
    outer.compile("sgd", "mse")
    outer.fit([XA, xa2], np.ones((12, 1)), epochs=1, verbose=0)
    assert not np.allclose(inner.predict(XA), ea)  # training the outer model trained the inner one


@pytest.mark.parametrize("layer, fn", [
    (L.Add, lambda xs: xs[0] + xs[1] + xs[2]), (L.Multiply, lambda xs: xs[0] * xs[1] * xs[2]),
    (L.Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3), (L.Maximum, lambda xs: np.maximum.reduce(xs)),
    (L.Minimum, lambda xs: np.minimum.reduce(xs))])
def test_elementwise_merge_layers_match_numpy(layer, fn):
    ins = [keras.Input(shape=(2, 3)) for _ in range(3)]
    xs = [RS.randn(5, 2, 3).astype(np.float32) for _ in range(3)]
    m = keras.Model(ins, layer()(ins))
    np.testing.assert_allclose(m.predict(xs), fn(xs), rtol=1e-6, atol=1e-6)
    f = keras.Model(ins, getattr(L, layer.__name__.lower())(ins))  # the functional form
    np.testing.assert_allclose(f.predict(xs), fn(xs), rtol=1e-6, atol=1e-6)


def test_broadcasting_subtract_concatenate_and_dot_match_numpy():
    a, b, c = keras.Input(shape=(2, 3)), keras.Input(shape=(1, 3)), keras.Input(shape=(4, 3))
    x, y, z = (RS.randn(5, *s).astype(np.float32) for s in ((2, 3), (1, 3), (4, 3)))
    sub = L.Subtract()([a, b])
    assert sub.shape == (None, 2, 3)
    cat = L.Concatenate(axis=1)([a, c])
    assert cat.shape == (None, 6, 3)
    dot3 = L.Dot(axes=(2, 2))([a, c])  # (5, 2, 4)
    dot1 = L.dot([a, c], axes=[2, 2], normalize=True)
    m = keras.Model([a, b, c], [sub, cat, dot3, dot1])
    got = m.predict([x, y, z])
    np.testing.assert_allclose(got[0], x - y, rtol=1e-6)
    np.testing.assert_allclose(got[1], np.concatenate([x, z], 1), rtol=1e-6)
    np.testing.assert_allclose(got[2], np.einsum("bik,bjk->bij", x, z), rtol=1e-5, atol=1e-6)
    xn, zn = x / np.linalg.norm(x, axis=2, keepdims=True), z / np.linalg.norm(z, axis=2, keepdims=True)
    np.testing.assert_allclose(got[3], np.einsum("bik,bjk->bij", xn, zn), rtol=1e-5, atol=1e-6)
    p, q = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    d = keras.Model([p, q, c], [L.Dot(axes=1)([p, q]), L.Dot(axes=(2, 1))([c, p])])
    u, v = XB[:5], XA[:5, :3]
    got = d.predict([u, v, z])
    np.testing.assert_allclose(got[0], (u * v).sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(got[1], np.einsum("bjk,bk->bj", z, u), rtol=1e-5, atol=1e-6)
    assert d.output_shape == [(None, 1), (None, 4)]


def test_merge_shape_errors_name_the_layer_and_the_shapes():
    a, b, c = keras.Input(shape=(3,)), keras.Input(shape=(4,)), keras.Input(shape=(2, 3))
    with pytest.raises(ValueError, match=r"Add layer 'bad_add': inputs of shapes \(None, 3\), \(None, 4\) differ"):
        L.Add(name="bad_add")([a, b])
    with pytest.raises(ValueError, match="Subtract layer 'sub3' needs exactly 2 inputs, got 3"):
        L.Subtract(name="sub3")([a, a, a])
    with pytest.raises(ValueError, match="Concatenate layer 'cat'.*different ranks"):
        L.Concatenate(name="cat")([a, c])
    with pytest.raises(ValueError, match="must be called on a list of tensors"):
        L.Maximum(name="one")(a)
    with pytest.raises(ValueError, match=r"Dot layer 'dd'.*differ on the dot axes \[1, 1\]: 3 != 4"):
        L.Dot(axes=1, name="dd")([a, b])
    with pytest.raises(ValueError, match="Concatenate layer 'c0'.*axis 0"):
        L.Concatenate(axis=0, name="c0")([a, a])


def test_concatenate_passes_the_mask_on_to_a_recurrent_layer():
    ids = keras.Input(shape=(4,))
    e1, e2 = L.Embedding(6, 3, mask_zero=True), L.Embedding(6, 2)
    rnn = L.SimpleRNN(4)
    long = keras.Model(ids, rnn(L.Concatenate()([e1(ids), e2(ids)])))
    short_ids = keras.Input(shape=(2,))
    short = keras.Model(short_ids, rnn(L.Concatenate()([e1(short_ids), e2(short_ids)])))
    padded = np.array([[1, 2, 0, 0], [3, 5, 0, 0]], np.float32)
    np.testing.assert_allclose(long.predict(padded), short.predict(padded[:, :2]), rtol=1e-5, atol=1e-6)


def test_lambda_runs_a_function_of_graph_tensors_and_infers_its_shape():
    a = keras.Input(shape=(4,))
    summed = L.Lambda(lambda t, k: k * tf.reduce_sum(t, axis=1, keepdims=True), arguments={"k": 3.0})(a)
    assert summed.shape == (None, 1)
    b = keras.Input(shape=(4,))
    pair = L.Lambda(lambda ts: ts[0] * ts[1], output_shape=(4,))([a, b])
    m = keras.Model([a, b], [summed, pair, L.Lambda("relu")(a)])
    got = m.predict([XA, XA[::-1]])
    np.testing.assert_allclose(got[0], 3 * XA.sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(got[1], XA * XA[::-1], rtol=1e-6)
    np.testing.assert_allclose(got[2], np.maximum(XA, 0))


def test_saving_a_python_lambda_is_an_error_naming_it_and_writes_nothing(tmp_path):
    pytest.importorskip("jsonschema")
    a = keras.Input(shape=(4,))
    m = keras.Model(a, L.Lambda(lambda t: t * 2, name="double")(a))
    for name in ("m.npz", "m.keras", "m.h5"):
        with pytest.raises(ValueError, match="Lambda layer 'double' cannot be saved"):
            m.save(tmp_path / name)
        assert not (tmp_path / name).exists()
    r = keras.Model(a, L.Lambda("tanh", name="squash")(a))
    r.save(tmp_path / "r.npz")
    r2 = keras.models.load_model(tmp_path / "r.npz")
    np.testing.assert_allclose(r2.predict(XA), np.tanh(XA), rtol=1e-6)


@pytest.mark.parametrize("name", ["m.npz", "m.keras", "m.h5"])
def test_multi_io_models_round_trip_with_their_compile_settings(tmp_path, name):
    pytest.importorskip("jsonschema")
    if not name.endswith(".npz"):
        pytest.importorskip("h5py")
    m = two_by_two()
    m.compile("adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"}, loss_weights={"reg": 0.25},
              metrics={"cls": ["acc"]})
    yc, yr = RS.randint(0, 2, 12), RS.randn(12, 1)
    m.fit([XA, XB], [yc, yr], epochs=2, batch_size=6, verbose=0)
    m.save(tmp_path / name)
    m2 = keras.models.load_model(tmp_path / name)
    assert m2.input_names == ["a", "b"] and m2.output_names == ["cls", "reg"]
    for got, want in zip(m2.predict([XA, XB]), m.predict([XA, XB])):
        np.testing.assert_array_equal(got, want)
    assert m2.metrics_names == m.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_acc"]
    np.testing.assert_allclose(m2.evaluate([XA, XB], [yc, yr]), m.evaluate([XA, XB], [yc, yr]), rtol=1e-6)


@pytest.mark.parametrize("name", ["m.npz", "m.keras", "m.h5"])
def test_merge_layers_and_an_int32_input_round_trip(tmp_path, name):
    pytest.importorskip("jsonschema")
    if not name.endswith(".npz"):
        pytest.importorskip("h5py")
    ids, v = keras.Input(shape=(3,), dtype="int32", name="ids"), keras.Input(shape=(2,), name="v")
    e = L.Flatten()(L.Embedding(7, 2)(ids))
    out = L.Concatenate()([L.Dot(axes=1, normalize=True)([e, L.Dense(6)(v)]), L.maximum([v, v]),
                           L.average([v, L.Dense(2)(v)])])
    m = keras.Model([ids, v], out)
    x = [RS.randint(0, 7, (5, 3)).astype(np.int32), XA[:5, :2]]
    m.save(tmp_path / name)
    m2 = keras.models.load_model(tmp_path / name)
    assert m2.inputs[0].dtype == "int32"
    np.testing.assert_array_equal(m2.predict(x), m.predict(x))
    with pytest.raises(ValueError, match=r"x\['ids'\] holds values that are not int32 integers, but the model's "
                                         r"input 'ids' is int32"):
        m2.predict([x[0] + 0.5, x[1]])


def test_bad_inputs_give_errors_naming_the_input():
    m = two_by_two()
    with pytest.raises(ValueError, match=r"the model has 2 inputs \('a', 'b'\); give x as a list of 2 arrays"):
        m.predict(XA)
    with pytest.raises(ValueError, match=r"the model has 2 inputs \('a', 'b'\), but x is a list of 3 arrays"):
        m.predict([XA, XB, XB])
    with pytest.raises(ValueError, match="x has an array for 'c', but the model has no input of that name"):
        m.predict({"a": XA, "c": XB})
    with pytest.raises(ValueError, match="x gives no array for the model's input 'b'"):
        m.predict({"a": XA})
    with pytest.raises(ValueError, match=r"x\['b'\] has shape \(12, 4\), but the model's input 'b' expects"):
        m.predict([XA, XA])
    with pytest.raises(ValueError, match="the input 'b' has 5 samples but 'a' has 12"):
        m.predict([XA, XB[:5]])
    with pytest.raises(ValueError, match="loss names the output 'nope', but the model's outputs are cls, reg"):
        m.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="loss has 3 entries, but the model has 2 outputs"):
        m.compile("sgd", loss=["mse", "mse", "mse"])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match="y has an array for 'out', but the model has no output of that name"):
        m.fit([XA, XB], {"out": XB}, verbose=0)
    with pytest.raises(ValueError, match=r"expects y\['reg'\] of shape \(12, 1\) like the model's output 'reg'"):
        m.fit([XA, XB], [np.ones((12, 2)), np.ones((12, 3))], verbose=0)
    with pytest.raises(ValueError, match="graph disconnected.*input 'b'"):
        keras.Model(m.inputs[0], m.outputs)


def test_a_saved_lambda_naming_code_or_a_bad_node_is_refused_by_the_schema(tmp_path):
    pytest.importorskip("jsonschema")
    from nnplug.keras.saving import ModelFileError, model_from_config
    a = keras.Input(shape=(4,), name="a")
    good = keras.Model(a, L.Lambda("relu", name="lam")(a)).get_config()
    bad = {"class_name": "Model", "config": {**good, "layers": [good["layers"][0], {
        "class_name": "Lambda", "config": {**good["layers"][1]["config"], "function": "__import__('os')"}}]}}
    with pytest.raises(ModelFileError, match=r"layers\[1\]\.config\.function: expected an activation name"):
        model_from_config(bad)
    loop = {"class_name": "Model", "config": {**good, "nodes": [[0, []], [1, [1]]]}}
    with pytest.raises(ModelFileError, match="nodes\\[1\\] names a layer or an input node that does not come before"):
        model_from_config(loop)
