"""OpenCL kernels of the shape and index ops: reshapes (views), transposes, slices and concatenation as
strided copies, gathers and one-hot. Index maps are baked into each kernel's source as literals."""
import numpy as np

from nnplug.backend import IDENTITY
from nnplug.errors import InvalidArgumentError
from nnplug.kernels import Kernels
from nnplug.ops.array_ops import spec_to_key

from .codegen import contiguous_strides, ctype, header, offset_expr, size_of

KERNELS = Kernels()
register = KERNELS.register


@register("Reshape", "ReshapeLike", "ExpandDims", "Squeeze")
def reshape(spec):
    out = tuple(spec.out_shape)
    if tuple(spec.in_shapes[0]) == out:
        return IDENTITY
    return lambda x, *like: x.reshape(out)


def strided_copy(be, n, dtype, dst, src, name="sc"):
    """`y[dst(i)] = x[src(i)]` for i < n, dst/src C expressions of i."""
    t = ctype(dtype)
    code = (header([dtype]) + f"__kernel void {name}(__global const {t} *x, __global {t} *y) {{ const long i = "
            f"get_global_id(0); if (i < {n}L) y[{dst}] = x[{src}]; }}")
    return be.cl_kernel(code, name)


@register("Transpose", fresh=True)
def transpose(spec):
    be, shape = spec.backend, tuple(spec.in_shapes[0])
    perm = spec.attrs["perm"]
    perm = tuple(range(len(shape) - 1, -1, -1)) if perm is None else tuple(p % len(shape) for p in perm)
    if perm == tuple(range(len(shape))):
        return IDENTITY
    strides = contiguous_strides(shape)
    out = tuple(spec.out_shape)
    n = size_of(out)
    knl = strided_copy(be, n, spec.out_dtype, "i", offset_expr("i", out, [strides[p] for p in perm]))
    return lambda x: be.launch(knl, n, [x], out, spec.out_dtype.np)


def slice_map(in_shape, key):
    """(offset, out dims, their element strides) of a basic-index `key` on a contiguous array."""
    strides = contiguous_strides(in_shape)
    base, dims, steps, d = 0, [], [], 0
    for k in key:
        if k is None:
            dims.append(1)
            steps.append(0)
        elif isinstance(k, slice):
            start, stop, step = k.indices(in_shape[d])
            dims.append(len(range(start, stop, step)))
            steps.append(step * strides[d])
            base += start * strides[d] if dims[-1] else 0
            d += 1
        else:
            base += (k % in_shape[d]) * strides[d]
            d += 1
    for dd in range(d, len(in_shape)):
        dims.append(in_shape[dd])
        steps.append(strides[dd])
    return base, dims, steps


@register("StridedSlice", fresh=True)
def strided_slice(spec):
    be, shape = spec.backend, tuple(spec.in_shapes[0])
    base, dims, steps = slice_map(shape, spec_to_key(spec.attrs["spec"], len(shape)))
    out = tuple(spec.out_shape)
    n = size_of(out)
    knl = strided_copy(be, n, spec.out_dtype, "i", f"{base}L + {offset_expr('i', dims, steps)}")
    return lambda x: be.launch(knl, n, [x], out, spec.out_dtype.np)


@register("SliceGrad", fresh=True)
def slice_grad(spec):
    be, shape, dtype = spec.backend, tuple(spec.out_shape), spec.out_dtype
    base, dims, steps = slice_map(shape, spec_to_key(spec.attrs["spec"], len(shape)))
    n = size_of(spec.in_shapes[0])
    knl = strided_copy(be, n, dtype, f"{base}L + {offset_expr('i', dims, steps)}", "i")

    def scatter(g, x):
        z = be.zeros(shape, dtype.np)
        if n:
            knl(be.queue, be.gsize(n), (be.wg,), be.buf(g), z.base_data)
        return z
    return scatter


def axis_block(shape, axis, start, size):
    """(base, dims, strides) of shape[..., start:start+size, ...] along `axis` of a contiguous array."""
    key = (slice(None),) * axis + (slice(start, start + size),)
    return slice_map(shape, key)


@register("ConcatGrad", fresh=True)
def concat_grad(spec):
    be, g_shape = spec.backend, tuple(spec.in_shapes[0])
    axis = spec.attrs["axis"] % len(g_shape)
    idx = spec.attrs["index"]
    start = sum(s[axis] for s in spec.in_shapes[1:1 + idx])
    base, dims, steps = axis_block(g_shape, axis, start, spec.in_shapes[1 + idx][axis])
    out = tuple(spec.out_shape)
    n = size_of(out)
    knl = strided_copy(be, n, spec.out_dtype, "i", f"{base}L + {offset_expr('i', dims, steps)}")
    return lambda g, *xs: be.launch(knl, n, [g], out, spec.out_dtype.np)


