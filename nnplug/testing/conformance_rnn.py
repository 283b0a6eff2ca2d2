"""Conformance cases for the recurrent networks' op types (nnplug/ops/rnn.py, embedding_ops.py):
`ReverseSequence` (a composite every backend runs through its expansion or a fused kernel) and
`CheckIndices` (a host op), each against a NumPy reference written here."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.errors import InvalidArgumentError
from nnplug.graph import make
from nnplug.testing import assert_close, check_gradient, run
from nnplug.testing.conformance import covers, data

covers("ReverseSequence", "CheckIndices")
covers("ReverseSequence", grad=True)


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


__all__ = [n for n in dir() if n.startswith("test_")]
