"""CuPy random ops, drawn on the device from a per-op stream (same seed -> same numbers); truncated normals
by the inverse CDF, so no resampling loop has to look at device values."""
import math

import numpy as np

from nnplug.kernels import Kernels

KERNELS = Kernels()
register = KERNELS.register
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# N(0, 1)'s CDF at -2 and 2: a truncated normal is the inverse CDF of a uniform draw between them
_LO_CDF, _HI_CDF = 0.5 * math.erfc(2 / math.sqrt(2)), 0.5 * math.erfc(-2 / math.sqrt(2))


class DeviceRandom:
    """One op's random stream on the device, seeded from the op's (graph seed, op seed)."""

    def __init__(self, cupy, seed):
        state = np.random.SeedSequence(seed).generate_state(1, np.uint64)[0]
        self.cupy = cupy
        try:
            self.gen = cupy.random.Generator(cupy.random.XORWOW(int(state)))
        except AttributeError:  # older CuPy: the legacy RandomState is just as deterministic
            self.gen = None
            self.legacy = cupy.random.RandomState(int(state))

    def normal(self, shape, dtype):
        if self.gen is not None:
            return self.gen.standard_normal(shape, dtype=dtype)
        return self.legacy.standard_normal(shape, dtype=dtype)

    def uniform(self, shape, dtype):
        if self.gen is not None:
            return self.gen.random(shape, dtype=dtype)
        return self.legacy.random_sample(shape, dtype=dtype)

    def integers(self, lo, hi, shape, dtype):
        if self.gen is not None:
            return self.gen.integers(lo, hi, shape, dtype=dtype)
        return self.legacy.randint(lo, hi, shape, dtype=dtype)


def _draw(spec, fn):
    shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
    native = dtype if dtype in _FLOATS else np.dtype(np.float64)
    if native == dtype:
        return lambda *like: fn(rng, shape, native)
    return lambda *like: fn(rng, shape, native).astype(dtype)


@register("RandomStandardNormal", fresh=True)
def standard_normal(spec):
    return _draw(spec, lambda r, s, d: r.normal(s, d))


@register("RandomUniform", fresh=True)
def uniform(spec):
    return _draw(spec, lambda r, s, d: r.uniform(s, d))


@register("TruncatedNormal", fresh=True)
def truncated_normal(spec):
    from cupyx.scipy import special

    def truncated(r, shape, d):  # inverse CDF of N(0,1) restricted to [-2, 2]: exact, no resampling loop
        u = r.uniform(shape, np.float64)
        return special.ndtri(_LO_CDF + (_HI_CDF - _LO_CDF) * u).astype(d, copy=False)
    return _draw(spec, truncated)


@register("RandomUniformInt", fresh=True)
def uniform_int(spec):
    shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
    lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
    return lambda *like: rng.integers(lo, hi, shape, dtype)
