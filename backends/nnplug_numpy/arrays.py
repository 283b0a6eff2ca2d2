"""NumPy index kernels beyond the shared Array-API ones: GatherGrad (the gradient of a gather, e.g. of an
embedding lookup) as NumPy's unbuffered scatter-add, `np.add.at`, which costs the ids' rows; the shared
kernel's one-hot product costs vocabulary x ids and would not fit for a large vocabulary."""
import math

import numpy as np

from nnplug.kernels import Kernels

KERNELS = Kernels()  # merged into the backend's table by kernels.py


@KERNELS.register("GatherGrad", fresh=True)
def gather_grad(spec):
    shape = tuple(spec.out_shape)
    axis = spec.attrs["axis"] % len(shape)
    pre, n, post = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    m = math.prod(spec.in_shapes[1])
    dtype = spec.out_dtype.np

    def scatter_add(g, idx, params):
        out = np.zeros((pre, n, post), dtype=dtype)
        np.add.at(out, (slice(None), idx.reshape(-1)), g.reshape(pre, m, post))
        return out.reshape(shape)
    return scatter_add
