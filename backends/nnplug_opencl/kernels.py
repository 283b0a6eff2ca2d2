"""OpenCL kernel factories: each takes a KernelSpec (concrete shapes) and returns a callable on
pyopencl.array.Array values. Sources are generated per shape (index maps baked in as literals) and built
once per context (cached by source text in the backend).

Elementwise ops (and fused chains from nnplug.fusion) share one generator, `codegen.elementwise_source`.
Reductions run one work-item per output (long rows: one work-group per output with a local-memory tree).
The matrix product is tiled: TS x TS output tiles in local memory, each work-item computing RT x RT outputs.
"""
import math

import numpy as np

from nnplug import fusion
from nnplug.backend import IDENTITY
from nnplug.ops.array_ops import spec_to_key
from nnplug.xp_kernels import sum_to_axes

from . import codegen
from .codegen import ctype, header, offset_expr, contiguous_strides

ELEMENTWISE = frozenset(fusion.C_FUSABLE)
_FLOATS = ("float32", "float64")


def _size(shape):
    return math.prod(tuple(shape))


def _axes(spec):
    axis = spec.attrs["axis"]
    rank = len(spec.in_shapes[0])
    if axis is None:
        return tuple(range(rank))
    return tuple(sorted({a % rank for a in ((axis,) if isinstance(axis, int) else axis)}))


