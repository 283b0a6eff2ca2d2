"""Convolution and pooling kernels written once against the Array API standard (CuPy, the array-api
plugin): im2col by slicing a zero-padded copy once per kernel offset, one (batched, for groups) matmul,
and col2im as the same slices added back. Pooling loops over the window offsets with the same valid-tap
pairing as the NumPy kernels (`ConvGeometry.valid`), so padding is never materialised there."""
import numpy as np

from .errors import InvalidArgumentError
from .ops.conv_ops import conv_spec_geometry
from .ops.pool_ops import (
    argmax_misplaced, argmax_taps, inverse_tap_counts, misplaced_message, pool_geometry, pool_taps,
)
from .xp_kernels import XP_KERNELS, astype, fn, xp_dtype

register = XP_KERNELS.register
ALL = slice(None)


def _padded(xp, x, geo, dtype):
    if not geo.padded:
        return x
    rows, cols = geo.interior()
    z = xp.zeros((x.shape[0], geo.hp, geo.wp, geo.c), dtype=dtype)
    z[ALL, rows, cols, ALL] = x
    return z


def _patches(xp, x, geo, dtype):
    """(pixels, groups, kh*kw*cg) patch matrix of x."""
    src = _padded(xp, x, geo, dtype)
    split = (geo.n, geo.oh, geo.ow, geo.groups, geo.cg)
    parts = [xp.reshape(src[(ALL,) + geo.window(i, j) + (ALL,)], split) for i, j in geo.offsets()]
    stacked = xp.stack(parts, axis=4)  # (n, oh, ow, groups, kh*kw, cg)
    return xp.reshape(stacked, (geo.n * geo.oh * geo.ow, geo.groups, geo.kh * geo.kw * geo.cg))


def _grouped_filter(xp, w, geo):
    permute = fn(xp, "permute_dims", "transpose")
    return permute(xp.reshape(w, (geo.kh * geo.kw * geo.cg, geo.groups, geo.og)), (1, 0, 2))  # (g, k, og)


def _setup(spec):
    xp = spec.backend.xp
    geo = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    return xp, geo, xp_dtype(xp, spec.out_dtype), fn(xp, "permute_dims", "transpose")


@register("Conv2D", fresh=True)
def conv2d(spec):
    xp, geo, dtype, permute = _setup(spec)

    def run(x, w):
        cols = permute(_patches(xp, x, geo, dtype), (1, 0, 2))  # (g, pixels, k)
        y = xp.matmul(cols, _grouped_filter(xp, w, geo))  # (g, pixels, og)
        return xp.reshape(permute(y, (1, 0, 2)), geo.y_shape)
    return run


@register("Conv2DBackpropFilter", fresh=True)
def conv2d_backprop_filter(spec):
    xp, geo, dtype, permute = _setup(spec)

    def run(x, w_like, g):
        cols = permute(_patches(xp, x, geo, dtype), (1, 2, 0))  # (g, k, pixels)
        gg = permute(xp.reshape(g, (-1, geo.groups, geo.og)), (1, 0, 2))  # (g, pixels, og)
        return xp.reshape(permute(xp.matmul(cols, gg), (1, 0, 2)), geo.w_shape)
    return run


@register("Conv2DBackpropInput", fresh=True)
def conv2d_backprop_input(spec):
    xp, geo, dtype, permute = _setup(spec)
    split = (geo.n, geo.oh, geo.ow, geo.groups, geo.kh * geo.kw, geo.cg)

    def run(w, g, *shape_value):
        gg = permute(xp.reshape(g, (-1, geo.groups, geo.og)), (1, 0, 2))  # (g, pixels, og)
        d = xp.matmul(gg, permute(_grouped_filter(xp, w, geo), (0, 2, 1)))  # (g, pixels, k)
        d = xp.reshape(permute(d, (1, 0, 2)), split)
        dx = xp.zeros((geo.n, geo.hp, geo.wp, geo.c), dtype=dtype)
        for t, (i, j) in enumerate(geo.offsets()):
            key = (ALL,) + geo.window(i, j) + (ALL,)
            dx[key] = dx[key] + xp.reshape(d[:, :, :, :, t, :], (geo.n, geo.oh, geo.ow, geo.c))
        if geo.padded:
            rows, cols = geo.interior()
            dx = dx[ALL, rows, cols, ALL]
        return dx
    return run


