"""Random draws on the host from an op's NumPy stream (the session's `spec.rng`), shared by every backend
that does not draw on its device: a seeded program then gives the same numbers on numpy, OpenCL and any
Array-API backend. Truncated normals are resampled until every value lies within two standard deviations,
as TF1 does."""
import numpy as np

OPS = ("RandomStandardNormal", "RandomUniform", "TruncatedNormal", "RandomUniformInt")


def _truncated(rng, shape, dtype):
    x = rng.standard_normal(shape, dtype=dtype)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()), dtype=dtype)
        bad = np.abs(x) > 2
    return x


_DRAWS = {
    "RandomStandardNormal": lambda rng, shape, dtype: rng.standard_normal(shape, dtype=dtype),
    "RandomUniform": lambda rng, shape, dtype: rng.random(shape, dtype=dtype),
    "TruncatedNormal": _truncated,
}


def sampler(spec):
    """A function of no arguments returning the next NumPy array of `spec`'s random op."""
    shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
    if spec.op_type == "RandomUniformInt":
        lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
        return lambda: rng.integers(lo, hi, shape, dtype=dtype)
    draw = _DRAWS[spec.op_type]
    native = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)  # NumPy draws these two
    return lambda: draw(rng, shape, native).astype(dtype, copy=False)