def make_table(be):
    """{op type: factory(spec)} bound to backend `be` (its context, queue, program cache, allocator)."""
    K = {}

    def kernel(*names):
        def deco(factory):
            for n in names:
                K[n] = factory
            return factory
        return deco

    # -- elementwise: one generated kernel per op and shape ------------------------------------
    def elementwise(spec):
        args = tuple(("in", i) for i in range(len(spec.in_shapes)))
        chain = fusion.Chain(list(zip(spec.in_shapes, spec.in_dtypes)), [(spec.op_type, spec.attrs, args)],
                             spec.out_shape, spec.out_dtype, [spec.name])
        return be.fuse_elementwise(chain)

    for name in ELEMENTWISE:
        K[name] = elementwise

    @kernel("Copy")
    def _copy(spec):
        shape, dtype = tuple(spec.out_shape), spec.out_dtype.np

        def copy(x):
            y = be.empty(shape, dtype)
            if y.nbytes:
                be.copy_buffer(y.base_data, x.base_data, y.nbytes, x.offset)
            return y
        return copy

    @kernel("FullLike")
    def _full_like(spec):
        shape, dtype = tuple(spec.out_shape), spec.out_dtype
        value = np.asarray(spec.attrs["value"], dtype.np)
        lit = repr(float(value)) if dtype.is_floating else str(int(value))
        n = _size(shape)
        knl = be.cl_kernel(header([dtype]) + f"__kernel void fill(__global {ctype(dtype)} *y) {{ const long i = "
                           f"get_global_id(0); if (i < {n}L) y[i] = ({ctype(dtype)})({lit}); }}", "fill")
        return lambda x: be.launch(knl, n, [], shape, dtype.np)

    # -- reductions ------------------------------------------------------------------------------
    def reduction(in_shape, axes, kind, in_dtype, out_dtype, out_shape):
        """A callable reducing `axes` of a contiguous `in_shape` array; the output keeps the other axes
        in order (any `out_shape` of that size)."""
        in_shape = tuple(in_shape)
        strides = contiguous_strides(in_shape)
        kept = [i for i in range(len(in_shape)) if i not in axes]
        n_out = _size(in_shape[i] for i in kept)
        r = _size(in_shape[i] for i in axes)
        fl = in_dtype.name in _FLOATS
        if fl:
            acc = out_dtype if out_dtype.name in _FLOATS else in_dtype
        else:
            acc = "long" if kind in ("sum", "prod", "mean") else in_dtype
        ta = ctype(acc) if not isinstance(acc, str) else acc
        limits = {"int32": ("INT_MIN", "INT_MAX"), "int64": ("LONG_MIN", "LONG_MAX"), "uint8": ("0", "255"),
                  "bool": ("0", "1"), "int16": ("SHRT_MIN", "SHRT_MAX"), "int8": ("CHAR_MIN", "CHAR_MAX")}
        lo, hi = ("-INFINITY", "INFINITY") if fl else limits[in_dtype.name]
        ident = {"sum": "0", "mean": "0", "prod": "1", "max": lo, "min": hi}[kind]
        if kind in ("sum", "mean"):
            combine = "(a) + (v)"
        elif kind == "prod":
            combine = "(a) * (v)"
        else:
            cmp = ">=" if kind == "max" else "<="
            combine = f"((isnan(a) || (a) {cmp} (v)) ? (a) : (v))" if fl else f"(((a) {cmp} (v)) ? (a) : (v))"
        final = "a"
        if kind == "mean":
            final = f"(a) / ({ta}){r}" if fl else f"(a) / {r}L"  # integer mean truncates toward zero
        kept_off = offset_expr("o", [in_shape[i] for i in kept], [strides[i] for i in kept])
        red_off = offset_expr("r", [in_shape[i] for i in axes], [strides[i] for i in axes])
        ti, to = ctype(in_dtype), ctype(out_dtype)
        pre = (header([in_dtype, out_dtype] + ([acc] if not isinstance(acc, str) else []))
               + f"#define COMBINE(a, v) ({combine})\n#define FINAL(a) ({final})\n")
        group = n_out < 256 and r >= be.group_reduce_min and be.reduce_wg > 1
        if not group:
            src = pre + f"""__kernel void red(__global const {ti} *x, __global {to} *y) {{
  const long o = get_global_id(0); if (o >= {n_out}L) return;
  const long base = {kept_off};
  {ta} a = ({ta})({ident});
  for (long r = 0; r < {r}L; ++r) {{ const {ta} v = ({ta})x[base + {red_off}]; a = COMBINE(a, v); }}
  y[o] = ({to})(FINAL(a));
}}"""
            knl = be.cl_kernel(src, "red")
            return lambda x: be.launch(knl, n_out, [x], out_shape, out_dtype.np)
        wg = be.reduce_wg
        src = pre + f"""__kernel void red(__global const {ti} *x, __global {to} *y) {{
  __local {ta} buf[{wg}];
  const long o = get_group_id(0); const int l = get_local_id(0);
  const long base = {kept_off};
  {ta} a = ({ta})({ident});
  for (long r = l; r < {r}L; r += {wg}) {{ const {ta} v = ({ta})x[base + {red_off}]; a = COMBINE(a, v); }}
  buf[l] = a; barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = {wg // 2}; s > 0; s >>= 1) {{
    if (l < s) {{ const {ta} v = buf[l + s]; buf[l] = COMBINE(buf[l], v); }}
    barrier(CLK_LOCAL_MEM_FENCE);
  }}
  if (l == 0) y[o] = ({to})(FINAL(buf[0]));
}}"""
        knl = be.cl_kernel(src, "red")
        return lambda x: be.launch(knl, n_out * wg, [x], out_shape, out_dtype.np, local=wg)

    def reducer(kind):
        def factory(spec):
            axes = _axes(spec)
            if not axes:
                return IDENTITY
            return reduction(spec.in_shapes[0], axes, kind, spec.in_dtypes[0], spec.out_dtype, spec.out_shape)
        return factory

    for op, kind in {"ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod",
                     "ReduceMean": "mean"}.items():
        K[op] = reducer(kind)

    @kernel("SumTo")
    def _sum_to(spec):
        g_shape, x_shape = spec.in_shapes
        axes = sum_to_axes(spec)
        if not axes:
            return IDENTITY if tuple(g_shape) == tuple(x_shape) else _reshape(spec)
        red = reduction(g_shape, axes, "sum", spec.in_dtypes[0], spec.out_dtype, spec.out_shape)
        return lambda g, x: red(g)

    @kernel("ArgMax", "ArgMin")
    def _arg(spec):
        shape = tuple(spec.in_shapes[0])
        axis = spec.attrs["axis"] % len(shape)
        strides = contiguous_strides(shape)
        kept = [i for i in range(len(shape)) if i != axis]
        n_out = _size(spec.out_shape)
        fl = spec.in_dtypes[0].name in _FLOATS
        cmp = ">" if spec.op_type == "ArgMax" else "<"
        nan_first = "if (isnan(v)) { bi = j; break; }" if fl else ""
        ti, to = ctype(spec.in_dtypes[0]), ctype(spec.out_dtype)
        src = header(spec.in_dtypes) + f"""__kernel void arg(__global const {ti} *x, __global {to} *y) {{
  const long o = get_global_id(0); if (o >= {n_out}L) return;
  const long base = {offset_expr("o", [shape[i] for i in kept], [strides[i] for i in kept])};
  {ti} best = x[base]; long bi = 0;
  for (long j = 0; j < {shape[axis]}L; ++j) {{
    const {ti} v = x[base + j * {strides[axis]}L];
    {nan_first}
    if (v {cmp} best) {{ best = v; bi = j; }}
  }}
  y[o] = ({to})bi;
}}"""
        knl = be.cl_kernel(src, "arg")
        return lambda x: be.launch(knl, n_out, [x], spec.out_shape, spec.out_dtype.np)

    @kernel("ReduceGrad", "BroadcastLike")
    def _spread(spec):
        g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
        axes = spec.attrs.get("axes", ())
        keep = spec.attrs.get("keepdims", True)
        shaped = tuple(1 if i in axes else d for i, d in enumerate(x_shape)) if axes and not keep else g_shape
        mean = spec.attrs.get("kind") == "mean" and axes
        if not mean and g_shape == x_shape:
            return IDENTITY
        dtype = spec.out_dtype
        nodes = [("Mul", {}, (("in", 0), ("in", 1)))] if mean else [("Cast", {"dtype": dtype}, (("in", 0),))]
        inputs = [(shaped, dtype)] + ([((), dtype)] if mean else [])
        run = be.fuse_elementwise(fusion.Chain(inputs, nodes, x_shape, dtype, [spec.name]))
        if mean:
            scale = be.to_device(np.asarray(1.0 / math.prod(x_shape[a] for a in axes), dtype.np))
            return lambda g, x: run(g, scale)
        return lambda g, x: run(g)

    # -- matrix product ---------------------------------------------------------------------------
    @kernel("MatMul")
    def _matmul(spec):
        ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
        a_shape, b_shape = (tuple(s) for s in spec.in_shapes)
        out_shape = tuple(spec.out_shape)
        m, n = out_shape[-2], out_shape[-1]
        k = a_shape[-2] if ta else a_shape[-1]
        batch = out_shape[:-2]
        nb = _size(batch)
        a_off = f"({fusion.broadcast_index(a_shape[:-2], batch, 'bt')}) * {m * k}L" if batch else "0"
        b_off = f"({fusion.broadcast_index(b_shape[:-2], batch, 'bt')}) * {k * n}L" if batch else "0"
        dtype = spec.out_dtype
        t = ctype(dtype)
        if be.matmul_kind == "blocked" and not tb and k:
            # 16 rows x 2 float8 columns per work-item measured fastest for the chapter MLP's products on
            # PoCL (2-core AVX-512): ~66 us for 64x784 @ 784x50 vs ~85 us at 4 x 4 and 160 us 'simple'
            return _blocked_matmul(be, spec, m, n, k, nb, a_off, b_off, rows=16 if m >= 32 else 4, nvec=2)
        if be.matmul_kind == "blocked" and tb and not ta and k:
            return _blocked_matmul_nt(be, spec, m, n, k, nb, a_off, b_off)
        if be.matmul_kind in ("simple", "blocked"):
            return _simple_matmul(be, spec, m, n, k, nb, a_off, b_off)
        ls, rt = be.mm_local, 2
        ts, tk = ls * rt, 16
        a_idx = f"(gk) * {m}L + (gi)" if ta else f"(gi) * {k}L + (gk)"
        b_idx = f"(gj) * {k}L + (gk)" if tb else f"(gk) * {n}L + (gj)"
        src = header([dtype]) + f"""
__kernel __attribute__((reqd_work_group_size({ls}, {ls}, 1)))
void mm(__global const {t} *A, __global const {t} *B, __global {t} *C) {{
  __local {t} As[{ts}][{tk + 1}];
  __local {t} Bs[{tk}][{ts + 1}];
  const int li = get_local_id(0), lj = get_local_id(1), tid = lj * {ls} + li;
  const long row0 = get_group_id(0) * {ts}L, col0 = get_group_id(1) * {ts}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
  {t} acc[{rt}][{rt}];
  for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) acc[a][b] = 0;
  for (long k0 = 0; k0 < {k}L; k0 += {tk}) {{
    for (int e = tid; e < {ts * tk}; e += {ls * ls}) {{
      const int i = e / {tk}, kk = e % {tk};
      const long gi = row0 + i, gk = k0 + kk;
      As[i][kk] = (gi < {m}L && gk < {k}L) ? A[ao + {a_idx}] : ({t})0;
    }}
    for (int e = tid; e < {ts * tk}; e += {ls * ls}) {{
      const int kk = e / {ts}, j = e % {ts};
      const long gj = col0 + j, gk = k0 + kk;
      Bs[kk][j] = (gj < {n}L && gk < {k}L) ? B[bo + {b_idx}] : ({t})0;
    }}
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < {tk}; ++kk) {{
      {t} av[{rt}], bv[{rt}];
      for (int a = 0; a < {rt}; ++a) av[a] = As[li + a * {ls}][kk];
      for (int b = 0; b < {rt}; ++b) bv[b] = Bs[kk][lj + b * {ls}];
      for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) acc[a][b] += av[a] * bv[b];
    }}
    barrier(CLK_LOCAL_MEM_FENCE);
  }}
  for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) {{
    const long i = row0 + li + a * {ls}, j = col0 + lj + b * {ls};
    if (i < {m}L && j < {n}L) C[co + i * {n}L + j] = acc[a][b];
  }}
}}"""
        knl = be.cl_kernel(src, "mm")
        gsize = (-(-m // ts) * ls, -(-n // ts) * ls, nb)
        dt = dtype.np

        def matmul(a, b):
            y = be.empty(out_shape, dt)
            if y.size:
                if k == 0:
                    return be.zeros(out_shape, dt)
                knl(be.queue, gsize, (ls, ls, 1), be.buf(a), be.buf(b), y.base_data)
            return y
        return matmul

    # -- shapes, slices, concatenation --------------------------------------------------------------
    @kernel("Reshape", "ReshapeLike", "ExpandDims", "Squeeze")
    def _reshape(spec):
        out = tuple(spec.out_shape)
        if tuple(spec.in_shapes[0]) == out:
            return IDENTITY
        return lambda x, *like: x.reshape(out)

    def strided_copy(n, dtype, dst, src, name="sc"):
        """`y[dst(i)] = x[src(i)]` for i < n, dst/src C expressions of i."""
        t = ctype(dtype)
        code = (header([dtype]) + f"__kernel void {name}(__global const {t} *x, __global {t} *y) {{ const long i = "
                f"get_global_id(0); if (i < {n}L) y[{dst}] = x[{src}]; }}")
        return be.cl_kernel(code, name)

    @kernel("Transpose")
    def _transpose(spec):
        shape = tuple(spec.in_shapes[0])
        perm = spec.attrs["perm"]
        perm = tuple(range(len(shape) - 1, -1, -1)) if perm is None else tuple(p % len(shape) for p in perm)
        if perm == tuple(range(len(shape))):
            return IDENTITY
        strides = contiguous_strides(shape)
        out = tuple(spec.out_shape)
        n = _size(out)
        knl = strided_copy(n, spec.out_dtype, "i", offset_expr("i", out, [strides[p] for p in perm]))
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

    @kernel("StridedSlice")
    def _slice(spec):
        shape = tuple(spec.in_shapes[0])
        base, dims, steps = slice_map(shape, spec_to_key(spec.attrs["spec"], len(shape)))
        out = tuple(spec.out_shape)
        n = _size(out)
        knl = strided_copy(n, spec.out_dtype, "i", f"{base}L + {offset_expr('i', dims, steps)}")
        return lambda x: be.launch(knl, n, [x], out, spec.out_dtype.np)

    @kernel("SliceGrad")
    def _slice_grad(spec):
        shape, dtype = tuple(spec.out_shape), spec.out_dtype
        base, dims, steps = slice_map(shape, spec_to_key(spec.attrs["spec"], len(shape)))
        n = _size(spec.in_shapes[0])
        knl = strided_copy(n, dtype, f"{base}L + {offset_expr('i', dims, steps)}", "i")

        def slice_grad(g, x):
            z = be.zeros(shape, dtype.np)
            if n:
                knl(be.queue, be.gsize(n), (be.wg,), be.buf(g), z.base_data)
            return z
        return slice_grad

    def axis_block(shape, axis, start, size):
        """(base, dims, strides) of shape[..., start:start+size, ...] along `axis` of a contiguous array."""
        key = (slice(None),) * axis + (slice(start, start + size),)
        return slice_map(shape, key)

    @kernel("ConcatGrad")
    def _concat_grad(spec):
        g_shape = tuple(spec.in_shapes[0])
        axis = spec.attrs["axis"] % len(g_shape)
        idx = spec.attrs["index"]
        start = sum(s[axis] for s in spec.in_shapes[1:1 + idx])
        base, dims, steps = axis_block(g_shape, axis, start, spec.in_shapes[1 + idx][axis])
        out = tuple(spec.out_shape)
        n = _size(out)
        knl = strided_copy(n, spec.out_dtype, "i", f"{base}L + {offset_expr('i', dims, steps)}")
        return lambda g, *xs: be.launch(knl, n, [g], out, spec.out_dtype.np)

    @kernel("Concat")
    def _concat(spec):
        out, dtype = tuple(spec.out_shape), spec.out_dtype
        axis = spec.attrs["axis"] % len(out)
        parts, start = [], 0
        for s in spec.in_shapes:
            base, dims, steps = axis_block(out, axis, start, s[axis])
            n = _size(s)
            parts.append((n, strided_copy(n, dtype, f"{base}L + {offset_expr('i', dims, steps)}", "i")))
            start += s[axis]

        def concat(*xs):
            y = be.empty(out, dtype.np)
            for x, (n, knl) in zip(xs, parts):
                if n:
                    knl(be.queue, be.gsize(n), (be.wg,), be.buf(x), y.base_data)
            return y
        return concat

    # -- gathers ------------------------------------------------------------------------------------
    @kernel("Gather")
    def _gather(spec):
        p_shape, i_shape = (tuple(s) for s in spec.in_shapes)
        axis = spec.attrs["axis"] % len(p_shape)
        pre, size, post = _size(p_shape[:axis]), p_shape[axis], _size(p_shape[axis + 1:])
        m = _size(i_shape)
        out, dtype = tuple(spec.out_shape), spec.out_dtype
        n = _size(out)
        src = header([dtype]) + f"""__kernel void gather(__global const {ctype(dtype)} *p,
    __global const {ctype(spec.in_dtypes[1])} *idx, __global {ctype(dtype)} *y) {{
  const long o = get_global_id(0); if (o >= {n}L) return;
  const long q = o % {post}L, j = (o / {post}L) % {m}L, a = o / {post * m}L;
  long t = (long)idx[j]; if (t < 0) t += {size}L;
  y[o] = (t >= 0 && t < {size}L) ? p[(a * {size}L + t) * {post}L + q] : ({ctype(dtype)})0;
}}"""
        knl = be.cl_kernel(src, "gather")
        return lambda p, i: be.launch(knl, n, [p, i], out, dtype.np)

    @kernel("GatherGrad")
    def _gather_grad(spec):
        # deterministic scatter-add: each output element sums the gradient rows whose index names it
        out, dtype = tuple(spec.out_shape), spec.out_dtype
        axis = spec.attrs["axis"] % len(out)
        pre, size, post = _size(out[:axis]), out[axis], _size(out[axis + 1:])
        m = _size(spec.in_shapes[1])
        n = _size(out)
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

    @kernel("OneHot")
    def _one_hot(spec):
        a = spec.attrs
        out, dtype = tuple(spec.out_shape), a["dtype"]
        axis = a["axis"] % len(out) if a["axis"] != -1 else len(out) - 1
        depth, post = out[axis], _size(out[axis + 1:])
        n = _size(out)
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

    @kernel("Shape")
    def _shape(spec):
        value = be.to_device(np.array(spec.in_shapes[0], dtype=spec.out_dtype.np))
        return lambda x: value

    # -- random: drawn on the host from the op's NumPy stream, so numbers match the numpy backend ----
    def draw(spec, fn):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        native = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
        return lambda *like: be.to_device(fn(rng, shape, native).astype(dtype, copy=False))

    K["RandomStandardNormal"] = lambda spec: draw(spec, lambda r, s, d: r.standard_normal(s, dtype=d))
    K["RandomUniform"] = lambda spec: draw(spec, lambda r, s, d: r.random(s, dtype=d))

    def truncated(r, shape, d):
        x = r.standard_normal(shape, dtype=d)
        bad = np.abs(x) > 2
        while bad.any():
            x[bad] = r.standard_normal(int(bad.sum()), dtype=d)
            bad = np.abs(x) > 2
        return x
    K["TruncatedNormal"] = lambda spec: draw(spec, truncated)

    @kernel("RandomUniformInt")
    def _uniform_int(spec):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
        return lambda *like: be.to_device(rng.integers(lo, hi, shape, dtype=dtype))

    # -- fused composites: a work-item per row ------------------------------------------------------
    def rows(shape, axis):
        axis %= len(shape)
        return _size(shape[:axis]) * _size(shape[axis + 1:]), shape[axis], _size(shape[axis + 1:])

    row_stats = """
  const long base = (r / {inner}L) * {row}L + (r % {inner}L);
  {t} m = x[base];
  for (long j = 1; j < {c}L; ++j) {{ const {t} v = x[base + j * {inner}L]; m = (v > m || isnan(v)) ? v : m; }}
  {t} s = 0;
  for (long j = 0; j < {c}L; ++j) s += exp(x[base + j * {inner}L] - m);
  const {t} ls = log(s);
"""

    @kernel("Softmax", "LogSoftmax")
    def _softmax(spec):
        shape, dtype = tuple(spec.in_shapes[0]), spec.out_dtype
        if not shape or _size(shape) == 0 or dtype.name not in _FLOATS:
            raise NotImplementedError(f"opencl {spec.op_type} needs float32/float64 of rank >= 1, "
                                      f"got {dtype.name} {shape} in '{spec.name}'")
        nrows, c, inner = rows(shape, spec.attrs["axis"])
        t = ctype(dtype)
        out = "x[k] - m - ls" if spec.op_type == "LogSoftmax" else "exp(x[k] - m) / s"
        src = header([dtype]) + f"__kernel void sm(__global const {t} *x, __global {t} *y) {{\n" \
            f"  const long r = get_global_id(0); if (r >= {nrows}L) return;" \
            + row_stats.format(inner=inner, c=c, t=t, row=c * inner) + \
            f"  for (long j = 0; j < {c}L; ++j) {{ const long k = base + j * {inner}L; y[k] = {out}; }}\n}}"
        knl = be.cl_kernel(src, "sm")
        return lambda x: be.launch(knl, nrows, [x], shape, dtype.np)

    @kernel("SoftmaxCrossEntropyWithLogits")
    def _xent(spec):
        shape, dtype = tuple(spec.in_shapes[0]), spec.out_dtype
        nrows, c, inner = rows(shape, -1)
        t = ctype(dtype)
        stats = row_stats.format(inner=1, c=c, t=t, row=c)
        if spec.attrs["sparse"]:
            body = f"""
  const long lab = (long)labels[r];
  const int ok = lab >= 0 && lab < {c}L;
  loss[r] = ok ? ls - (x[base + lab] - m) : ({t})NAN;
  for (long j = 0; j < {c}L; ++j)
    grad[base + j] = ok ? exp(x[base + j] - m - ls) - (j == lab ? ({t})1 : ({t})0) : ({t})NAN;"""
        else:
            body = f"""
  {t} total = 0, l = 0;
  for (long j = 0; j < {c}L; ++j) {{ const {t} y = labels[base + j]; total += y; l -= y * (x[base + j] - m - ls); }}
  loss[r] = l;
  for (long j = 0; j < {c}L; ++j) grad[base + j] = exp(x[base + j] - m - ls) * total - labels[base + j];"""
        src = header([dtype]) + f"""__kernel void xent(__global const {t} *x,
    __global const {ctype(spec.in_dtypes[1])} *labels, __global {t} *loss, __global {t} *grad) {{
  const long r = get_global_id(0); if (r >= {nrows}L) return;{stats}{body}
}}"""
        knl = be.cl_kernel(src, "xent")
        loss_shape = tuple(spec.out_shapes[0])

        def xent(logits, labels):
            loss, grad = be.empty(loss_shape, dtype.np), be.empty(shape, dtype.np)
            if nrows:
                knl(be.queue, be.gsize(nrows), (be.wg,), be.buf(logits), be.buf(labels), loss.base_data,
                    grad.base_data)
            return loss, grad
        return xent

    return K


def _simple_matmul(be, spec, m, n, k, nb, a_off, b_off):
    """For CPU devices (PoCL): a work-item per output, consecutive work-items along a row of C, so the
    compiler vectorises across work-items over contiguous B and C; no local memory or barriers, which
    CPU OpenCL runs poorly."""
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    a_idx = f"kk * {m}L + i" if ta else f"i * {k}L + kk"
    b_idx = f"j * {k}L + kk" if tb else f"kk * {n}L + j"
    if not tb:  # a work-item per row of C: the inner loop runs along contiguous rows of B and C
        src = header([dtype]) + f"""__kernel void mm(__global const {t} *A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i = get_global_id(0), bt = get_global_id(1);
  if (i >= {m}L) return;
  const long ao = {a_off}, bo = {b_off};
  __global {t} *c = C + bt * {m * n}L + i * {n}L;
  for (long j = 0; j < {n}L; ++j) c[j] = 0;
  for (long kk = 0; kk < {k}L; ++kk) {{
    const {t} a = A[ao + {a_idx}];
    __global const {t} *b = B + bo + kk * {n}L;
    for (long j = 0; j < {n}L; ++j) c[j] += a * b[j];
  }}
}}"""
        knl = be.cl_kernel(src, "mm")
        return lambda a, b: be.launch(knl, m * 1, [a, b], out_shape, dtype.np, grid=(m, nb))
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *A, __global const {t} *B, __global {t} *C) {{
  const long j = get_global_id(0), i = get_global_id(1), bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off};
  {t} acc = 0;
  for (long kk = 0; kk < {k}L; ++kk) acc += A[ao + {a_idx}] * B[bo + {b_idx}];
  C[bt * {m * n}L + i * {n}L + j] = acc;
}}"""
    knl = be.cl_kernel(src, "mm")
    dt = dtype.np

    def matmul(a, b):
        y = be.empty(out_shape, dt)
        if y.size:
            knl(be.queue, (n, m, nb), None, be.buf(a), be.buf(b), y.base_data)
        return y
    return matmul


def _blocked_matmul(be, spec, m, n, k, nb, a_off, b_off, rows=4, vec=8, nvec=4, local=(1, 1, 1)):
    """For CPU devices (PoCL), C = A @ B or A.T @ B: a work-item per block of `rows` rows x up to
    `nvec` float8 columns of C, accumulating in registers over all of k. Each k step broadcasts one A
    value per row against contiguous vector loads of a row of B, so the loop is explicit SIMD (PoCL's
    own work-item vectoriser cannot do that for a reduction); the last column block's width is a
    compile-time constant too, handled by its own branch."""
    ta = spec.attrs["transpose_a"]
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    vt = f"{t}{vec}"
    n_blocks = -(-n // (nvec * vec))
    cb = -(-n // n_blocks)
    cb = -(-cb // vec) * vec  # a whole number of vectors per full block
    n_blocks = -(-n // cb)
    rem = n - (n_blocks - 1) * cb

    def block(width):
        nv, ns = divmod(width, vec)
        lines = ["{"]
        for r in range(rows):
            lines.append(f"  const long r{r} = min(i0 + {r}L, {m - 1}L);")
            lines += [f"  {vt} acc{r}_{v} = ({vt})(0);" for v in range(nv)]
            lines += [f"  {t} s{r}_{q} = 0;" for q in range(ns)]
        lines.append(f"  for (long kk = 0; kk < {k}L; ++kk) {{")
        lines.append(f"    __global const {t} *b = B + bo + kk * {n}L + j0;")
        lines += [f"    const {vt} b{v} = vload{vec}({v}, b);" for v in range(nv)]
        lines += [f"    const {t} bs{q} = b[{nv * vec + q}];" for q in range(ns)]
        for r in range(rows):
            a_idx = f"kk * {m}L + r{r}" if ta else f"r{r} * {k}L + kk"
            lines.append(f"    const {t} a{r} = A[ao + {a_idx}];")
            lines += [f"    acc{r}_{v} += a{r} * b{v};" for v in range(nv)]
            lines += [f"    s{r}_{q} += a{r} * bs{q};" for q in range(ns)]
        lines.append("  }")
        for r in range(rows):
            lines.append(f"  if (i0 + {r}L < {m}L) {{ __global {t} *c = C + co + (i0 + {r}L) * {n}L + j0;")
            lines += [f"    vstore{vec}(acc{r}_{v}, {v}, c);" for v in range(nv)]
            lines += [f"    c[{nv * vec + q}] = s{r}_{q};" for q in range(ns)]
            lines.append("  }")
        return "\n".join(lines) + "\n}"

    body = block(rem) if n_blocks == 1 else f"if (j0 + {cb}L <= {n}L) {block(cb)} else {block(rem)}"
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *restrict A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i0 = get_global_id(0) * {rows}L, j0 = get_global_id(1) * {cb}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
{body}
}}"""
    knl = be.cl_kernel(src, "mm")
    grid = (-(-m // rows), n_blocks, nb)
    dt = dtype.np

    def matmul(a, b):
        y = be.empty(out_shape, dt)
        if y.size:
            knl(be.queue, grid, local, be.buf(a), be.buf(b), y.base_data)
        return y
    return matmul


def _blocked_matmul_nt(be, spec, m, n, k, nb, a_off, b_off, rows=2, cols=4, vec=8):
    """For CPU devices, C = A @ B.T (the input gradient of a dense layer): both operands are read along
    contiguous rows of length k, so a work-item computes `rows` x `cols` dot products with vector
    accumulators over k and one horizontal sum each at the end."""
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    vt = f"{t}{vec}"
    kv, ks = divmod(k, vec)
    lines = []
    for r in range(rows):
        lines.append(f"  __global const {t} *a{r} = A + ao + min(i0 + {r}L, {m - 1}L) * {k}L;")
    for c in range(cols):
        lines.append(f"  __global const {t} *b{c} = B + bo + min(j0 + {c}L, {n - 1}L) * {k}L;")
    for r in range(rows):
        for c in range(cols):
            lines.append(f"  {vt} v{r}_{c} = ({vt})(0); {t} s{r}_{c} = 0;")
    if kv:
        lines.append(f"  for (long q = 0; q < {kv}L; ++q) {{")
        lines += [f"    const {vt} av{r} = vload{vec}(q, a{r});" for r in range(rows)]
        lines += [f"    const {vt} bv{c} = vload{vec}(q, b{c});" for c in range(cols)]
        lines += [f"    v{r}_{c} += av{r} * bv{c};" for r in range(rows) for c in range(cols)]
        lines.append("  }")
    for q in range(kv * vec, k):
        lines += [f"  s{r}_{c} += a{r}[{q}] * b{c}[{q}];" for r in range(rows) for c in range(cols)]
    hsum = " + ".join(f"v{{r}}_{{c}}.s{i:x}" for i in range(vec))
    for r in range(rows):
        for c in range(cols):
            lines.append(f"  if (i0 + {r}L < {m}L && j0 + {c}L < {n}L) C[co + (i0 + {r}L) * {n}L + j0 + {c}L] = "
                         f"s{r}_{c} + " + hsum.format(r=r, c=c) + ";")
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *restrict A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i0 = get_global_id(0) * {rows}L, j0 = get_global_id(1) * {cols}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
""" + "\n".join(lines) + "\n}"
    knl = be.cl_kernel(src, "mm")
    grid = (-(-m // rows), -(-n // cols), nb)
    dt = dtype.np

    def matmul(a, b):
        y = be.empty(out_shape, dt)
        if y.size:
            knl(be.queue, grid, (1, 1, 1), be.buf(a), be.buf(b), y.base_data)
        return y
    return matmul


# Kernels that accept `out=` (an input buffer of the output's shape that dies there), and those that
# always return a new buffer.
INPLACE = ELEMENTWISE | {"Fused"}  # "Fused": the compiler's fused elementwise chains
FRESH = INPLACE | frozenset({
    "Copy", "FullLike", "MatMul", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceMean", "ArgMax",
    "ArgMin", "SumTo", "Transpose", "StridedSlice", "SliceGrad", "ConcatGrad", "Concat", "Gather", "GatherGrad",
    "OneHot", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "RandomStandardNormal", "RandomUniform",
    "TruncatedNormal", "RandomUniformInt",
})
