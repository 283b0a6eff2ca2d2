"""CuPy sums over leading axes (bias gradients) as `ones @ g` on cuBLAS: CuPy's axis-0 reduction runs one
thread per column and is ~10x slower on the bias gradients of wide layers. Other reductions are the shared
Array-API kernels."""
import math

from nnplug.kernels import Kernels
from nnplug.xp_kernels import XP_KERNELS, reduction_axes, sum_to_axes

from .matmul import gemm_for

KERNELS = Kernels()
register = KERNELS.register


def leading_sum(spec, axes, fallback):
    """`ones @ g` when `axes` are g's leading axes, else the `fallback` factory's kernel."""
    cupy = spec.backend.cupy
    gemm = gemm_for(cupy)
    shape = tuple(spec.in_shapes[0])
    k = len(axes)
    if gemm is None or axes != tuple(range(k)) or k == len(shape) or not gemm.supports(spec.out_dtype.np) \
            or spec.in_dtypes[0] != spec.out_dtype:
        return fallback(spec)
    rows, cols, out = math.prod(shape[:k]), math.prod(shape[k:]), tuple(spec.out_shape)
    ones = cupy.ones((1, rows), spec.out_dtype.np)
    return lambda g, *like: gemm(ones, g.reshape(rows, cols)).reshape(out)


@register("SumTo")
def sum_to(spec):
    axes = sum_to_axes(spec)
    return leading_sum(spec, axes, XP_KERNELS["SumTo"]) if axes else XP_KERNELS["SumTo"](spec)


@register("ReduceSum")
def reduce_sum(spec):
    axes = tuple(sorted(set(reduction_axes(spec))))
    return leading_sum(spec, axes, XP_KERNELS["ReduceSum"]) if axes else XP_KERNELS["ReduceSum"](spec)
