"""Keras's recurrent cells and loop in float64 NumPy, written from Keras's definitions: the reference the
recurrent layers' tests compare against (tests/test_rnn_keras.py, tests/test_keras_rnn_unknown_time.py)."""
import numpy as np

from nnplug.keras import layers as L


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_simple(x_t, states, w, units):
    k, r, b = w
    h = np.tanh(x_t @ k + b + states[0] @ r)
    return h, [h]


def np_lstm(x_t, states, w, units):
    k, r, b = w
    i, f, c, o = np.split(x_t @ k + states[0] @ r + b, 4, axis=1)
    c = sig(f) * states[1] + sig(i) * np.tanh(c)
    h = sig(o) * np.tanh(c)
    return h, [h, c]


def np_gru(x_t, states, w, units, reset_after=True):
    k, r, b = w
    h = states[0]
    b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros_like(b))
    x_z, x_r, x_h = np.split(x_t @ k + b_in, 3, axis=1)
    if reset_after:
        r_z, r_r, r_h = np.split(h @ r + b_rec, 3, axis=1)
        z, rr = sig(x_z + r_z), sig(x_r + r_r)
        cand = np.tanh(x_h + rr * r_h)
    else:
        r_z, r_r = np.split(h @ r[:, :2 * units], 2, axis=1)
        z, rr = sig(x_z + r_z), sig(x_r + r_r)
        cand = np.tanh(x_h + (rr * h) @ r[:, 2 * units:])
    h = z * h + (1 - z) * cand
    return h, [h]


def np_run(step, x, w, units, n_states, mask=None, backwards=False, sequences=False):
    """Keras's loop: a masked step keeps the states and repeats the previous output."""
    states = [np.zeros((x.shape[0], units))] * n_states
    out, outs = np.zeros((x.shape[0], units)), []
    for t in (range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])):
        new_out, new_states = step(x[:, t], states, w, units)
        if mask is not None:
            keep = mask[:, t:t + 1]
            new_out = np.where(keep, new_out, out)
            new_states = [np.where(keep, n, s) for n, s in zip(new_states, states)]
        out, states = new_out, new_states
        outs.append(out)
    return (np.stack(outs, 1) if sequences else out), states


def random_weights(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.6, 0.6, s).astype(np.float32) for s in shapes]


RECURRENT = {  # layer: (Keras class, NumPy step, states, weight shapes for 3 features and 4 units)
    "SimpleRNN": (L.SimpleRNN, np_simple, 1, [(3, 4), (4, 4), (4,)]),
    "LSTM": (L.LSTM, np_lstm, 2, [(3, 16), (4, 16), (16,)]),
    "GRU": (L.GRU, np_gru, 1, [(3, 12), (4, 12), (2, 12)]),
}
