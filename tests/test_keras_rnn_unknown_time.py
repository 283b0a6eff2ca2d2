"""Keras recurrent layers on sequences whose length is known only at run time (`Input(shape=(None, features))`,
an Embedding on `(None,)` ids): one model fits on batches of one length and predicts on another, matching
float64 NumPy versions of Keras's cells (tests/keras_rnn_reference.py), and trains exactly as the same model
built for a fixed length."""
import numpy as np
import pytest

import nnplug as tf
from nnplug import keras

from keras_rnn_reference import RECURRENT, np_gru, np_lstm, np_run, random_weights

L = keras.layers
RNG = np.random.default_rng(0)
X7 = RNG.standard_normal((8, 7, 3)).astype(np.float32)
X11 = RNG.standard_normal((3, 11, 3)).astype(np.float32)
TOL = {"rtol": 2e-5, "atol": 2e-6}


def _f64(weights):
    return [w.astype(np.float64) for w in weights]


def _fit_pair(make, x, y):
    """(the weights after fitting a model built for x's length, and after fitting one built for any length),
    from the same starting weights."""
    trained = []
    for steps in (x.shape[1], None):
        model = make(steps)
        model.set_weights(random_weights([w.shape for w in model.get_weights()], 5))
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
        trained.append((model, model.get_weights()))
    return trained


@pytest.mark.parametrize("backwards", [False, True])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_fit_on_one_length_predict_on_another(kind, sequences, backwards):
    cls, step, n_states, _ = RECURRENT[kind]
    y = RNG.standard_normal((8, 7, 4) if sequences else (8, 4)).astype(np.float32)
    (_, fixed), (model, looped) = _fit_pair(
        lambda steps: keras.Sequential([cls(4, input_shape=(steps, 3), return_sequences=sequences,
                                            go_backwards=backwards)]), X7, y)
    for a, b in zip(fixed, looped):  # the loop's gradients are the unrolled recurrence's
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    for x in (X7, X11):
        want, _ = np_run(step, x.astype(np.float64), _f64(looped), 4, n_states, backwards=backwards,
                         sequences=sequences)
        np.testing.assert_allclose(model.predict(x), want, **TOL)


def test_functional_input_bidirectional_with_masking():
    inputs = keras.Input(shape=(None, 3))
    masked = L.Masking()(inputs)
    outputs = L.Bidirectional(L.LSTM(4, return_sequences=True))(masked)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, None, 8)
    model.compile("adam", "mse")
    model.fit(X7, RNG.standard_normal((8, 7, 8)).astype(np.float32), epochs=1, verbose=0)
    w = _f64(model.get_weights())
    x = X11.copy()
    x[0, 8:] = 0.0  # padding
    x[2, 4] = 0.0  # a masked step inside
    mask = np.any(x != 0.0, axis=-1)
    fw, _ = np_run(np_lstm, x.astype(np.float64), w[:3], 4, 2, mask=mask, sequences=True)
    bw, _ = np_run(np_lstm, x.astype(np.float64), w[3:], 4, 2, mask=mask, backwards=True, sequences=True)
    np.testing.assert_allclose(model.predict(x), np.concatenate([fw, bw[:, ::-1]], -1), **TOL)


def _embedding_reference(ids, weights):
    table, kernel, recurrent, bias, dense_w, dense_b = _f64(weights)
    seq, _ = np_run(np_gru, table[ids.astype(int)], [kernel, recurrent, bias], 5, 1,
                    mask=ids != 0, sequences=True)
    return seq @ dense_w + dense_b


def test_embedding_mask_zero_on_ids_of_any_length():
    ids7 = RNG.integers(1, 30, (8, 7)).astype(np.float32)
    ids7[:4, 5:] = 0  # padding
    targets = RNG.standard_normal((8, 7, 2)).astype(np.float32)
    (_, fixed), (model, looped) = _fit_pair(
        lambda steps: keras.Sequential([L.Embedding(30, 6, mask_zero=True, input_shape=(steps,)),
                                        L.GRU(5, return_sequences=True), L.TimeDistributed(L.Dense(2))]),
        ids7, targets)
    assert model.layers[0].compute_output_shape((None, None)) == (None, None, 6)
    for a, b in zip(fixed, looped):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    ids11 = RNG.integers(1, 30, (3, 11)).astype(np.float32)
    ids11[1, 6:] = 0
    np.testing.assert_allclose(model.predict(ids11), _embedding_reference(ids11, looped), **TOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_return_state_and_initial_state_on_tensors_of_unknown_length(kind):
    cls, step, n_states, _ = RECURRENT[kind]
    layer = cls(4, return_sequences=True, return_state=True)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, None, 3))
        seq, *states = layer(x)
        assert tuple(seq.shape) == (None, None, 4) and all(tuple(s.shape) == (None, 4) for s in states)
        later, *_ = layer(x, initial_state=states)  # the sequence again, from where it ended
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            weights = _f64(sess.run(layer.weights))
            for data in (X7[:2], X11):
                got_seq, got_later, *got_states = sess.run([seq, later] + states, {x: data})
                want, want_states = np_run(step, data.astype(np.float64), weights, 4, n_states, sequences=True)
                np.testing.assert_allclose(got_seq, want, **TOL)
                for g, w in zip(got_states, want_states):
                    np.testing.assert_allclose(g, w, **TOL)
                twice, _ = np_run(step, np.concatenate([data, data], 1).astype(np.float64), weights, 4, n_states,
                                  sequences=True)
                np.testing.assert_allclose(got_later, twice[:, data.shape[1]:], **TOL)


def test_unknown_features_are_refused_by_name():
    with pytest.raises(ValueError, match=r"SimpleRNN layer '\w+' needs inputs .* known features, got shape "
                                         r"\(None, None, None\)"):
        keras.Sequential([L.SimpleRNN(2, input_shape=(None, None))]).predict(X7)
