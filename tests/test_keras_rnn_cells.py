"""Keras's recurrent cells run by RNN(cell) against the float64 NumPy loop of keras_rnn_reference.py: each
cell alone, StackedRNNCells, backwards, sequences, unknown time steps, masks, return_state on tensors, a fit,
a save/load round trip, and bad arguments named."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras

from keras_rnn_reference import RECURRENT, np_gru, np_lstm, np_run, np_simple, random_weights

L = keras.layers
CELLS = {"SimpleRNN": L.SimpleRNNCell, "LSTM": L.LSTMCell, "GRU": L.GRUCell}


def _f64(ws):
    return [w.astype(np.float64) for w in ws]


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_rnn_of_a_cell_matches_numpy(kind, backwards):
    _, step, n_states, shapes = RECURRENT[kind]
    x = np.random.default_rng(1).standard_normal((5, 6, 3)).astype(np.float32)
    layer = L.RNN(CELLS[kind](4), return_sequences=True, go_backwards=backwards)
    model = keras.Sequential([L.InputLayer(input_shape=(6, 3)), layer])
    assert model.output_shape == (None, 6, 4)
    assert [tuple(w.shape) for w in model.get_weights()] == shapes
    weights = random_weights(shapes, 2)
    model.set_weights(weights)
    want, _ = np_run(step, x.astype(np.float64), _f64(weights), 4, n_states, backwards=backwards, sequences=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=2e-5, atol=2e-6)


def test_unknown_time_steps_and_masks_match_the_known_length_loop():
    x = np.random.default_rng(3).standard_normal((4, 5, 3)).astype(np.float32)
    x[1, 3:] = 0.0  # masked steps: the state is kept and the output repeated
    weights = random_weights(RECURRENT["GRU"][3], 4)
    for steps in (5, None):
        model = keras.Sequential([L.InputLayer(input_shape=(steps, 3)), L.Masking(),
                                  L.RNN(L.GRUCell(4), return_sequences=True)])
        model.set_weights(weights)
        mask = np.any(x != 0, axis=-1)
        want, _ = np_run(np_gru, x.astype(np.float64), _f64(weights), 4, 1, mask=mask, sequences=True)
        np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=2e-5, atol=2e-6, err_msg=str(steps))


def test_stacked_cells_feed_each_other_and_return_every_state():
    x = np.random.default_rng(5).standard_normal((2, 4, 3)).astype(np.float32)
    layer = L.RNN([L.LSTMCell(4), L.SimpleRNNCell(2)], return_state=True)
    assert isinstance(layer.cell, L.StackedRNNCells)
    lstm_w, simple_w = random_weights([(3, 16), (4, 16), (16,)], 6), random_weights([(4, 2), (2, 2), (2,)], 7)
    with tf.Graph().as_default():
        xt = tf.placeholder(tf.float32, (2, 4, 3))
        out, h1, c1, h2 = layer(xt)
        assert [w.name.split(":")[0] for w in layer.weights][:1] == \
            [f"{layer.name}/{layer.cell.name}/{layer.cell.cells[0].name}/kernel"]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for var, value in zip(layer.weights, lstm_w + simple_w):
                sess.run(var.assign(value))
            got = sess.run([out, h1, c1, h2], {xt: x})

    def stacked(x_t, states, w, units):
        h1, (h1_, c1_) = np_lstm(x_t, states[:2], w[:3], 4)
        h2, _ = np_simple(h1, states[2:], w[3:], 2)
        return h2, [h1_, c1_, h2]
    states = [np.zeros((2, 4)), np.zeros((2, 4)), np.zeros((2, 2))]
    for t in range(4):
        out_want, states = stacked(x[:, t].astype(np.float64), states, _f64(lstm_w + simple_w), None)
    for g, w in zip(got, [out_want] + states):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


def test_initial_state_on_tensors_continues_the_sequence():
    layer = L.RNN(L.LSTMCell(3), return_sequences=True, return_state=True)
    x = np.random.default_rng(8).standard_normal((2, 6, 2)).astype(np.float32)
    with tf.Graph().as_default():
        xt = tf.placeholder(tf.float32, (2, 6, 2))
        whole, _, _ = layer(xt)
        _, h, c = layer(xt[:, :2])
        later, _, _ = layer(xt[:, 2:], initial_state=[h, c])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            a, b = sess.run([whole, later], {xt: x})
    np.testing.assert_allclose(b, a[:, 2:], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="initial_state must be a list of 2"):
        layer(tf.zeros((2, 6, 2)), initial_state=[tf.zeros((2, 3))])


def test_fit_lowers_the_loss_and_dropout_acts_in_training_only():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((64, 5, 2)).astype(np.float32)
    y = x[:, :, :1].sum(axis=1)
    model = keras.Sequential([L.InputLayer(input_shape=(5, 2)),
                              L.RNN(L.SimpleRNNCell(8, dropout=0.1, recurrent_dropout=0.1, seed=1)), L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before
    np.testing.assert_array_equal(model.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0))


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_save_load_round_trip(tmp_path, name):
    x = np.random.default_rng(10).standard_normal((3, 4, 3)).astype(np.float32)
    model = keras.Sequential([L.InputLayer(input_shape=(4, 3)),
                              L.RNN([L.GRUCell(4, reset_after=False), L.LSTMCell(3, unit_forget_bias=False)],
                                    return_sequences=True),
                              L.RNN(L.SimpleRNNCell(2, activation="relu"), go_backwards=True)])
    model.compile(optimizer="nadam", loss="mse")
    model.save(tmp_path / name)
    loaded = keras.models.load_model(tmp_path / name)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    cell = loaded.layers[0].cell.cells[0]
    assert isinstance(cell, L.GRUCell) and cell.get_config()["reset_after"] is False
    assert loaded.layers[1].get_config()["go_backwards"] is True


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="LSTMCell 'c1'.*positive number of units"):
        L.LSTMCell(0, name="c1")
    with pytest.raises(ValueError, match="GRUCell 'c2': dropout must be in"):
        L.GRUCell(3, dropout=1.5, name="c2")
    with pytest.raises(TypeError, match="SimpleRNNCell got unexpected arguments: return_sequences"):
        L.SimpleRNNCell(3, return_sequences=True)
    with pytest.raises(TypeError, match="RNN layer 'r'.*SimpleRNNCell, LSTMCell, GRUCell or StackedRNNCells"):
        L.RNN(L.Dense(3), name="r")
    with pytest.raises(ValueError, match="StackedRNNCells 's'.*non-empty list"):
        L.StackedRNNCells([], name="s")
    with pytest.raises(ValueError, match="RNN layer 'r2' needs inputs \\[batch, time steps, features\\]"):
        keras.Sequential([L.InputLayer(input_shape=(3,)), L.RNN(L.LSTMCell(2), name="r2")])
    with pytest.raises(NotImplementedError, match="RNN layer 'r3': stateful"):
        L.RNN(L.LSTMCell(2), stateful=True, name="r3")
