"""OpenCL softmax, log-softmax and softmax cross-entropy (dense and sparse labels): one work-item per row,
which reads the row's max and log-sum-exp once and writes the outputs (the loss and its gradient `p - y`
together). Out-of-range sparse labels give NaN, with no host read, as TF does on GPUs."""
from nnplug.kernels import Kernels

from .codegen import FLOATS, ctype, header, size_of

KERNELS = Kernels()
register = KERNELS.register


def rows(shape, axis):
    """(rows, row length, inner stride) of `shape` reduced along `axis`."""
    axis %= len(shape)
    return size_of(shape[:axis]) * size_of(shape[axis + 1:]), shape[axis], size_of(shape[axis + 1:])


# a row's max, sum of exponentials and its log (the row starts at x[base], elements `inner` apart)
ROW_STATS = """
  const long base = (r / {inner}L) * {row}L + (r % {inner}L);
  {t} m = x[base];
  for (long j = 1; j < {c}L; ++j) {{ const {t} v = x[base + j * {inner}L]; m = (v > m || isnan(v)) ? v : m; }}
  {t} s = 0;
  for (long j = 0; j < {c}L; ++j) s += exp(x[base + j * {inner}L] - m);
  const {t} ls = log(s);
"""


@register("Softmax", "LogSoftmax", fresh=True)
def softmax(spec):
    be = spec.backend
    shape, dtype = tuple(spec.in_shapes[0]), spec.out_dtype
    if not shape or size_of(shape) == 0 or dtype.name not in FLOATS:
        raise NotImplementedError(f"opencl {spec.op_type} needs float32/float64 of rank >= 1, "
                                  f"got {dtype.name} {shape} in '{spec.name}'")
    nrows, c, inner = rows(shape, spec.attrs["axis"])
    t = ctype(dtype)
    out = "x[k] - m - ls" if spec.op_type == "LogSoftmax" else "exp(x[k] - m) / s"
    src = header([dtype]) + f"__kernel void sm(__global const {t} *x, __global {t} *y) {{\n" \
        f"  const long r = get_global_id(0); if (r >= {nrows}L) return;" \
        + ROW_STATS.format(inner=inner, c=c, t=t, row=c * inner) + \
        f"  for (long j = 0; j < {c}L; ++j) {{ const long k = base + j * {inner}L; y[k] = {out}; }}\n}}"
    knl = be.cl_kernel(src, "sm")
    return lambda x: be.launch(knl, nrows, [x], shape, dtype.np)


@register("SoftmaxCrossEntropyWithLogits", fresh=True)
def softmax_cross_entropy(spec):
    be = spec.backend
    shape, dtype = tuple(spec.in_shapes[0]), spec.out_dtype
    nrows, c, inner = rows(shape, -1)
    t = ctype(dtype)
    stats = ROW_STATS.format(inner=1, c=c, t=t, row=c)
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
