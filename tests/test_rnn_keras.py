"""Keras's recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed, Masking, Embedding) against
float64 NumPy versions written from Keras's definitions, and files laid out as tf.keras 2 writes them."""
import json

import numpy as np
import pytest

import nnplug as tf
from nnplug import keras
from nnplug.errors import InvalidArgumentError

from keras_rnn_reference import RECURRENT, np_gru, np_lstm, np_run, random_weights as _random_weights

h5py = pytest.importorskip("h5py")
L = keras.layers


@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_recurrent_layer_matches_numpy(kind, backwards, sequences):
    cls, step, n_states, shapes = RECURRENT[kind]
    x = np.random.default_rng(1).standard_normal((5, 6, 3)).astype(np.float32)
    model = keras.Sequential([cls(4, input_shape=(6, 3), return_sequences=sequences, go_backwards=backwards)])
    assert [tuple(w.shape) for w in model.get_weights()] == shapes
    weights = _random_weights(shapes, 2)
    model.set_weights(weights)
    want, _ = np_run(step, x.astype(np.float64), [w.astype(np.float64) for w in weights], 4, n_states,
                     backwards=backwards, sequences=sequences)
    np.testing.assert_allclose(model.predict(x), want, rtol=2e-5, atol=2e-6)


def test_gru_without_reset_after_and_initial_weights():
    x = np.random.default_rng(3).standard_normal((4, 5, 3)).astype(np.float32)
    model = keras.Sequential([L.GRU(4, input_shape=(5, 3), reset_after=False)])
    weights = _random_weights([(3, 12), (4, 12), (12,)], 4)
    model.set_weights(weights)
    want, _ = np_run(lambda *a: np_gru(*a, reset_after=False), x.astype(np.float64),
                     [w.astype(np.float64) for w in weights], 4, 1)
    np.testing.assert_allclose(model.predict(x), want, rtol=2e-5, atol=2e-6)
    lstm = keras.Sequential([L.LSTM(3, input_shape=(5, 3))])
    kernel, recurrent, bias = lstm.get_weights()
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # unit_forget_bias
    np.testing.assert_allclose(recurrent.T @ recurrent if recurrent.shape[0] >= recurrent.shape[1]
                               else recurrent @ recurrent.T, np.eye(3), atol=1e-5)  # orthogonal


