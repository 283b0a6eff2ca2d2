"""Conformance cases for the composites of nnplug/ops/math_more.py (`Asinh`, `Acosh`, `Atanh`: every
backend runs their expansions) and nnplug/ops/function_ops.py (`CustomGradient`, whose expansion is the
identity of the function's outputs), against float64 NumPy; gradients against finite differences."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.testing import assert_close, check_gradient, run
from nnplug.testing.cases import FLOATS, covers, data, f64

INVERSE_HYPERBOLIC = {  # op type: (function, float64 reference, input range)
    "Asinh": (tf.asinh, np.arcsinh, (-3.0, 3.0)),
    "Acosh": (tf.acosh, np.arccosh, (1.2, 4.0)),
    "Atanh": (tf.atanh, np.arctanh, (-0.9, 0.9)),
}
covers(*INVERSE_HYPERBOLIC, "CustomGradient")
covers(*INVERSE_HYPERBOLIC, "CustomGradient", grad=True)


def _inputs(lo, hi, dtype, shape=(3, 4)):
    return np.random.default_rng(0).uniform(lo, hi, shape).astype(dtype)


@pytest.mark.parametrize("op", sorted(INVERSE_HYPERBOLIC))
@pytest.mark.parametrize("dtype", FLOATS)
def test_inverse_hyperbolic(backend, op, dtype):
    fn, ref, (lo, hi) = INVERSE_HYPERBOLIC[op]
    x = _inputs(lo, hi, dtype)
    assert_close(run(fn, [x], backend), ref(f64(x)), dtype, what=f"{op} {dtype}")


@pytest.mark.parametrize("op", sorted(INVERSE_HYPERBOLIC))
def test_inverse_hyperbolic_gradient(backend, op):
    fn, _, (lo, hi) = INVERSE_HYPERBOLIC[op]
    check_gradient(fn, [_inputs(lo, hi, np.float64)], backend)


def _scaled_square(x):
    """y = x^2 with its true gradient 2x given by hand, so the finite differences check the wiring."""
    @tf.custom_gradient
    def square(v):
        return v * v, lambda dy: dy * 2.0 * v
    return square(x)


def test_custom_gradient_passes_values_through(backend):
    x = data((2, 3), "float32")
    assert_close(run(_scaled_square, [x], backend), f64(x) ** 2, "float32")


def test_custom_gradient_gradient(backend):
    check_gradient(_scaled_square, [data((2, 3), np.float64)], backend)
