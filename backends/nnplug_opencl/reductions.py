"""OpenCL reductions: one work-item per output (long rows: one work-group per output with a local-memory
tree), arg-extremes, and the broadcasts that undo them in gradients. Max, min and their arguments over an
empty axis raise, as NumPy does; sums of nothing are 0 and means NaN."""
import math

import numpy as np

from nnplug import fusion
from nnplug.backend import IDENTITY
from nnplug.errors import InvalidArgumentError
from nnplug.kernels import Kernels
from nnplug.xp_kernels import sum_to_axes

from .codegen import FLOATS, contiguous_strides, ctype, header, offset_expr, size_of

KERNELS = Kernels()
register = KERNELS.register

_LIMITS = {"int32": ("INT_MIN", "INT_MAX"), "int64": ("LONG_MIN", "LONG_MAX"), "uint8": ("0", "255"),
           "bool": ("0", "1"), "int16": ("SHRT_MIN", "SHRT_MAX"), "int8": ("CHAR_MIN", "CHAR_MAX")}


def reduced_axes(spec):
    axis = spec.attrs["axis"]
    rank = len(spec.in_shapes[0])
    if axis is None:
        return tuple(range(rank))
    return tuple(sorted({a % rank for a in ((axis,) if isinstance(axis, int) else axis)}))


def empty_axis_error(spec, axes):
    """A kernel raising what NumPy raises for a max, min or arg-extreme of no values, naming the op."""
    message = (f"{spec.op_type} '{spec.name}' reduces an empty axis: input shape {tuple(spec.in_shapes[0])}, "
               f"axes {tuple(axes)} (the {spec.op_type[-3:].lower()} of no values is undefined)")

    def empty(*xs):
        raise InvalidArgumentError(message)
    return empty


def reduction(be, in_shape, axes, kind, in_dtype, out_dtype, out_shape):
    """A callable reducing `axes` of a contiguous `in_shape` array; the output keeps the other axes
    in order (any `out_shape` of that size)."""
    in_shape = tuple(in_shape)
    strides = contiguous_strides(in_shape)
    kept = [i for i in range(len(in_shape)) if i not in axes]
    n_out = size_of(in_shape[i] for i in kept)
    r = size_of(in_shape[i] for i in axes)
    fl = in_dtype.name in FLOATS
    if fl:
        acc = out_dtype if out_dtype.name in FLOATS else in_dtype
    else:
        acc = "long" if kind in ("sum", "prod", "mean") else in_dtype
    ta = ctype(acc) if not isinstance(acc, str) else acc
    lo, hi = ("-INFINITY", "INFINITY") if fl else _LIMITS[in_dtype.name]
    ident = {"sum": "0", "mean": "0", "prod": "1", "max": lo, "min": hi}[kind]
    if kind in ("sum", "mean"):
        combine = "(a) + (v)"
    elif kind == "prod":
        combine = "(a) * (v)"
    else:
        cmp = ">=" if kind == "max" else "<="
        combine = f"((isnan(a) || (a) {cmp} (v)) ? (a) : (v))" if fl else f"(((a) {cmp} (v)) ? (a) : (v))"
    final = "a"
    if kind == "mean" and fl:
        final = f"(a) / ({ta}){r}"  # of no values: 0/0, NaN as in NumPy
    elif kind == "mean":
        final = f"(a) / {r}L" if r else "0"  # truncates toward zero, as TF1 does; no division by 0
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


def _reducer(kind):
    def factory(spec):
        axes = reduced_axes(spec)
        if not axes:
            return IDENTITY
        if kind in ("max", "min") and not size_of(spec.in_shapes[0][a] for a in axes):
            return empty_axis_error(spec, axes)
        return reduction(spec.backend, spec.in_shapes[0], axes, kind, spec.in_dtypes[0], spec.out_dtype,
                         spec.out_shape)
    factory.__name__ = f"reduce_{kind}"
    return factory


for _op, _kind in {"ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceProd": "prod",
                   "ReduceMean": "mean"}.items():
    register(_op, fresh=True)(_reducer(_kind))


@register("SumTo", fresh=True)
def sum_to(spec):
    g_shape, x_shape = (tuple(s) for s in spec.in_shapes)
    axes = sum_to_axes(spec)
    if not axes:
        return IDENTITY if g_shape == x_shape else (lambda g, x: g.reshape(x_shape))
    red = reduction(spec.backend, g_shape, axes, "sum", spec.in_dtypes[0], spec.out_dtype, spec.out_shape)
    return lambda g, x: red(g)


@register("ArgMax", "ArgMin", fresh=True)
def arg_extreme(spec):
    be, shape = spec.backend, tuple(spec.in_shapes[0])
    axis = spec.attrs["axis"] % len(shape)
    if not shape[axis]:
        return empty_axis_error(spec, (axis,))
    strides = contiguous_strides(shape)
    kept = [i for i in range(len(shape)) if i != axis]
    n_out = size_of(spec.out_shape)
    fl = spec.in_dtypes[0].name in FLOATS
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


@register("ReduceGrad", "BroadcastLike")
def spread(spec):
    be = spec.backend
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
        scale = be.to_device(np.asarray(1.0 / (math.prod(x_shape[a] for a in axes) or 1), dtype.np))
        return lambda g, x: run(g, scale)
    return lambda g, x: run(g)