def test_return_state_and_initial_state_on_tensors():
    layer = L.LSTM(4, return_sequences=True, return_state=True)
    x = np.random.default_rng(5).standard_normal((2, 6, 3)).astype(np.float32)
    with tf.Graph().as_default():
        xt = tf.placeholder(tf.float32, (2, 6, 3))
        seq, h, c = layer(xt)
        seq2, h2, c2 = layer(xt[:, 3:], initial_state=[layer(xt[:, :3])[1], layer(xt[:, :3])[2]])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            whole, last_h, later = sess.run([seq, h, seq2], {xt: x})
            weights = [w.astype(np.float64) for w in sess.run(layer.weights)]
    want, states = np_run(np_lstm, x.astype(np.float64), weights, 4, 2, sequences=True)
    np.testing.assert_allclose(whole, want, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(last_h, states[0], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(later, whole[:, 3:], rtol=2e-5, atol=2e-6)
    with pytest.raises(NotImplementedError, match="return_state.*called on tensors"):
        L.LSTM(2, return_state=True)(keras.Input(shape=(3, 2)))


def test_masking_skips_steps_and_bidirectional_merges_in_time_order():
    x = np.random.default_rng(6).standard_normal((3, 5, 3)).astype(np.float32)
    x[0, 3:] = 0.0  # padding after 3 steps
    x[2, 1] = 0.0  # a masked step inside
    mask = np.any(x != 0.0, axis=-1)
    model = keras.Sequential([L.Masking(input_shape=(5, 3)), L.Bidirectional(L.GRU(4, return_sequences=True),
                                                                             merge_mode="sum")])
    weights = _random_weights([(3, 12), (4, 12), (2, 12)] * 2, 7)
    model.set_weights(weights)
    w64 = [w.astype(np.float64) for w in weights]
    fw, _ = np_run(np_gru, x.astype(np.float64), w64[:3], 4, 1, mask=mask, sequences=True)
    bw, _ = np_run(np_gru, x.astype(np.float64), w64[3:], 4, 1, mask=mask, backwards=True, sequences=True)
    np.testing.assert_allclose(model.predict(x), fw + bw[:, ::-1], rtol=2e-5, atol=2e-6)


def test_embedding_mask_zero_time_distributed_dense_and_training():
    rng = np.random.default_rng(8)
    ids = rng.integers(1, 20, (64, 6)).astype(np.float32)
    ids[:, 4:] = 0  # padding
    labels = (ids[:, 0] > 10).astype(np.int32)
    model = keras.Sequential([L.Embedding(20, 8, mask_zero=True, input_length=6), L.LSTM(8, return_sequences=True),
                              L.TimeDistributed(L.Dense(2)), L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.output_shape == (None, 2) and model.layers[2].compute_output_shape((None, 6, 8)) == (None, 6, 2)
    hist = model.fit(ids, labels, epochs=15, batch_size=16, verbose=0)
    assert hist.history["accuracy"][-1] > 0.9, hist.history
    with pytest.raises(InvalidArgumentError, match=r"Embedding layer 'embedding_\d+': indices\[0,1\] = 20 is not in"):
        model.predict(np.array([[1, 20, 0, 0, 0, 0]], np.float32))


# -- a file as tf.keras 2 writes it ------------------------------------------------------------------------
def _cfg(name, **extra):
    return {"name": name, "trainable": True, "dtype": "float32", **extra}


def _recurrent_cfg(name, units, **extra):
    return _cfg(name, return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                time_major=False, units=units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                kernel_initializer={"class_name": "GlorotUniform", "config": {"seed": None}},
                recurrent_initializer={"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
                bias_initializer={"class_name": "Zeros", "config": {}}, kernel_regularizer=None,
                recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                implementation=2, **extra)


def _write_tf_keras2(path, layers, weights_by_layer):
    with h5py.File(path, "w") as f:
        f.attrs["backend"], f.attrs["keras_version"] = "tensorflow", "2.11.0"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "sequential",
                                                                                     "layers": layers}})
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [name.encode() for name in weights_by_layer]
        for name, named in weights_by_layer.items():
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [n.encode() for n, _ in named]
            for n, value in named:
                lg.create_dataset(n, data=value)


def test_a_tf_keras_2_h5_file_with_embedding_bidirectional_gru_and_lstm_loads(tmp_path):
    rng = np.random.default_rng(9)
    emb = rng.uniform(-1, 1, (10, 3)).astype(np.float32)
    gru = _random_weights([(3, 6), (2, 6), (2, 6)] * 2, 10)
    lstm = _random_weights([(4, 12), (3, 12), (12,)], 11)
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 5], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "embedding_input"}},
        {"class_name": "Embedding", "config": _cfg(
            "embedding", batch_input_shape=[None, 5], input_dim=10, output_dim=3, embeddings_initializer={
                "class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
            embeddings_regularizer=None, activity_regularizer=None, embeddings_constraint=None, mask_zero=True,
            input_length=5)},
        {"class_name": "Bidirectional", "config": _cfg("bidirectional", merge_mode="concat", layer={
            "class_name": "GRU", "config": _recurrent_cfg("gru", 2, reset_after=True) | {"return_sequences": True}})},
        {"class_name": "LSTM", "config": _recurrent_cfg("lstm", 3, unit_forget_bias=True)},
    ]
    gru_names = [f"bidirectional/{d}_gru/gru_cell/{w}:0" for d in ("forward", "backward")
                 for w in ("kernel", "recurrent_kernel", "bias")]
    _write_tf_keras2(tmp_path / "m.h5", layers, {
        "embedding": [("embedding/embeddings:0", emb)], "bidirectional": list(zip(gru_names, gru)),
        "lstm": [(f"lstm/lstm_cell/{w}:0", v) for w, v in zip(("kernel", "recurrent_kernel", "bias"), lstm)]})
    model = keras.models.load_model(tmp_path / "m.h5", compile=False)
    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "Bidirectional", "LSTM"]
    ids = rng.integers(1, 10, (4, 5))
    ids[1, 2:] = 0
    mask = ids != 0
    x = emb[ids].astype(np.float64)
    w = [a.astype(np.float64) for a in gru]
    fw, _ = np_run(np_gru, x, w[:3], 2, 1, mask=mask, sequences=True)
    bw, _ = np_run(np_gru, x, w[3:], 2, 1, mask=mask, backwards=True, sequences=True)
    want, _ = np_run(np_lstm, np.concatenate([fw, bw[:, ::-1]], -1), [a.astype(np.float64) for a in lstm], 3, 2,
                     mask=mask)
    np.testing.assert_allclose(model.predict(ids.astype(np.float32)), want, rtol=2e-5, atol=2e-6)
    # and it writes the same layout back, which loads to the same predictions
    model.save(tmp_path / "again.h5")
    with h5py.File(tmp_path / "again.h5", "r") as f:
        assert f["model_weights/lstm"].attrs["weight_names"].tolist()[1] == b"lstm/lstm_cell/recurrent_kernel:0"
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "again.h5").predict(ids.astype(np.float32)),
                                  model.predict(ids.astype(np.float32)))