@register("Concat", fresh=True)
def concat(spec):
    be, out, dtype = spec.backend, tuple(spec.out_shape), spec.out_dtype
    axis = spec.attrs["axis"] % len(out)
    parts, start = [], 0
    for s in spec.in_shapes:
        base, dims, steps = axis_block(out, axis, start, s[axis])
        n = size_of(s)
        parts.append((n, strided_copy(be, n, dtype, f"{base}L + {offset_expr('i', dims, steps)}", "i")))
        start += s[axis]

    def join(*xs):
        y = be.empty(out, dtype.np)
        for x, (n, knl) in zip(xs, parts):
            if n:
                knl(be.queue, be.gsize(n), (be.wg,), be.buf(x), y.base_data)
        return y
    return join


# -- gathers ----------------------------------------------------------------------------------------
def index_checker(spec, size, axis):
    """A host check that every index of Gather `spec` lies in [-size, size), as NumPy's `take` requires;
    raises InvalidArgumentError naming the op and the first bad index."""
    def check(idx):
        flat = np.asarray(idx).reshape(-1)
        bad = np.flatnonzero((flat < -size) | (flat >= size))
        if bad.size:
            j = int(bad[0])
            raise InvalidArgumentError(f"Gather '{spec.name}': indices[{j}] = {int(flat[j])} is out of range for "
                                       f"axis {axis} of size {size} (valid: {-size}..{size - 1})")
    return check


@register("Gather", fresh=True)
def gather(spec):
    """The indices are checked on the host before the gather is enqueued (the one host read of a step
    that has a gather): an index out of range raises, as NumPy does, before anything depends on it."""
    be = spec.backend
    p_shape, i_shape = (tuple(s) for s in spec.in_shapes)
    axis = spec.attrs["axis"] % len(p_shape)
    size, post = p_shape[axis], size_of(p_shape[axis + 1:])
    m = size_of(i_shape)
    out, dtype = tuple(spec.out_shape), spec.out_dtype
    n = size_of(out)
    src = header([dtype]) + f"""__kernel void gather(__global const {ctype(dtype)} *p,
    __global const {ctype(spec.in_dtypes[1])} *idx, __global {ctype(dtype)} *y) {{
  const long o = get_global_id(0); if (o >= {n}L) return;
  const long q = o % {post}L, j = (o / {post}L) % {m}L, a = o / {post * m}L;
  long t = (long)idx[j]; if (t < 0) t += {size}L;
  y[o] = (t >= 0 && t < {size}L) ? p[(a * {size}L + t) * {post}L + q] : ({ctype(dtype)})0;
}}"""
    knl = be.cl_kernel(src, "gather")
    check = index_checker(spec, size, axis)

    def take(p, i):
        if m:
            be.host_check(check, i)
        return be.launch(knl, n, [p, i], out, dtype.np)
    return take


@register("GatherGrad", fresh=True)
def gather_grad(spec):
    # deterministic scatter-add: each output element sums the gradient rows whose index names it
    be, out, dtype = spec.backend, tuple(spec.out_shape), spec.out_dtype
    axis = spec.attrs["axis"] % len(out)
    size, post = out[axis], size_of(out[axis + 1:])
    m = size_of(spec.in_shapes[1])
    n = size_of(out)
    t = ctype(dtype)
    src = header([dtype]) + f"""__kernel void gather_grad(__global const {t} *g,
    __global const {ctype(spec.in_dtypes[1])} *idx, __global {t} *y) {{
  const long o = get_global_id(0); if (o >= {n}L) return;
  const long q = o % {post}L, r = (o / {post}L) % {size}L, a = o / {post * size}L;
  {t} s = 0;
  for (long j = 0; j < {m}L; ++j) {{
    long v = (long)idx[j]; if (v < 0) v += {size}L;
    if (v == r) s += g[(a * {m}L + j) * {post}L + q];
  }}
  y[o] = s;
}}"""
    knl = be.cl_kernel(src, "gather_grad")
    return lambda g, idx, params: be.launch(knl, n, [g, idx], out, dtype.np)


@register("OneHot", fresh=True)
def one_hot(spec):
    """Ids outside [0, depth) give a row of off_value, as in TF."""
    be, a = spec.backend, spec.attrs
    out, dtype = tuple(spec.out_shape), a["dtype"]
    axis = a["axis"] % len(out) if a["axis"] != -1 else len(out) - 1
    depth, post = out[axis], size_of(out[axis + 1:])
    n = size_of(out)
    t = ctype(dtype)
    lit = (lambda v: repr(float(v))) if dtype.is_floating else (lambda v: str(int(v)))
    src = header([dtype]) + f"""__kernel void one_hot(__global const {ctype(spec.in_dtypes[0])} *idx,
    __global {t} *y) {{
  const long o = get_global_id(0); if (o >= {n}L) return;
  const long q = o % {post}L, d = (o / {post}L) % {depth}L, a = o / {post * depth}L;
  y[o] = ((long)idx[a * {post}L + q] == d) ? ({t})({lit(a['on_value'])}) : ({t})({lit(a['off_value'])});
}}"""
    knl = be.cl_kernel(src, "one_hot")
    return lambda i: be.launch(knl, n, [i], out, dtype.np)


@register("Shape")
def shape(spec):
    value = spec.backend.to_device(np.array(spec.in_shapes[0], dtype=spec.out_dtype.np))
    return lambda x: value
