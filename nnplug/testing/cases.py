"""What the conformance modules share: the sets of op types with value and gradient cases (the meta-tests
read them), test inputs by domain, and the runner of a finite-difference gradient case."""
import numpy as np

from nnplug.ops.elementwise import ROWS
from nnplug.testing import check_gradient

COVERED = set()  # op types with a value case
GRAD_COVERED = set()  # op types with a finite-difference gradient case
# Gradient rules that return no gradient (piecewise constant or shape-only): nothing to check.
NO_GRADIENT = {n for n, row in ROWS.items() if row.function is not None and not row.has_gradient
               and not row.bool_out} | {"FullLike"}
FLOATS = ("float32", "float64")
NUMERIC = ("float32", "float64", "int32")


def covers(*op_types, grad=False):
    (GRAD_COVERED if grad else COVERED).update(op_types)


def data(shape, dtype, domain="any", seed=0):
    """Test inputs: floats in (-2, 2) ('pos': (0.5, 2); 'away': |x| in (0.2, 2), away from kinks;
    'unit': (-0.9, 0.9)), small integers with repeats, or random bools."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        lo = 1 if domain == "pos" else -5
        return rng.integers(lo, 6, shape).astype(dtype)
    if domain == "pos":
        x = rng.uniform(0.5, 2.0, shape)
    elif domain == "away":
        x = rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "unit":
        x = rng.uniform(-0.9, 0.9, shape)
    else:
        x = rng.uniform(-2.0, 2.0, shape)
    return np.asarray(x, dtype)


def f64(x):
    return np.asarray(x, np.float64)


def check_case(backend, case):
    """A gradient case: (id, op types covered, build function, inputs, check_gradient options)."""
    _name, _ops, build, inputs, kw = case
    check_gradient(build, inputs, backend, **kw)
