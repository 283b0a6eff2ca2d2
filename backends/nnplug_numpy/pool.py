"""NumPy pooling kernels: a loop over the kh*kw window offsets, each one strided NumPy call over every
output pixel at once. Padding is never materialised: each offset pairs only the output pixels whose tap
lands inside the input with those input pixels (`ConvGeometry.valid`), so SAME max pooling ignores the
border and SAME average pooling divides by the taps that landed."""
import numpy as np

from nnplug.errors import InvalidArgumentError
from nnplug.kernels import Kernels
from nnplug.ops.pool_ops import (
    argmax_misplaced, argmax_taps, inverse_tap_counts, misplaced_message, pool_geometry, pool_taps,
)

KERNELS = Kernels()  # merged into the backend's table by kernels.py


def _geometry(spec, x_shape):
    return pool_geometry(tuple(x_shape), spec.attrs)[1]


def _covers_all(geo, out_region):
    return all(s == slice(0, n) for s, n in zip(out_region[1:3], (geo.oh, geo.ow)))


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _combine_taps(geo, dtype, combine, start):
    """y = combine over the window's taps of x (start where no tap has landed yet)."""
    taps = pool_taps(geo)
    first_full = _covers_all(geo, taps[0][0])  # the first tap reaches every output: copy it

    def run(x, out=None):
        y = np.empty(geo.y_shape, dtype) if out is None else out
        rest = taps
        if first_full:
            np.copyto(y, x[taps[0][1]])
            rest = taps[1:]
        else:
            y.fill(start)
        for o, i in rest:
            combine(y[o], x[i], out=y[o])
        return y
    return run


@KERNELS.register("MaxPool", out=True)
def max_pool(spec):
    geo, dtype = _geometry(spec, spec.in_shapes[0]), spec.out_dtype.np
    return _combine_taps(geo, dtype, np.maximum, _lowest(dtype))


def _tiles_input(geo, taps):
    """Every input pixel read by exactly one (window, tap): then writing each tap's share is the whole
    gradient, with no zeroing and no adding."""
    count = np.zeros((geo.h, geo.w), np.int64)
    for _, i in taps:
        count[i[1:3]] += 1
    return bool(np.all(count == 1))


@KERNELS.register("MaxPoolGrad", out=True)
def max_pool_grad(spec):
    """Each output's gradient goes to the first input of its window (scan order) equal to its maximum."""
    geo, dtype = _geometry(spec, spec.in_shapes[0]), spec.out_dtype.np
    taps = pool_taps(geo)
    tiled = _tiles_input(geo, taps)
    disjoint = geo.kh <= geo.sh and geo.kw <= geo.sw  # windows do not overlap: each input in one window
    first_full = _covers_all(geo, taps[0][0])
    taken, hit = np.empty(geo.y_shape, bool), np.empty(geo.y_shape, bool)
    part = None if disjoint else np.empty(geo.y_shape, dtype)

    def run(x, y, g, out=None):
        dx = np.empty(geo.x_shape, dtype) if out is None else out
        if not tiled:
            dx.fill(0)
        if not first_full:
            taken.fill(False)
        for k, (o, i) in enumerate(taps):
            t = taken[o]
            if k == 0 and first_full:  # nothing taken yet: the first tap's hits are the taken set
                h = np.equal(x[i], y[o], out=t)
            else:
                h = np.equal(x[i], y[o], out=hit[o])
                np.greater(h, t, out=h)  # equal to the maximum, and no earlier tap was
                if k < len(taps) - 1:
                    np.logical_or(t, h, out=t)
            if disjoint:
                np.multiply(g[o], h, out=dx[i])
            else:
                p = part[o]
                np.multiply(g[o], h, out=p)
                np.add(dx[i], p, out=dx[i])
        return dx
    return run


@KERNELS.register("MaxPoolWithArgmax", fresh=True)
def max_pool_with_argmax(spec):
    """The first tap of a window is taken, then each later tap strictly greater (TF1's CPU kernel)."""
    geo, dtype = _geometry(spec, spec.in_shapes[0]), spec.out_dtype.np
    taps, base = argmax_taps(geo, spec.attrs["include_batch_in_index"])
    first_full = _covers_all(geo, taps[0][0])
    better = np.empty(geo.y_shape, bool)

    def run(x):
        y, idx = np.empty(geo.y_shape, dtype), np.empty(geo.y_shape, spec.out_dtypes[1].np)
        rest = taps
        if first_full:
            (o, i, offset), rest = taps[0], taps[1:]
            np.copyto(y, x[i])
            np.add(base, offset, out=idx, casting="unsafe")
        else:
            idx.fill(-1)  # no tap yet: the next one is taken whatever its value
        for o, i, offset in rest:
            b = np.greater(x[i], y[o], out=better[o])
            if not first_full:
                b |= idx[o] < 0
            np.copyto(y[o], x[i], where=b)
            np.add(base[o], offset, out=idx[o], where=b, casting="unsafe")
        return y, idx
    return run


@KERNELS.register("MaxPoolGradWithArgmax", fresh=True)
def max_pool_grad_with_argmax(spec):
    """dx = each output's gradient added at its argmax (np.bincount sums repeats: windows may overlap)."""
    geo, dtype = _geometry(spec, spec.in_shapes[0]), spec.out_dtype.np
    include_batch = spec.attrs["include_batch_in_index"]
    first = 0 if include_batch else np.arange(geo.n).reshape(-1, 1, 1, 1) * (geo.h * geo.w * geo.c)
    size = geo.n * geo.h * geo.w * geo.c

    def run(x_like, g, argmax):
        bad = argmax_misplaced(geo, argmax, include_batch)
        if bad is not None:
            raise InvalidArgumentError(misplaced_message(spec, argmax, bad))
        at = (argmax.astype(np.int64) + first).reshape(-1)
        return np.bincount(at, weights=g.reshape(-1), minlength=size).astype(dtype).reshape(geo.x_shape)
    return run


@KERNELS.register("AvgPool", out=True)
def avg_pool(spec):
    geo, dtype = _geometry(spec, spec.in_shapes[0]), spec.out_dtype.np
    inv = inverse_tap_counts(geo, pool_taps(geo), dtype)
    total = _combine_taps(geo, dtype, np.add, 0)

    def run(x, out=None):
        y = total(x, out=out)
        return np.multiply(y, inv, out=y)
    return run


@KERNELS.register("AvgPoolGrad", out=True)
def avg_pool_grad(spec):
    geo, dtype = _geometry(spec, spec.in_shapes[1]), spec.out_dtype.np
    taps = pool_taps(geo)
    inv = inverse_tap_counts(geo, taps, dtype)
    share = np.empty(geo.y_shape, dtype)

    def run(g, x_like, out=None):
        dx = np.empty(geo.x_shape, dtype) if out is None else out
        dx.fill(0)
        np.multiply(g, inv, out=share)
        for o, i in taps:
            np.add(dx[i], share[o], out=dx[i])
        return dx
    return run
