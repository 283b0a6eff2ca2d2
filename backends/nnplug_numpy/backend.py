"""NumpyBackend: arrays are NumPy arrays on the host; every call is synchronous."""
import numpy as np

from nnplug.backend import Backend

from .kernels import KERNELS


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
