"""CuPy index ops beyond the shared Array-API kernels: GatherGrad as an atomic scatter-add
(`cupy.add.at`: repeated indices accumulate), not a one-hot matrix product."""
from nnplug.kernels import Kernels

KERNELS = Kernels()
register = KERNELS.register


@register("GatherGrad", fresh=True)
def gather_grad(spec):
    cupy = spec.backend.cupy
    scatter_add = cupy.add.at
    shape, dtype = tuple(spec.out_shape), spec.out_dtype.np
    axis = spec.attrs["axis"] % len(shape)
    lead = (slice(None),) * axis

    def scatter(g, idx, params):
        z = cupy.zeros(shape, dtype)
        scatter_add(z, lead + (idx,), g)
        return z
    return scatter
