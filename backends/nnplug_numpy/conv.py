"""NumPy convolution kernels: im2col onto BLAS GEMM, a block of images at a time.

The patch matrix of a whole batch is large (64 MNIST images through a 5x5x32 filter: 40 MB), so each
kernel fills it for `block` images at a time — a few MB that stay in cache for the GEMM that reads them —
into scratch buffers it allocates once (a zero-bordered padded block, the patch block). Filling is a loop
over the kh*kw kernel offsets, each a strided copy of every output pixel at once; the input gradient
(col2im) is the same loop adding back. Grouped (and depthwise) convolutions lay the patches out as
(pixel, group, offset, channel) and run one batched GEMM over the groups.
"""
import numpy as np

from nnplug.ops.conv_ops import conv_spec_geometry

from .kernels import KERNELS

BLOCK_BYTES = 4 << 20  # the patch block each GEMM reads: about the size of a core's share of L3


def image_blocks(geo, itemsize, block_bytes=BLOCK_BYTES):
    """[(first, stop)] image ranges whose patch matrices take about `block_bytes` each."""
    per_image = geo.oh * geo.ow * geo.kh * geo.kw * geo.c * itemsize
    step = max(1, min(geo.n, block_bytes // max(per_image, 1)))
    return [(a, min(a + step, geo.n)) for a in range(0, geo.n, step)]


def split_channels(view, geo):
    """(m, oh, ow, c) strided view -> (m, oh, ow, groups, c/groups), still a view."""
    return view.reshape(view.shape[:3] + (geo.groups, geo.cg), copy=False)


class Patches:
    """im2col for one geometry: `fill(x, a, b)` returns the (pixels, groups, kh*kw*cg) patch matrix of
    images a..b, in scratch buffers kept between calls."""

    def __init__(self, geo, dtype, block):
        self.geo = geo
        self.pad = np.zeros((block, geo.hp, geo.wp, geo.c), dtype) if geo.padded else None  # borders stay 0
        self.cols = np.empty((block, geo.oh, geo.ow, geo.groups, geo.kh, geo.kw, geo.cg), dtype)
        self.windows = [(i, j) + geo.window(i, j) for i, j in geo.offsets()]

    def source(self, x, a, b):
        if self.pad is None:
            return x[a:b]
        rows, cols = self.geo.interior()
        block = self.pad[:b - a]
        block[:, rows, cols] = x[a:b]
        return block

    def fill(self, x, a, b):
        src, cols = self.source(x, a, b), self.cols[:b - a]
        for i, j, rows, cs in self.windows:
            cols[:, :, :, :, i, j, :] = split_channels(src[:, rows, cs], self.geo)
        return self.matrix(cols)

    def matrix(self, cols):
        g = self.geo
        return cols.reshape(-1, g.groups, g.kh * g.kw * g.cg)


def grouped_filter(w, geo):
    """(kh, kw, cg, o) filter -> (groups, kh*kw*cg, o/groups) view."""
    return w.reshape(geo.kh * geo.kw * geo.cg, geo.groups, geo.og).transpose(1, 0, 2)


def _setup(spec):
    geo = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    dtype = spec.out_dtype.np
    blocks = image_blocks(geo, dtype.itemsize)
    return geo, dtype, blocks, Patches(geo, dtype, blocks[0][1] - blocks[0][0])


@KERNELS.register("Conv2D", out=True)
def conv2d(spec):
    geo, dtype, blocks, patches = _setup(spec)
    groups, og = geo.groups, geo.og

    def run(x, w, out=None):
        y = np.empty(geo.y_shape, dtype) if out is None else out
        wg = grouped_filter(w, geo)
        for a, b in blocks:
            cols = patches.fill(x, a, b)
            yb = y[a:b].reshape(-1, groups, og)
            if groups == 1:
                np.matmul(cols[:, 0], wg[0], out=yb[:, 0])
            else:
                np.matmul(cols.transpose(1, 0, 2), wg, out=yb.transpose(1, 0, 2))
        return y
    return run


@KERNELS.register("Conv2DBackpropFilter", out=True)
def conv2d_backprop_filter(spec):
    geo, dtype, blocks, patches = _setup(spec)
    groups, og = geo.groups, geo.og
    part = np.empty((groups, geo.kh * geo.kw * geo.cg, og), dtype) if len(blocks) > 1 else None

    def run(x, w_like, g, out=None):
        dw = np.empty(geo.w_shape, dtype) if out is None else out
        dwg = grouped_filter(dw, geo)
        for k, (a, b) in enumerate(blocks):
            cols = patches.fill(x, a, b)
            gb = g[a:b].reshape(-1, groups, og)
            target = dwg if k == 0 else part
            if groups == 1:
                np.matmul(cols[:, 0].T, gb[:, 0], out=target[0])
            else:
                np.matmul(cols.transpose(1, 2, 0), gb.transpose(1, 0, 2), out=target)
            if k:
                dwg += part
        return dw
    return run


@KERNELS.register("Conv2DBackpropInput", out=True)
def conv2d_backprop_input(spec):
    geo, dtype, blocks, patches = _setup(spec)
    groups, og = geo.groups, geo.og
    dcols = patches.cols  # the patch block, reused for the patches' gradient
    windows = patches.windows

    def run(w, g, *shape_value, out=None):
        dx = np.empty(geo.x_shape, dtype) if out is None else out
        wg = grouped_filter(w, geo)
        for a, b in blocks:
            m = b - a
            gb = g[a:b].reshape(-1, groups, og)
            d = patches.matrix(dcols[:m])
            if groups == 1:
                np.matmul(gb[:, 0], wg[0].T, out=d[:, 0])
            else:
                np.matmul(gb.transpose(1, 0, 2), wg.transpose(0, 2, 1), out=d.transpose(1, 0, 2))
            target = patches.pad[:m] if patches.pad is not None else dx[a:b]
            target.fill(0)
            for i, j, rows, cs in windows:  # col2im: each offset adds its patches back
                t = split_channels(target[:, rows, cs], geo)
                np.add(t, dcols[:m, :, :, :, i, j, :], out=t)
            if patches.pad is not None:
                rows, cs = geo.interior()
                dx[a:b] = target[:, rows, cs]
        return dx
    return run
