"""NumPy convolution kernels: im2col onto BLAS GEMM, a block of images at a time.

The patch matrix of a whole batch is large (64 MNIST images through a 5x5x32 filter: 40 MB), so each
kernel fills it for a block of images at a time (about BLOCK_BYTES), with one strided copy from a
sliding-window view, into a scratch area that every convolution kernel of a thread shares (kernels of one
thread run one at a time, and none keeps patches between calls). A padded input block is each kernel's own
(its zero border is written once); one-channel inputs store their patches offset-major, a copy of whole
output rows per kernel offset. Without groups the input gradient is, per block of images small enough to
stay in cache, one GEMM per kernel offset (g @ w[i, j]^T) each added where that offset read (col2im, every
add a contiguous run); grouped ones use, for stride 1, the convolution of the output gradient with the
flipped filter, else the same col2im from one batched GEMM. Grouped (and depthwise) convolutions lay the
patches out as (pixel, group, offset, channel) and run one batched GEMM over the groups.
"""
import threading

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnplug.kernels import Kernels
from nnplug.ops.conv_ops import conv_spec_geometry, geometry
from nnplug.threads import blas_threads

KERNELS = Kernels()  # merged into the backend's table by kernels.py

BLOCK_BYTES = 8 << 20  # the patch block each GEMM reads (measured: 2 MB blocks are slower, 8-64 MB alike)
CACHE_BYTES = 3 << 19  # the patch-gradient block of the input gradient: kept in (L2) cache between GEMM and adds
FEW = 2  # fewer input channels (no groups): patches stored offset-major (measured: c=1 1.7x faster, c=3 10% slower)
THIN = 16  # fewer input channels than this: the input gradient by col2im (a GEMM this thin is slow)
_SCRATCH = threading.local()


def scratch(shape, dtype):
    """A buffer of `shape` in this thread's scratch area, valid until the next call."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    area = getattr(_SCRATCH, "area", None)
    if area is None or area.nbytes < nbytes:
        area = _SCRATCH.area = np.empty(nbytes, np.uint8)
    return area[:nbytes].view(dtype).reshape(shape)


def image_blocks(geo, itemsize, block_bytes=None):
    """[(first, stop)] image ranges whose patch matrices take about `block_bytes` (BLOCK_BYTES) each."""
    block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
    per_image = geo.oh * geo.ow * geo.kh * geo.kw * geo.c * itemsize
    step = max(1, min(geo.n, block_bytes // max(per_image, 1)))
    return [(a, min(a + step, geo.n)) for a in range(0, geo.n, step)]


def split_channels(view, geo):
    """(m, oh, ow, c) strided view -> (m, oh, ow, groups, c/groups), still a view."""
    return view.reshape(view.shape[:3] + (geo.groups, geo.cg), copy=False)


class Patches:
    """im2col for one geometry: `fill(x, a, b)` returns the (pixels, groups, kh*kw*cg) patch matrix of
    images a..b in the thread's scratch area."""

    def __init__(self, geo, dtype, block):
        self.geo, self.dtype = geo, dtype
        self.pad = np.zeros((block, geo.hp, geo.wp, geo.c), dtype) if geo.padded else None  # borders stay 0
        self.windows = [(i, j) + geo.window(i, j) for i, j in geo.offsets()]
        self.offset_major = geo.groups == 1 and geo.c < FEW

    def source(self, x, a, b):
        if self.pad is None:
            return x[a:b]
        rows, cols = self.geo.interior()
        block = self.pad[:b - a]
        block[:, rows, cols] = x[a:b]
        return block

    def fill(self, x, a, b):
        """One strided copy of every window (a sliding-window view), several times faster than a copy per
        kernel offset."""
        if self.offset_major:
            return self.fill_offset_major(x, a, b)
        g, src, cols = self.geo, self.source(x, a, b), self.block(b - a)
        eh, ew = (g.kh - 1) * g.dh + 1, (g.kw - 1) * g.dw + 1
        view = sliding_window_view(src, (eh, ew), axis=(1, 2))  # (m, rows, cols, c, eh, ew)
        view = view[:, :(g.oh - 1) * g.sh + 1:g.sh, :(g.ow - 1) * g.sw + 1:g.sw, :, ::g.dh, ::g.dw]
        view = view.reshape(view.shape[:3] + (g.groups, g.cg, g.kh, g.kw), copy=False)
        np.copyto(cols, view.transpose(0, 1, 2, 3, 5, 6, 4))
        return self.matrix(cols)

    def fill_offset_major(self, x, a, b):
        """For few channels the patches are stored (kh, kw, c, pixels): a copy per offset of whole output
        rows, where the pixel-major layout would move c values at a time. Returned as the same (pixels, 1, k)
        matrix, transposed (BLAS reads either)."""
        g, src = self.geo, self.source(x, a, b)
        cols = scratch((g.kh, g.kw, g.c, b - a, g.oh, g.ow), self.dtype)
        for i, j, rows, cs in self.windows:
            np.copyto(cols[i, j], src[:, rows, cs].transpose(3, 0, 1, 2))
        return cols.reshape(g.kh * g.kw * g.c, -1).T[:, None, :]

    def block(self, m):
        """Scratch for the patches of m images: (m, oh, ow, groups, kh, kw, cg)."""
        g = self.geo
        return scratch((m, g.oh, g.ow, g.groups, g.kh, g.kw, g.cg), self.dtype)

    def matrix(self, cols):
        g = self.geo
        return cols.reshape(-1, g.groups, g.kh * g.kw * g.cg)


