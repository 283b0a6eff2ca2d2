"""CuPy matrix products: 2-D float32/float64 through cuBLAS GEMM called directly (cublas.py), which CUDA
graphs can capture; every other product through the shared Array-API kernel (`cupy.matmul`)."""
import functools

from nnplug.kernels import Kernels
from nnplug.xp_kernels import XP_KERNELS

KERNELS = Kernels()
register = KERNELS.register


@functools.cache
def gemm_for(cupy):
    """The process's cuBLAS GEMM, or None without a loadable libcublas (cupy.matmul, not capturable, then
    does every product)."""
    try:
        from .cublas import Gemm
        return Gemm(cupy)
    except (OSError, AttributeError):
        return None


@register("MatMul", fresh=True)
def matmul(spec):
    gemm = gemm_for(spec.backend.cupy)
    a, b = spec.in_shapes
    d = spec.in_dtypes
    if gemm is None or len(a) != 2 or len(b) != 2 or d[0] != d[1] or not gemm.supports(d[0].np):
        return XP_KERNELS["MatMul"](spec)
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    return lambda x, y: gemm(x, y, ta, tb)