# -- pooling ---------------------------------------------------------------------------------------------
def _pool_setup(spec, x_index=0):
    xp = spec.backend.xp
    geo = pool_geometry(tuple(spec.in_shapes[x_index]), spec.attrs)[1]
    return xp, geo, xp_dtype(xp, spec.out_dtype), pool_taps(geo)


def _inverse_counts(spec, geo, taps):
    return spec.backend.to_device(inverse_tap_counts(geo, taps, spec.out_dtype.np))


@register("MaxPool", fresh=True)
def max_pool(spec):
    xp, geo, dtype, taps = _pool_setup(spec)
    lowest = -float("inf") if spec.out_dtype.is_floating else int(np.iinfo(spec.out_dtype.np).min)

    def run(x):
        y = xp.full(geo.y_shape, lowest, dtype=dtype)
        for o, i in taps:
            y[o] = xp.maximum(y[o], x[i])
        return y
    return run


@register("MaxPoolGrad", fresh=True)
def max_pool_grad(spec):
    xp, geo, dtype, taps = _pool_setup(spec)

    def run(x, y, g):
        dx = xp.zeros(geo.x_shape, dtype=dtype)
        taken = xp.zeros(geo.y_shape, dtype=xp.bool)
        zero = xp.zeros((), dtype=dtype)
        for o, i in taps:  # the first tap equal to the maximum takes the gradient, as TF
            hit = (x[i] == y[o]) & ~taken[o]
            taken[o] = taken[o] | hit
            dx[i] = dx[i] + xp.where(hit, g[o], zero)
        return dx
    return run


@register("MaxPoolWithArgmax", fresh=True)
def max_pool_with_argmax(spec):
    """The first tap of each window, then every strictly greater one (TF1's CPU kernel)."""
    xp, geo, dtype, _ = _pool_setup(spec)
    taps, base = argmax_taps(geo, spec.attrs["include_batch_in_index"])
    base = spec.backend.to_device(base)
    index = xp_dtype(xp, spec.out_dtypes[1])

    def run(x):
        y = xp.zeros(geo.y_shape, dtype=dtype)
        idx = xp.full(geo.y_shape, -1, dtype=xp.int64)
        for o, i, offset in taps:
            better = (x[i] > y[o]) | (idx[o] < 0)
            y[o] = xp.where(better, x[i], y[o])
            idx[o] = xp.where(better, base[o] + offset, idx[o])
        return y, astype(xp, idx, index)
    return run


@register("MaxPoolGradWithArgmax", fresh=True)
def max_pool_grad_with_argmax(spec):
    """Each input pixel gathers the gradients of the windows holding it whose argmax names it, once every
    argmax is checked (on the host) to lie in its own window."""
    xp, geo, dtype, _ = _pool_setup(spec)
    include_batch = spec.attrs["include_batch_in_index"]
    taps, _ = argmax_taps(geo, include_batch)
    per_image = geo.h * geo.w * geo.c
    flat = np.arange(geo.n * per_image).reshape(geo.x_shape)
    me = spec.backend.to_device(flat if include_batch else flat % per_image)

    def run(x_like, g, argmax):
        host = np.asarray(spec.backend.to_host(argmax))
        bad = argmax_misplaced(geo, host, include_batch)
        if bad is not None:
            raise InvalidArgumentError(misplaced_message(spec, host, bad))
        at = astype(xp, argmax, xp.int64)
        dx = xp.zeros(geo.x_shape, dtype=dtype)
        zero = xp.zeros((), dtype=dtype)
        for o, i, _offset in taps:
            dx[i] = dx[i] + xp.where(at[o] == me[i], g[o], zero)
        return dx
    return run


@register("AvgPool", fresh=True)
def avg_pool(spec):
    xp, geo, dtype, taps = _pool_setup(spec)
    inv = _inverse_counts(spec, geo, taps)

    def run(x):
        y = xp.zeros(geo.y_shape, dtype=dtype)
        for o, i in taps:
            y[o] = y[o] + x[i]
        return y * inv
    return run


@register("AvgPoolGrad", fresh=True)
def avg_pool_grad(spec):
    xp, geo, dtype, taps = _pool_setup(spec, x_index=1)
    inv = _inverse_counts(spec, geo, taps)

    def run(g, x_like):
        share = g * inv
        dx = xp.zeros(geo.x_shape, dtype=dtype)
        for o, i in taps:
            dx[i] = dx[i] + share[o]
        return dx
    return run
