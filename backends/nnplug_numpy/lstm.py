"""One LSTM step's pointwise part on NumPy as one compiled pass each way (`LSTMGates`, `LSTMGatesGrad`,
nnplug/ops/lstm_sequence.py), with numba only (nnplug_numpy/jit.py); without it the ops expand into their 13
and 16 primitives, as on every other backend.

For batch 64 x 128 units the expansion's calls took ~130 us forward and ~140 us backward per step, most of
it per-call cost and passes over memory; one pass takes ~25 us. numba calls libm's scalar tanh, 40x slower
than NumPy's vectorised one, so in float32 the pass uses a rational approximation that vectorises: tanh on
[-7.9, 7.9] as an odd degree-13 over an even degree-6 polynomial (the minimax fit Eigen and XLA use for float
tanh), its end values beyond: within 3e-7 of tanh everywhere (2 ulp of 1); NaN stays NaN. Sigmoid is
0.5 * (1 + tanh(x / 2)), as the numpy backend's Sigmoid computes it. float64 keeps libm's tanh. The backward
pass has no transcendental functions.

The kernels write into the compiler's planned buffers (`out=` a tuple): a step of a training run allocates
nothing (a new 256 KB block per step cost ~150 us in page faults on this VM); outputs without a planned
buffer (fetched ones) are new arrays.
"""
import numpy as np

from nnplug.kernels import Kernels

from . import jit

KERNELS = Kernels()  # merged into the backend's table by kernels.py (with numba, see jit.py)

_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
      -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)  # odd numerator, x^1 .. x^13
_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)  # x^0 .. x^6
_CLAMP = 7.90531110763549805  # beyond it the fit is held at its end value, +-0.99999976


def tanh_float32(x):
    """tanh of a float32 by the rational fit (plain arithmetic, so loops calling it vectorise)."""
    x = np.float32(_CLAMP) if x > _CLAMP else np.float32(-_CLAMP) if x < -_CLAMP else x  # NaN stays NaN
    x2 = x * x
    p = x2 * np.float32(_P[6]) + np.float32(_P[5])
    p = x2 * p + np.float32(_P[4])
    p = x2 * p + np.float32(_P[3])
    p = x2 * p + np.float32(_P[2])
    p = x2 * p + np.float32(_P[1])
    p = x2 * p + np.float32(_P[0])
    q = x2 * np.float32(_Q[3]) + np.float32(_Q[2])
    q = x2 * q + np.float32(_Q[1])
    q = x2 * q + np.float32(_Q[0])
    return x * p / q


def tanh_float64(x):
    return np.tanh(x)


def _gates_loop(tanh, z_x, zh, c_prev, h, c, s, candidate, tanh_c, i, g, f, o):
    """Row by row: s = sigmoid(z_x + zh) over all four blocks, then the candidate, c, tanh(c) and h."""
    batch, units = c_prev.shape
    half, one = s.dtype.type(0.5), s.dtype.type(1)
    for r in range(batch):
        zr, hr, sr = z_x[r], zh[r], s[r]
        for k in range(4 * units):
            sr[k] = (tanh((zr[k] + hr[k]) * half) + one) * half
        zg, hg = zr[g * units:(g + 1) * units], hr[g * units:(g + 1) * units]
        si, sf, so = sr[i * units:(i + 1) * units], sr[f * units:(f + 1) * units], sr[o * units:(o + 1) * units]
        cp, cr, cd, tc, hh = c_prev[r], c[r], candidate[r], tanh_c[r], h[r]
        for k in range(units):
            cand = tanh(zg[k] + hg[k])
            cd[k] = cand
            cn = sf[k] * cp[k] + si[k] * cand
            cr[k] = cn
            t = tanh(cn)
            tc[k] = t
            hh[k] = t * so[k]


def _gates_grad_loop(dh, carry, dc, s, candidate, tanh_c, c_prev, dz, dc_prev, i, g, f, o):
    """Row by row, the expansion's arithmetic: dh (+ the carried dh) through h = tanh(c) * o and
    c = f * c_prev + i * candidate to the four blocks of dz and to c_prev."""
    batch, units = c_prev.shape
    one = s.dtype.type(1)
    for r in range(batch):
        sr, zr = s[r], dz[r]
        si, sf, so = sr[i * units:(i + 1) * units], sr[f * units:(f + 1) * units], sr[o * units:(o + 1) * units]
        di, dg = zr[i * units:(i + 1) * units], zr[g * units:(g + 1) * units]
        df, do = zr[f * units:(f + 1) * units], zr[o * units:(o + 1) * units]
        dhr, car, dcr, cd, tc, cp, dcp = dh[r], carry[r], dc[r], candidate[r], tanh_c[r], c_prev[r], dc_prev[r]
        for k in range(units):
            d_h = dhr[k] + car[k]
            do[k] = (one - so[k]) * so[k] * (d_h * tc[k])
            d_c = dcr[k] + (one - tc[k] * tc[k]) * (d_h * so[k])
            di[k] = (one - si[k]) * si[k] * (d_c * cd[k])
            dg[k] = (one - cd[k] * cd[k]) * (d_c * si[k])
            df[k] = (one - sf[k]) * sf[k] * (d_c * cp[k])
            dcp[k] = d_c * sf[k]


def _compiled(fn, dtype):
    """The loop compiled with the tanh for `dtype` passed in (numba specialises on the function)."""
    return jit.compiled(fn, fastmath=jit.REORDER), jit.compiled(tanh_float32 if dtype == np.float32 else tanh_float64,
                                                         fastmath=jit.REORDER)


def _contiguous(arrays, dtype):
    return [np.ascontiguousarray(a, dtype) for a in arrays]


def _outputs(spec, out):
    """The planned buffers (`out`, None entries) with new arrays where there are none."""
    out = out or (None,) * len(spec.out_shapes)
    return [np.empty(tuple(shape), spec.out_dtypes[k].np) if b is None else b
            for k, (b, shape) in enumerate(zip(out, spec.out_shapes))]


@KERNELS.register("LSTMGates", out=True)
def _gates(spec):
    dtype = np.dtype(spec.out_dtypes[0].np)
    i, g, f, o = spec.attrs["blocks"]
    loop, tanh = _compiled(_gates_loop, dtype)

    def gates(z_x, zh, c_prev, out=None):
        h, c, s, candidate, tanh_c = _outputs(spec, out)
        loop(tanh, *_contiguous((z_x, zh, c_prev), dtype), h, c, s, candidate, tanh_c, i, g, f, o)
        return h, c, s, candidate, tanh_c
    return gates


@KERNELS.register("LSTMGatesGrad", out=True)
def _gates_grad(spec):
    dtype = np.dtype(spec.out_dtypes[0].np)
    i, g, f, o = spec.attrs["blocks"]
    loop = jit.compiled(_gates_grad_loop, fastmath=jit.REORDER)
    zeros = np.zeros(tuple(spec.out_shapes[1]), dtype)  # the carried dh of the last step, which has none

    def gates_grad(dh, dc, s, candidate, tanh_c, c_prev, carry=zeros, out=None):
        dz, dc_prev = _outputs(spec, out)
        loop(*_contiguous((dh, carry, dc, s, candidate, tanh_c, c_prev), dtype), dz, dc_prev, i, g, f, o)
        return dz, dc_prev
    return gates_grad
