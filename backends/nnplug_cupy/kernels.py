"""The CuPy kernel table: the shared Array-API factories (nnplug.xp_kernels, on `spec.backend.xp`, which is
cupy) with the kernels CUDA runs better replaced, each family in a module named as in the OpenCL backend:
- elementwise (here): Relu, Sigmoid and the backward ops TanhGrad/SigmoidGrad/ReluGrad as one
  ElementwiseKernel each, not 2-3 launches; fused chains from nnplug.fusion as one generated kernel;
- matmul.py: 2-D float32/64 products on cuBLAS called directly, which CUDA graphs can capture;
- reductions.py: sums over leading axes (bias gradients) as `ones @ g`;
- softmax.py: the softmax family and cross-entropy, one launch per call;
- arrays.py: GatherGrad as an atomic scatter-add;
- random.py: draws on the device from a per-op stream.
Factories find CuPy as `spec.backend.cupy`, so this module imports without it.
"""
import functools
from types import SimpleNamespace

import numpy as np

from nnplug import fusion
from nnplug.kernels import Kernels
from nnplug.xp_kernels import XP_KERNELS

from . import arrays, matmul, random, reductions, softmax

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ELEMENTWISE = Kernels()


@functools.cache
def elementwise_kernels(cupy):
    """One ElementwiseKernel per op that CuPy would otherwise run as 2-3 launches, made once."""
    ew = cupy.ElementwiseKernel
    return SimpleNamespace(
        Relu=ew("T x", "T y", "y = x > (T)0 ? x : (T)0", "nnplug_relu"),
        Sigmoid=ew("T x", "T y", "y = (T)0.5 * (tanh((T)0.5 * x) + (T)1)", "nnplug_sigmoid"),
        TanhGrad=ew("T y, T g", "T z", "z = g * ((T)1 - y * y)", "nnplug_tanh_grad"),
        SigmoidGrad=ew("T y, T g", "T z", "z = g * (y * ((T)1 - y))", "nnplug_sigmoid_grad"),
        ReluGrad=ew("T g, T x", "T z", "z = x > (T)0 ? g : (T)0", "nnplug_relu_grad"))


@_ELEMENTWISE.register("Relu", "Sigmoid", "TanhGrad", "SigmoidGrad", "ReluGrad", fresh=True)
def one_launch(spec):
    """The op's ElementwiseKernel for float32/64; the shared kernel otherwise (float16, ints)."""
    if spec.out_dtype.np in _FLOATS:
        return getattr(elementwise_kernels(spec.backend.cupy), spec.op_type)
    return XP_KERNELS[spec.op_type](spec)


KERNELS = Kernels(XP_KERNELS, _ELEMENTWISE, arrays.KERNELS, matmul.KERNELS, reductions.KERNELS, softmax.KERNELS,
                  random.KERNELS)

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
