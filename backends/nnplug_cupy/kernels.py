"""CuPy kernel factories: the shared Array-API factories on `cupy`, plus fused CUDA kernels where they cut launches.

`nnplug.xp_kernels` gives every primitive. Replaced here:
- MatMul of 2-D float32/64: cuBLAS GEMM called directly (cublas.py), which CUDA graphs can capture;
  other matrix products go through `cupy.matmul`; sums over leading axes (bias gradients) as `ones @ g`;
- Relu, Sigmoid and the backward ops TanhGrad/SigmoidGrad/ReluGrad: one ElementwiseKernel each, not 2-3 launches;
- Softmax, LogSoftmax and SoftmaxCrossEntropyWithLogits (dense and sparse) over the last axis: one launch per
  call (a thread per row), giving the loss and the `p - y` gradient together; out-of-range sparse labels give NaN
  instead of raising, so no host synchronisation is needed;
- GatherGrad: an atomic scatter-add (`cupy.add.at`);
- random ops: drawn on the device from a per-op stream (same seed -> same numbers), truncated normals by the
  inverse CDF so no resampling loop has to look at device values.
CuPy is imported by the caller and passed in, so this module imports without it.
"""
import math

import numpy as np

from nnplug import fusion
from nnplug.xp_kernels import XP_KERNELS, reduction_axes, sum_to_axes

_TABLES = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
ROW_KERNEL_MAX = 4096  # a thread per row beats three reductions while rows are this short


def table(cupy):
    """The kernel table for CuPy, built once."""
    if "cupy" not in _TABLES:
        _TABLES["cupy"] = _build(cupy)
    return _TABLES["cupy"]


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


