"""OpenCL kernels for the elementwise rows nnplug/ops/linalg_ops.py adds (Lgamma, Erfc: OpenCL C has both),
made after kernels.ELEMENTWISE was taken: the same generated single-op chain as every row."""
from nnplug import fusion
from nnplug.kernels import Kernels

KERNELS = Kernels()


@KERNELS.register("Lgamma", "Erfc", inplace=True)
def elementwise(spec):
    args = tuple(("in", i) for i in range(len(spec.in_shapes)))
    chain = fusion.Chain(list(zip(spec.in_shapes, spec.in_dtypes)), [(spec.op_type, spec.attrs, args)],
                         spec.out_shape, spec.out_dtype, [spec.name])
    return spec.backend.fuse_elementwise(chain)