def grouped_filter(w, geo):
    """(kh, kw, cg, o) filter -> (groups, kh*kw*cg, o/groups) view."""
    return w.reshape(geo.kh * geo.kw * geo.cg, geo.groups, geo.og).transpose(1, 0, 2)


def by_group(a, geo, width):
    """(pixels, ...) rows of `groups` parts of `width` -> (groups, pixels, width) view."""
    return a.reshape(-1, geo.groups, width).transpose(1, 0, 2)


def use_threads_for(flops):
    """BLAS threads for a GEMM of `flops` (nnplug/threads.py, as MatMul chooses them): one for small products,
    the free cores for large ones, so a convolution's products do not run on whatever the last MatMul left."""
    policy = blas_threads()
    if policy.libraries:
        policy.use(policy.threads_for(flops))


def grouped_matmul(a, b, out):
    """out[g] = a[g] @ b[g]; one plain GEMM when there is one group (BLAS straight into `out`)."""
    use_threads_for(2 * a.shape[-2] * a.shape[-1] * b.shape[-1])
    if a.shape[0] == 1:
        np.matmul(a[0], b[0], out=out[0])
    else:
        np.matmul(a, b, out=out)


def _setup(spec):
    geo = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    return geo, spec.out_dtype.np


def _patches(geo, dtype):
    blocks = image_blocks(geo, dtype.itemsize)
    return blocks, Patches(geo, dtype, blocks[0][1] - blocks[0][0])


def forward(geo, dtype):
    """y = conv2d(x, w) for one geometry, block by block: patches, then one GEMM into y's rows."""
    blocks, patches = _patches(geo, dtype)

    def run(x, w, out=None):
        y = np.empty(geo.y_shape, dtype) if out is None else out
        wg = grouped_filter(w, geo)
        for a, b in blocks:
            cols = patches.fill(x, a, b).transpose(1, 0, 2)
            grouped_matmul(cols, wg, by_group(y[a:b], geo, geo.og))
        return y
    return run


@KERNELS.register("Conv2D", out=True)
def conv2d(spec):
    return forward(*_setup(spec))


@KERNELS.register("Conv2DBackpropFilter", out=True)
def conv2d_backprop_filter(spec):
    """dw = patches^T @ g, summed over the blocks."""
    geo, dtype = _setup(spec)
    blocks, patches = _patches(geo, dtype)
    part = np.empty((geo.groups, geo.kh * geo.kw * geo.cg, geo.og), dtype) if len(blocks) > 1 else None

    def run(x, w_like, g, out=None):
        dw = np.empty(geo.w_shape, dtype) if out is None else out
        dwg = grouped_filter(dw, geo)
        for n, (a, b) in enumerate(blocks):
            cols = patches.fill(x, a, b).transpose(1, 2, 0)  # (groups, k, pixels)
            grouped_matmul(cols, by_group(g[a:b], geo, geo.og), dwg if n == 0 else part)
            if n:
                dwg += part
        return dw
    return run