def _build(cupy):
    from cupyx.scipy import special
    scatter_add = cupy.add.at  # atomic: repeated indices accumulate

    K = dict(XP_KERNELS)  # the shared Array-API factories (they find cupy as spec.backend.xp)
    generic = dict(K)

    def kernel(*names):
        def deco(factory):
            for n in names:
                K[n] = factory
            return factory
        return deco

    def float_only(op_type, fused):
        """Use `fused` for float32/64, the generic kernel otherwise (float16, ints)."""
        def factory(spec):
            if spec.out_dtype.np in _FLOATS:
                return fused(spec)
            return generic[op_type](spec)
        return factory

    ew = cupy.ElementwiseKernel
    relu = ew("T x", "T y", "y = x > (T)0 ? x : (T)0", "nnplug_relu")
    sigmoid = ew("T x", "T y", "y = (T)0.5 * (tanh((T)0.5 * x) + (T)1)", "nnplug_sigmoid")
    tanh_grad = ew("T y, T g", "T z", "z = g * ((T)1 - y * y)", "nnplug_tanh_grad")
    sigmoid_grad = ew("T y, T g", "T z", "z = g * (y * ((T)1 - y))", "nnplug_sigmoid_grad")
    relu_grad = ew("T g, T x", "T z", "z = x > (T)0 ? g : (T)0", "nnplug_relu_grad")
    K["Relu"] = float_only("Relu", lambda spec: relu)
    K["Sigmoid"] = float_only("Sigmoid", lambda spec: sigmoid)
    K["TanhGrad"] = float_only("TanhGrad", lambda spec: tanh_grad)
    K["SigmoidGrad"] = float_only("SigmoidGrad", lambda spec: sigmoid_grad)
    K["ReluGrad"] = float_only("ReluGrad", lambda spec: relu_grad)

    try:
        from .cublas import Gemm
        gemm = Gemm(cupy)
    except (OSError, AttributeError):  # no loadable libcublas: cupy.matmul (not capturable) does every product
        gemm = None

    @kernel("MatMul")
    def _matmul(spec):
        a, b = spec.in_shapes
        d = spec.in_dtypes
        if gemm is None or len(a) != 2 or len(b) != 2 or d[0] != d[1] or not gemm.supports(d[0].np):
            return generic["MatMul"](spec)
        ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
        return lambda x, y: gemm(x, y, ta, tb)

    def leading_sum(spec, axes, fallback):
        """Sum over leading axes as `ones @ g` on cuBLAS: CuPy's axis-0 reduction runs one thread per
        column and is ~10x slower on bias gradients of wide layers."""
        shape = tuple(spec.in_shapes[0])
        k = len(axes)
        if gemm is None or axes != tuple(range(k)) or k == len(shape) or not gemm.supports(spec.out_dtype.np) \
                or spec.in_dtypes[0] != spec.out_dtype:
            return fallback(spec)
        rows, cols, out = math.prod(shape[:k]), math.prod(shape[k:]), tuple(spec.out_shape)
        ones = cupy.ones((1, rows), spec.out_dtype.np)
        return lambda g, *like: gemm(ones, g.reshape(rows, cols)).reshape(out)

    @kernel("SumTo")
    def _sum_to(spec):
        axes = sum_to_axes(spec)
        return leading_sum(spec, axes, generic["SumTo"]) if axes else generic["SumTo"](spec)

    @kernel("ReduceSum")
    def _reduce_sum(spec):
        axes = tuple(sorted(set(reduction_axes(spec))))
        return leading_sum(spec, axes, generic["ReduceSum"]) if axes else generic["ReduceSum"](spec)

    # -- row-wise softmax family: one thread per row of the last axis ----------------------------
    row_max_sum = """
        const ptrdiff_t base = (ptrdiff_t)i * C;
        T m = x[base];
        for (int j = 1; j < C; ++j) { const T v = x[base + j]; m = v > m ? v : m; }
        T s = 0;
        for (int j = 0; j < C; ++j) s += exp(x[base + j] - m);
        const T ls = log(s);
    """
    softmax_rows = ew("raw T x, int32 C, bool take_log", "raw T y", row_max_sum + """
        for (int j = 0; j < C; ++j) {
            const T lp = x[base + j] - m - ls;
            y[base + j] = take_log ? lp : exp(lp);
        }""", "nnplug_softmax_rows")
    sparse_xent_rows = ew("raw T x, raw L labels, int32 C, T nanv", "raw T loss, raw T grad", row_max_sum + """
        const long long lab = (long long)labels[i];
        const bool ok = lab >= 0 && lab < C;
        loss[i] = ok ? ls - (x[base + lab] - m) : nanv;
        for (int j = 0; j < C; ++j) {
            const T p = exp(x[base + j] - m - ls);
            grad[base + j] = ok ? p - (j == lab ? (T)1 : (T)0) : nanv;
        }""", "nnplug_sparse_xent_rows")
    dense_xent_rows = ew("raw T x, raw T labels, int32 C", "raw T loss, raw T grad", row_max_sum + """
        T total = 0, l = 0;
        for (int j = 0; j < C; ++j) { total += labels[base + j]; l -= labels[base + j] * (x[base + j] - m - ls); }
        loss[i] = l;
        for (int j = 0; j < C; ++j) grad[base + j] = exp(x[base + j] - m - ls) * total - labels[base + j];
        """, "nnplug_dense_xent_rows")

    def rows_of(spec, axis=-1):
        """(rows, C) when a row kernel applies: float32/64, last axis, short rows, no empty dims."""
        shape = tuple(spec.in_shapes[0])
        if not shape or spec.in_dtypes[0].np not in _FLOATS or axis not in (-1, len(shape) - 1):
            return None
        c = shape[-1]
        rows = math.prod(shape[:-1])
        return (rows, c) if 0 < c <= ROW_KERNEL_MAX and rows > 0 else None

    @kernel("Softmax", "LogSoftmax")
    def _softmax(spec):
        rc = rows_of(spec, spec.attrs["axis"])
        if rc is None:
            return generic[spec.op_type](spec)
        rows, c = rc
        take_log = spec.op_type == "LogSoftmax"

        def softmax(x):
            x = cupy.ascontiguousarray(x)
            y = cupy.empty_like(x)
            softmax_rows(x, c, take_log, y, size=rows)
            return y
        return softmax

    @kernel("SoftmaxCrossEntropyWithLogits")
    def _xent(spec):
        rc = rows_of(spec)
        if rc is None:
            return generic[spec.op_type](spec)
        rows, c = rc
        shape = tuple(spec.in_shapes[0])
        dtype = spec.out_dtype.np

        if spec.attrs["sparse"]:
            nan = dtype.type("nan")

            def sparse_xent(logits, labels):
                logits, labels = cupy.ascontiguousarray(logits), cupy.ascontiguousarray(labels)
                loss, grad = cupy.empty(shape[:-1], dtype), cupy.empty(shape, dtype)
                sparse_xent_rows(logits, labels, c, nan, loss, grad, size=rows)
                return loss, grad
            return sparse_xent

        def xent(logits, labels):
            logits, labels = cupy.ascontiguousarray(logits), cupy.ascontiguousarray(labels)
            loss, grad = cupy.empty(shape[:-1], dtype), cupy.empty(shape, dtype)
            dense_xent_rows(logits, labels, c, loss, grad, size=rows)
            return loss, grad
        return xent

    @kernel("GatherGrad")
    def _gather_grad(spec):
        shape, dtype = tuple(spec.out_shape), spec.out_dtype.np
        axis = spec.attrs["axis"] % len(shape)
        lead = (slice(None),) * axis

        def gather_grad(g, idx, params):
            z = cupy.zeros(shape, dtype)
            scatter_add(z, lead + (idx,), g)
            return z
        return gather_grad

    # -- random, on the device ------------------------------------------------------------------
    def draw(spec, fn):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        native = dtype if dtype in _FLOATS else np.dtype(np.float64)
        if native == dtype:
            return lambda *like: fn(rng, shape, native)
        return lambda *like: fn(rng, shape, native).astype(dtype)

    K["RandomStandardNormal"] = lambda spec: draw(spec, lambda r, s, d: r.normal(s, d))
    K["RandomUniform"] = lambda spec: draw(spec, lambda r, s, d: r.uniform(s, d))

    lo_cdf, hi_cdf = 0.5 * math.erfc(2 / math.sqrt(2)), 0.5 * math.erfc(-2 / math.sqrt(2))

    def truncated(r, shape, d):  # inverse CDF of N(0,1) restricted to [-2, 2]: exact, no resampling loop
        u = r.uniform(shape, np.float64)
        return special.ndtri(lo_cdf + (hi_cdf - lo_cdf) * u).astype(d, copy=False)
    K["TruncatedNormal"] = lambda spec: draw(spec, truncated)

    @kernel("RandomUniformInt")
    def _uniform_int(spec):
        shape, dtype, rng = tuple(spec.out_shape), spec.out_dtype.np, spec.rng
        lo, hi = spec.attrs["minval"], spec.attrs["maxval"]
        return lambda *like: rng.integers(lo, hi, shape, dtype)

    return K