def test_bad_configs_and_arguments_are_named():
    with pytest.raises(NotImplementedError, match="stateful=True is not supported"):
        L.LSTM(3, stateful=True)
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        L.Bidirectional(L.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match=r"'lstm\w*' needs inputs \[batch, time steps, features\] with known "
                                         r"features, got shape \(None, 4, None\)"):
        keras.Sequential([L.LSTM(3, input_shape=(4, None))]).predict(np.zeros((1, 4, 3), np.float32))


def test_a_keras_3_bidirectional_config_with_its_backward_layer_loads(tmp_path):
    """Keras 3 writes the backward layer (go_backwards already true), module wrappers and object ids."""
    def keras3(name, go_backwards):
        cfg = {**_recurrent_cfg(name, 2, reset_after=True, seed=None), "go_backwards": go_backwards}
        cfg["recurrent_initializer"] = {"module": "keras.initializers", "class_name": "Orthogonal",
                                        "config": {"seed": None, "gain": 1.0}, "registered_name": None,
                                        "shared_object_id": 1402}
        del cfg["time_major"], cfg["implementation"]
        return {"module": "keras.layers", "class_name": "GRU", "config": cfg, "registered_name": None}
    gru = _random_weights([(3, 6), (2, 6), (2, 6)] * 2, 12)
    layers = [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4, 3], "dtype": "float32",
                                                      "name": "input_layer"}},
              {"class_name": "Bidirectional", "config": _cfg("bidirectional", merge_mode="ave",
                                                             layer=keras3("forward_gru", False),
                                                             backward_layer=keras3("backward_gru", True))}]
    names = [f"sequential/bidirectional/{d}_gru/gru_cell/{w}" for d in ("forward", "backward")
             for w in ("kernel", "recurrent_kernel", "bias")]
    _write_tf_keras2(tmp_path / "k3.h5", layers, {"bidirectional": list(zip(names, gru))})
    model = keras.models.load_model(tmp_path / "k3.h5", compile=False)
    bi = model.layers[0]
    assert not bi.forward_layer.go_backwards and bi.backward_layer.go_backwards
    x = np.random.default_rng(13).standard_normal((3, 4, 3)).astype(np.float32)
    w = [a.astype(np.float64) for a in gru]
    fw, _ = np_run(np_gru, x.astype(np.float64), w[:3], 2, 1)
    bw, _ = np_run(np_gru, x.astype(np.float64), w[3:], 2, 1, backwards=True)
    np.testing.assert_allclose(model.predict(x), (fw + bw) / 2, rtol=2e-5, atol=2e-6)
    again = L.Bidirectional.from_config(bi.get_config())
    assert again.backward_layer.go_backwards and again.get_config()["backward_layer"]["module"] == "keras.layers"