def transposed_geometry(geo):
    """For stride 1: the input gradient is a convolution of the output gradient, padded by what the window
    reaches past the forward padding, with the filter flipped and in/out swapped. None when that does not
    apply (strides, or pads beyond the window)."""
    if (geo.sh, geo.sw) != (1, 1):
        return None
    reach_h, reach_w = (geo.kh - 1) * geo.dh, (geo.kw - 1) * geo.dw
    pads = ((reach_h - geo.pt, reach_h - geo.pb), (reach_w - geo.pl, reach_w - geo.pr))
    if min(min(p) for p in pads) < 0:
        return None
    attrs = {"strides": (1, 1), "dilations": (geo.dh, geo.dw), "padding": pads}
    return geometry((geo.n, geo.oh, geo.ow, geo.o), (geo.kh, geo.kw), geo.c, geo.groups, attrs)[1]


def flipped_filter(w, geo, out):
    """out[i, j, p, g*cg + q] = w[kh-1-i, kw-1-j, q, g*og + p]: the transposed convolution's filter."""
    parts = w.reshape(geo.kh, geo.kw, geo.cg, geo.groups, geo.og)[::-1, ::-1]
    np.copyto(out.reshape(geo.kh, geo.kw, geo.og, geo.groups, geo.cg), parts.transpose(0, 1, 4, 3, 2))
    return out


@KERNELS.register("Conv2DBackpropInput", out=True)
def conv2d_backprop_input(spec):
    geo, dtype = _setup(spec)
    if geo.groups == 1:
        return offset_col2im(geo, dtype)
    tgeo = transposed_geometry(geo) if geo.c >= THIN else None
    if tgeo is not None:  # patches of g and a GEMM: no scatter
        conv = forward(tgeo, dtype)
        wt = np.empty(tgeo.w_shape, dtype)
        return lambda w, g, *shape_value, out=None: conv(g, flipped_filter(w, geo, wt), out=out)
    return col2im(geo, dtype)


def col2im(geo, dtype):
    """dx for any strides: the patches' gradient g @ w^T block by block, each kernel offset's slice of it
    added back where that offset read."""
    blocks, patches = _patches(geo, dtype)
    k = geo.kh * geo.kw * geo.cg

    def run(w, g, *shape_value, out=None):
        dx = np.empty(geo.x_shape, dtype) if out is None else out
        wt = grouped_filter(w, geo).transpose(0, 2, 1)  # (groups, og, k)
        for a, b in blocks:
            m = b - a
            dcols = patches.block(m)
            grouped_matmul(by_group(g[a:b], geo, geo.og), wt, by_group(dcols, geo, k))
            target = patches.pad[:m] if patches.pad is not None else dx[a:b]
            target.fill(0)
            for i, j, rows, cs in patches.windows:
                t = split_channels(target[:, rows, cs], geo)
                np.add(t, dcols[:, :, :, :, i, j, :], out=t)
            if patches.pad is not None:
                rows, cs = geo.interior()
                dx[a:b] = target[:, rows, cs]
        return dx
    return run


def offset_col2im(geo, dtype):
    """dx without groups: per block of images, one GEMM per kernel offset (g @ w[i, j]^T, laid out offset by
    offset, so a block's patch gradient stays in cache and each add reads one contiguous run), each added
    where that offset read, clipped to the input (`ConvGeometry.valid`), so no padded copy is made."""
    blocks = image_blocks(geo, dtype.itemsize, CACHE_BYTES)
    taps = [(k, geo.valid(i, j)) for k, (i, j) in enumerate(geo.offsets()) if geo.valid(i, j) is not None]
    wk = np.empty((geo.kh * geo.kw, geo.o, geo.c), dtype)
    pixels = geo.oh * geo.ow

    def run(w, g, *shape_value, out=None):
        dx = np.empty(geo.x_shape, dtype) if out is None else out
        np.copyto(wk, w.reshape(geo.kh * geo.kw, geo.c, geo.o).transpose(0, 2, 1))
        for a, b in blocks:
            m = b - a
            parts = scratch((geo.kh * geo.kw, m * pixels, geo.c), dtype)
            use_threads_for(2 * m * pixels * geo.o * geo.c)  # one GEMM per kernel offset
            np.matmul(g[a:b].reshape(1, m * pixels, geo.o), wk, out=parts)
            parts = parts.reshape(-1, m, geo.oh, geo.ow, geo.c)
            target = dx[a:b]
            target.fill(0)
            for k, (o_rows, o_cols, i_rows, i_cols) in taps:
                t = target[:, i_rows, i_cols]
                np.add(t, parts[k, :, o_rows, o_cols], out=t)
        return dx
    return run
