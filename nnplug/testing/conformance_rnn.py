"""Conformance cases for the recurrent networks' op types (nnplug/ops/rnn.py, rnn_cell.py, split_ops.py,
lstm_sequence.py, embedding_ops.py): the composites `ReverseSequence`, `SplitV`, `Unpack`, `LSTMSequence` and its
gradient, and one step's `LSTMGates` and `LSTMGatesGrad` (every backend runs
their expansions or fused kernels) and the host ops `CheckIndices` and `Orthonormalize`, each against a
NumPy reference written here."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.graph import make, make_op
from nnplug.ops.lstm_sequence import lstm_sequence
from nnplug.ops.rnn_cell import Orthogonal
from nnplug.ops.split_ops import split_v, unpack
from nnplug.testing import assert_close, check_gradient, run
from nnplug.testing.cases import covers, data, f64

covers("ReverseSequence", "CheckIndices", "SplitV", "Unpack", "Orthonormalize", "LSTMSequence", "LSTMSequenceGrad",
       "LSTMGates", "LSTMGatesGrad")
covers("ReverseSequence", "SplitV", "Unpack", "LSTMSequence", grad=True)


def np_reverse_sequence(x, lengths):
    """Reference: each row's first lengths[i] steps reversed, the rest in place (batch axis 0, time axis 1)."""
    out = np.array(x, copy=True)
    for i, n in enumerate(lengths):
        out[i, :n] = x[i, :n][::-1]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shape", [(3, 5), (3, 4, 2)])
def test_reverse_sequence(backend, dtype, shape):
    x = data(shape, dtype)
    lengths = np.array([0, 4, 2], np.int32)
    got = run(lambda v, n: make("ReverseSequence", [v, n]), [x, lengths], backend)
    assert_close(got, np_reverse_sequence(x, lengths), dtype)


def test_reverse_sequence_length_past_the_axis_is_refused(backend):
    with pytest.raises(InvalidArgumentError, match=r"seq_lengths.*indices\[1\] = 6 is not in \[0, 6\)"):
        run(lambda v, n: make("ReverseSequence", [v, n]), [data((2, 5), "float32"), np.array([1, 6], np.int32)],
            backend)


def test_reverse_sequence_gradient(backend):
    check_gradient(lambda v, n: make("ReverseSequence", [v, n]),
                   [data((3, 4, 2), np.float64), np.array([4, 1, 3], np.int32)], backend)


@pytest.mark.parametrize("itype", ["int32", "int64"])
def test_check_indices_passes_ids_in_range(backend, itype):
    ids = np.array([[0, 4], [2, 3]], itype)
    assert_close(run(lambda i: make("CheckIndices", [i], {"limit": 5, "what": "lookup"}), [ids], backend), ids)


@pytest.mark.parametrize("bad,where", [(5, "1,0"), (-1, "1,0")])
def test_check_indices_names_the_first_bad_id(backend, bad, where):
    ids = np.array([[0, 4], [bad, 9]], np.int32)
    with pytest.raises(InvalidArgumentError, match=rf"lookup: indices\[{where}\] = {bad} is not in \[0, 5\)"):
        run(lambda i: make("CheckIndices", [i], {"limit": 5, "what": "lookup"}), [ids], backend)


def test_embedding_lookup_rows_and_gradient(backend):
    params, ids = data((6, 3), np.float64), np.array([[5, 0], [2, 2]], np.int32)
    assert_close(run(tf.nn.embedding_lookup, [params, ids], backend), params[ids])
    check_gradient(tf.nn.embedding_lookup, [params, ids], backend)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("axis,sizes", [(1, 4), (1, [2, 5, 1]), (0, [3, 0])])