CUDA_TYPES = {"float16": "float16", "float32": "float", "float64": "double", "int8": "signed char",
              "int16": "short", "int32": "int", "int64": "long long", "uint8": "unsigned char", "bool": "bool"}
_FUSED = {}


def fused_elementwise(cupy, chain):
    """An ElementwiseKernel computing a fusion.Chain in one launch (statements from nnplug.fusion); CuPy
    broadcasts the inputs to the output. Kernels are cached by the chain's signature."""
    key = chain.key()
    kernel = _FUSED.get(key)
    if kernel is None:
        in_params = ", ".join(f"{d.name} x{i}" for i, (_, d) in enumerate(chain.inputs))
        body, result = fusion.c_statements(chain, [f"x{i}" for i in range(len(chain.inputs))], CUDA_TYPES)
        kernel = _FUSED[key] = cupy.ElementwiseKernel(in_params, f"{chain.out_dtype.name} y",
                                                      " ".join(body) + f" y = {result};", f"nnplug_fused_{len(_FUSED)}",
                                                      preamble=fusion.C_PRELUDE)
    shape, dtype = tuple(chain.out_shape), chain.out_dtype.np

    def fused(*xs):
        out = cupy.empty(shape, dtype)
        kernel(*xs, out)
        return out
    return fused
