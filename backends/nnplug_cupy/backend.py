"""CupyBackend: arrays live on one CUDA device; kernels queue on CuPy's current stream.

Nothing inside a step waits for the GPU: fetches (`to_host`) and `synchronize` are the only host syncs.
Memory comes from CuPy's default memory pool, so a repeated step reuses the blocks of the last one.
"""
from nnplug import fusion
from nnplug.backend import Backend

from . import device as _device
from . import graphs as _graphs
from .kernels import KERNELS, fused_elementwise
from .random import DeviceRandom


class CupyBackend(Backend):
    name = "cupy"
    aliases = ("cuda", "gpu")
    kernels = KERNELS  # factories find CuPy as spec.backend.cupy (and spec.backend.xp)
    fusable_ops = fusion.C_FUSABLE  # elementwise chains become one generated ElementwiseKernel

    @classmethod
    def is_available(cls):
        n, why = _device.device_count()
        return (True, "") if n else (False, why)

    @classmethod
    def devices(cls):
        return _device.device_names()

    def __init__(self, device=None):
        super().__init__(device)
        self.cupy, why = _device.import_cupy()
        if self.cupy is None:
            from nnplug.errors import BackendError
            raise BackendError(f"backend 'cupy' cannot run here: {why}")
        self.index = device or 0
        self._device = _device.select(self.index)
        self.xp = self.cupy  # the namespace the shared Array-API kernels use

    def plan_runner(self, plan):
        """Steps that update variables are captured into a CUDA graph after a warm-up and then replayed."""
        return _graphs.GraphRunner(self, plan)

    def fuse_elementwise(self, chain):
        """One CUDA kernel for the chain (CuPy broadcasts the inputs); built once per chain signature."""
        return fused_elementwise(self.cupy, chain)

    def to_device(self, array):
        self._device.use()
        return self.cupy.asarray(array)

    def to_host(self, value, persistent=False):
        return self.cupy.asnumpy(value)  # always a fresh host array

    def is_device_array(self, value):
        return isinstance(value, self.cupy.ndarray)

    def synchronize(self):
        self._device.synchronize()

    def make_rng(self, seed):
        return DeviceRandom(self.cupy, seed)

    def describe(self):
        return f"cupy {self.cupy.__version__} ({_device.device_names()[self.index]})"