def test_split_v(backend, dtype, axis, sizes):
    x = data((3, 8), dtype)
    got = run(lambda v: split_v(v, sizes, axis), [x], backend)
    cuts = np.cumsum([x.shape[axis] // sizes] * sizes if isinstance(sizes, int) else sizes)[:-1]
    for g, want in zip(got, np.split(x, cuts, axis)):
        assert_close(g, want, dtype)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_unpack(backend, axis):
    x = data((2, 3, 4), "float32")
    got = run(lambda v: unpack(v, axis), [x], backend)
    assert len(got) == x.shape[axis]
    for i, g in enumerate(got):
        assert_close(g, np.take(x, i, axis), "float32")


def test_split_v_and_unpack_gradients_with_unused_parts(backend):
    """The gradient is one Concat of the parts' gradients; a part nobody reads gets zeros."""
    check_gradient(lambda v: split_v(v, [1, 3], 1)[1] * 2.0, [data((2, 4), np.float64)], backend)
    check_gradient(lambda v: tf.stack(unpack(v, 1)[::-2], 0), [data((2, 5, 3), np.float64)], backend)


def test_orthonormalize_makes_orthonormal_columns(backend):
    with tf.Graph().as_default():
        w = Orthogonal(gain=1.5)((6, 4))
        with tf.Session(backend=backend) as sess:
            got = np.asarray(sess.run(w), np.float64)
    assert got.shape == (6, 4)
    np.testing.assert_allclose(got.T @ got, 2.25 * np.eye(4), atol=1e-5)


def np_lstm_sequence(xp, kh, c, h, blocks):
    """Reference: per step z = xp[:, t] + h @ kh, gates in the given blocks, c' = f c + i g, h' = o tanh(c')."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    i, g, f, o = blocks
    hs = []
    for t in range(xp.shape[0]):  # time-major
        z = np.split(xp[t] + h @ kh, 4, axis=1)
        c = sig(z[f]) * c + sig(z[i]) * np.tanh(z[g])
        h = sig(z[o]) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1), c


def _lstm_inputs(dtype, steps=3, units=2, batch=2):
    return [data((steps, batch, 4 * units), dtype), data((units, 4 * units), dtype, seed=1) * 0.5,
            data((batch, units), dtype, seed=2), data((batch, units), dtype, seed=3)]


@pytest.mark.parametrize("blocks", [(0, 1, 2, 3), (0, 2, 1, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_sequence(backend, dtype, blocks):
    ins = _lstm_inputs(dtype)
    got_h, got_c = run(lambda *a: (lambda hs, c: (tf.stack(hs, 1), c))(*lstm_sequence(*a, blocks)), ins, backend)
    want_h, want_c = np_lstm_sequence(*[f64(a) for a in ins], blocks)
    assert_close(got_h, want_h, dtype, rtol=1e-4 if dtype == "float32" else None)
    assert_close(got_c, want_c, dtype, rtol=1e-4 if dtype == "float32" else None)


@pytest.mark.parametrize("blocks", [(0, 1, 2, 3), (0, 2, 1, 3)])
def test_lstm_sequence_gradient(backend, blocks):
    """Through every output h_t and the last c, to the projected inputs, the recurrent kernel, c0 and h0."""
    def build(*a):
        hs, c = lstm_sequence(*a, blocks)
        return tf.concat([tf.stack(hs, 1), tf.expand_dims(c, 1)], 1)
    check_gradient(build, _lstm_inputs(np.float64), backend)


def np_lstm_gates(z_x, zh, c, blocks):
    """Reference for one step: (h, c, sigmoid of all four blocks, tanh of the candidate, tanh of c)."""
    z = z_x + zh
    s = 1.0 / (1.0 + np.exp(-z))
    i, g, f, o = blocks
    gate = np.split(s, 4, axis=1)
    candidate = np.tanh(np.split(z, 4, axis=1)[g])
    c = gate[f] * c + gate[i] * candidate
    return np.tanh(c) * gate[o], c, s, candidate, np.tanh(c)


def _gates_inputs(dtype, batch=3, units=5):
    # wide enough that |z| reaches the tanh approximation's clamp (|x| > 7.9) in some entries
    return [data((batch, 4 * units), dtype) * 3.0, data((batch, 4 * units), dtype, seed=1) * 2.0,
            data((batch, units), dtype, seed=2)]


@pytest.mark.parametrize("blocks", [(0, 1, 2, 3), (0, 2, 1, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_gates(backend, dtype, blocks):
    ins = _gates_inputs(dtype)
    got = run(lambda *a: list(make_op("LSTMGates", list(a), {"blocks": blocks}).outputs), ins, backend)
    for g, want, what in zip(got, np_lstm_gates(*[f64(a) for a in ins], blocks), ("h", "c", "s", "candidate",
                                                                                    "tanh_c")):
        assert_close(g, want, dtype, rtol=1e-5 if dtype == "float32" else None, atol=1e-6 if dtype == "float32"
                     else None, what=what)


@pytest.mark.parametrize("carry", [False, True])
@pytest.mark.parametrize("blocks", [(0, 1, 2, 3), (0, 2, 1, 3)])
def test_lstm_gates_grad_is_the_step_vjp(backend, blocks, carry):
    """dz and dc_prev equal central differences of <dh, h> + <dc, c> over the step's z and c_prev (float64),
    with dh the sum of the step's own gradient and the carried one."""
    batch, units = 2, 3
    z_x, zh, c_prev = (f64(a) for a in _gates_inputs(np.float64, batch, units))
    dh, dc, dh_carry = (data((batch, units), np.float64, seed=k) for k in (4, 5, 6))
    dh_total = dh + dh_carry if carry else dh

    def objective(z, c):
        h_new, c_new = np_lstm_gates(z, np.zeros_like(z), c, blocks)[:2]
        return np.sum(dh_total * h_new) + np.sum(dc * c_new)

    def central(f, x, eps=1e-6):
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[k] += eps
            down[k] -= eps
            g[k] = (f(up) - f(down)) / (2 * eps)
        return g
    z = z_x + zh
    want_dz = central(lambda v: objective(v, c_prev), z)
    want_dc = central(lambda v: objective(z, v), c_prev)
    _, _, s, candidate, tanh_c = np_lstm_gates(z_x, zh, c_prev, blocks)
    ins = [dh, dc, s, candidate, tanh_c, c_prev] + ([dh_carry] if carry else [])
    got_dz, got_dc = run(lambda *a: list(make_op("LSTMGatesGrad", list(a), {"blocks": blocks}).outputs), ins, backend)
    assert_close(got_dz, want_dz, np.float64, rtol=1e-6, atol=1e-8, what="dz")
    assert_close(got_dc, want_dc, np.float64, rtol=1e-6, atol=1e-8, what="dc_prev")


def test_lstm_gates_names_mismatched_shapes(backend):
    with pytest.raises((ValueError, InvalidArgumentError), match=r"LSTMGates.*h @ W_h has shape \(3, 16\), expected "
                                                                 r"\(3, 20\)"):
        run(lambda *a: make("LSTMGates", list(a), {"blocks": (0, 1, 2, 3)}),
            [data((3, 20), "float32"), data((3, 16), "float32"), data((3, 5), "float32")], backend)


__all__ = [n for n in dir() if n.startswith("test_")]
