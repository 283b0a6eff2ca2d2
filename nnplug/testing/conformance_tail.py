"""Conformance cases for the TF1 long-tail ops (rows and ops of nnplug/ops/elementwise.py's long-tail
section, math_extra_ops, debug_ops and script_ops): values against float64 NumPy, gradients against
finite differences. Imported by nnplug.testing.conformance, whose `covers` they extend."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close, run
from nnplug.testing.conformance import FLOATS, NUMERIC, check_case, covers, data, f64

# -- elementwise rows that the generic unary table does not pick up ------------------------------
covers("IsNan", "IsInf", "IsFinite")


@pytest.mark.parametrize("dtype", FLOATS)
def test_float_classes(backend, dtype):
    x = data((3, 4), dtype)
    x.flat[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    got = run(lambda t: [tf.is_nan(t), tf.is_inf(t), tf.is_finite(t)], [x], backend)
    for g, want, what in zip(got, (np.isnan(x), np.isinf(x), np.isfinite(x)), ("is_nan", "is_inf", "is_finite")):
        assert_close(g, want, "bool", what=f"{what} {dtype}")


covers("LogicalXor")


@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((3, 1), (1, 4))])
def test_logical_xor(backend, sa, sb):
    x, y = data(sa, bool, seed=1), data(sb, bool, seed=2)
    assert_close(run(tf.logical_xor, [x, y], backend), np.logical_xor(x, y), "bool")


TAIL_BINARY = {  # op type: (function, float64 reference, dtypes)
    "Atan2": (tf.atan2, np.arctan2, FLOATS),
    "FloorMod": (tf.floormod, np.remainder, NUMERIC + ("int64",)),
    "SquaredDifference": (tf.squared_difference, lambda a, b: (a - b) ** 2, NUMERIC),
    "TruncateDiv": (tf.truncatediv, lambda a, b: np.trunc(a / b), ("int32", "int64")),
}
covers(*TAIL_BINARY)


def _signed_pairs(dtype, bcast):
    """Every sign combination, exact multiples and zeros in the dividend; the divisor is never zero."""
    x = np.array([[7, -7, 7, -7], [6, -6, 0, 1], [-1, 5, -5, 3]], np.float64)
    y = np.array([3, -2, 5, -4], np.float64) if bcast else \
        np.array([[2, 2, -2, -2], [3, -3, 3, -3], [4, 4, -4, -4]], np.float64)
    if np.dtype(dtype).kind == "f":
        x, y = x * 1.25, y * 0.75
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("op,dtype", [(op, d) for op, spec in TAIL_BINARY.items() for d in spec[2]])
@pytest.mark.parametrize("bcast", [False, True], ids=["same", "bcast"])
def test_tail_binary(backend, op, dtype, bcast):
    fn, ref, _ = TAIL_BINARY[op]
    x, y = _signed_pairs(dtype, bcast)
    got = run(fn, [x, y], backend)
    assert_close(got, ref(f64(x), f64(y)), dtype, what=f"{op} {dtype}")


def test_tail_binary_refuses_wrong_dtypes():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="truncatediv.*float32.*integer"):
            tf.truncatediv(tf.constant([1.0]), tf.constant([2.0]))
        with pytest.raises(TypeError, match="is_nan.*int32.*floating"):
            tf.is_nan(tf.constant([1]))


def _g(shape, domain="any", seed=0):
    return data(shape, np.float64, domain, seed)


TAIL_GRADS = [
    ("Atan2", ("Atan2",), tf.atan2, [_g((2, 3), seed=1), _g((3,), "away", seed=2)], {}),
    ("FloorMod", ("FloorMod",), tf.floormod, [_g((2, 3), seed=1), _g((3,), "away", seed=2) * 0.7], {}),
    ("SquaredDifference", ("SquaredDifference",), tf.squared_difference, [_g((2, 3), seed=1), _g((2, 1), seed=2)],
     {}),
]
for _case in TAIL_GRADS:
    covers(*_case[1], grad=True)


@pytest.mark.parametrize("case", TAIL_GRADS, ids=[c[0] for c in TAIL_GRADS])
def test_tail_gradient(backend, case):
    check_case(backend, case)
