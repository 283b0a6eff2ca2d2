"""The OpenCL kernel table: each factory takes a KernelSpec (concrete shapes) and its backend
(`spec.backend`: context, queue, program cache, allocator) and returns a callable on pyopencl.array.Array
values. Sources are generated per shape (index maps baked in as literals) and built once per context.

Elementwise ops (and fused chains from nnplug.fusion) share one generator, `codegen.elementwise_source`,
from the C expressions of the ops' rows. The other families have a module each, as in the CuPy backend:
arrays.py (shapes, slices, gathers), reductions.py, matmul.py, softmax.py, conv.py, lstm.py. Random numbers are
drawn on the host from the op's NumPy stream (nnplug.host_random), so they match the numpy backend's.
"""
import math

import numpy as np

from nnplug import fusion, host_random
from nnplug.kernels import Kernels

from . import arrays, conv, lstm, matmul, reductions, softmax, tail2
from .codegen import ctype, header

ELEMENTWISE = frozenset(fusion.C_FUSABLE)
_BASIC = Kernels()
register = _BASIC.register


@register(*ELEMENTWISE, inplace=True)
def elementwise(spec):
    """One generated kernel per op and shape (a chain of one); it takes `out=` any buffer of its shape."""
    args = tuple(("in", i) for i in range(len(spec.in_shapes)))
    chain = fusion.Chain(list(zip(spec.in_shapes, spec.in_dtypes)), [(spec.op_type, spec.attrs, args)],
                         spec.out_shape, spec.out_dtype, [spec.name])
    return spec.backend.fuse_elementwise(chain)


@register("Copy", fresh=True)
def copy(spec):
    be, shape, dtype = spec.backend, tuple(spec.out_shape), spec.out_dtype.np

    def duplicate(x):
        y = be.empty(shape, dtype)
        if y.nbytes:
            be.copy_buffer(y.base_data, x.base_data, y.nbytes, x.offset)
        return y
    return duplicate


@register("FullLike", fresh=True)
def full_like(spec):
    be, shape, dtype = spec.backend, tuple(spec.out_shape), spec.out_dtype
    value = np.asarray(spec.attrs["value"], dtype.np)
    lit = repr(float(value)) if dtype.is_floating else str(int(value))
    n = math.prod(shape)
    knl = be.cl_kernel(header([dtype]) + f"__kernel void fill(__global {ctype(dtype)} *y) {{ const long i = "
                       f"get_global_id(0); if (i < {n}L) y[i] = ({ctype(dtype)})({lit}); }}", "fill")
    return lambda x: be.launch(knl, n, [], shape, dtype.np)


@register(*host_random.OPS, fresh=True)
def random(spec):
    draw, to_device = host_random.sampler(spec), spec.backend.to_device
    return lambda *like: to_device(draw())


KERNELS = Kernels(_BASIC, arrays.KERNELS, reductions.KERNELS, matmul.KERNELS, softmax.KERNELS, conv.KERNELS,
                  lstm.KERNELS, tail2.KERNELS)
