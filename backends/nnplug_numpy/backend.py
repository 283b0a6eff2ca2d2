"""NumpyBackend: arrays are NumPy arrays on the host; every call is synchronous."""
import numpy as np

from nnplug.backend import Backend

from .kernels import KERNELS
from .optimizers import UPDATES


class NumpyBackend(Backend):
    name = "numpy"
    aliases = ("cpu", "np")
    kernels = KERNELS  # fresh_ops, inplace_ops and out_ops come from the contracts registered there
    xp = np

    @classmethod
    def devices(cls):
        return ["cpu"]

    def to_device(self, array):
        return array

    def to_host(self, value, persistent=False):
        # a view or a buffer the session keeps (a variable, a constant) must not be handed out
        if persistent or value.base is not None:
            return np.array(value)
        return value

    def describe(self):
        return f"numpy {np.__version__} (cpu)"


def expanding_backend():
    """A numpy backend that runs the update ops' expansion instead of the fused update kernels (the "before"
    of a comparison in one process; NNPLUG_FUSED_KERNELS=0 does it for a whole process)."""
    fused = frozenset(UPDATES)

    class ExpandingNumpy(NumpyBackend):
        name = "numpy-expanding"
        aliases = ()
        kernels = {op: f for op, f in NumpyBackend.kernels.items() if op not in fused}
        inplace_ops = NumpyBackend.inplace_ops - fused
        out_ops = NumpyBackend.out_ops - fused
        fresh_ops = NumpyBackend.fresh_ops - fused
    return ExpandingNumpy()
