"""OpenCLBackend: arrays are pyopencl.array.Array values on one context and in-order queue per instance.

Kernels are OpenCL C generated per op and shape (see kernels.py) and built once per context (the last
PROGRAM_CACHE programs are kept for later plans); elementwise chains the compiler finds (nnplug.fusion)
become one generated kernel. Little inside a step waits for the device: fetches (`to_host`), `synchronize`
and a gather's check of its indices (`host_check`) are the only host syncs.
"""
import functools
import os
import threading
import weakref

from nnplug.backend import Backend
from nnplug.errors import BackendError
from nnplug.kernels import INPLACE

from . import codegen
from . import device as _device
from .kernels import ELEMENTWISE, KERNELS
from .replay import StepReplayer

PROGRAM_CACHE = 256  # programs (~0.2-1 MB each on PoCL) and kernels kept for reuse by later plans


class OpenCLBackend(Backend):
    name = "opencl"
    aliases = ("cl",)
    kernels = KERNELS  # factories find this instance (context, queue, program cache) as spec.backend
    fusable_ops = ELEMENTWISE
    # "Fused": the compiler's fused elementwise chains write into a dying input's buffer too
    inplace_ops = KERNELS.ops_with(INPLACE) | {"Fused"}
    # no static buffer plan: temporaries come from the memory pool, which reuses the last step's blocks
    out_ops = frozenset()

    @classmethod
    def is_available(cls):
        found, why = _device.all_devices()
        return (True, "") if found else (False, why)

    @classmethod
    def devices(cls):
        return _device.device_names()

    def __init__(self, device=None):
        cl, why = _device.import_cl()
        if cl is None:
            raise BackendError(f"backend 'opencl' cannot run here: {why}")
        import pyopencl.array as cl_array
        self.index, (self.platform, self.cl_device) = _device.pick(device)
        super().__init__(self.index)
        _device.fix_pocl_generic_cpu(self.platform, self.cl_device)
        self.cl = cl
        self.context = cl.Context([self.cl_device])
        self.queue = cl.CommandQueue(self.context)
        from .memory import Memory
        self.memory = Memory(cl, cl_array, self.queue)
        self.fp64 = _device.has_fp64(self.cl_device)
        max_wg = self.cl_device.max_work_group_size
        self.wg = min(256, max_wg)
        self.reduce_wg = 1 << (min(128, max_wg).bit_length() - 1)
        self.mm_local = 16 if max_wg >= 256 else 8
        # tiled (local memory) matrix products for GPUs, a vectorisable work-item per output for CPUs
        cpu = self.is_cpu = bool(self.cl_device.type & cl.device_type.CPU)
        self.matmul_kind = os.environ.get("NNPLUG_OPENCL_MATMUL", "blocked" if cpu else "tiled")
        # a work-group per reduced row pays off on GPUs; on a CPU a plain loop per output wins until rows
        # are long enough to need more parallelism than the outputs give
        self.group_reduce_min = 4096 if cpu else 64
        # float32 denormals flushed to zero on CPUs, as TensorFlow does: saturated tanh gradients are
        # denormal and made x.T @ d 40% slower on PoCL. NNPLUG_OPENCL_BUILD_OPTIONS overrides.
        default_options = "-cl-denorms-are-zero" if cpu else ""
        self.build_options = os.environ.get("NNPLUG_OPENCL_BUILD_OPTIONS", default_options).split()
        self.recording = None
        # the last PROGRAM_CACHE programs and kernels made are kept for other plans (sources differ per
        # shape, so every new batch size makes a few); a plan holds its own kernels as long as it lives
        self._programs = functools.lru_cache(PROGRAM_CACHE)(self._build)
        self._kernels = functools.lru_cache(PROGRAM_CACHE)(functools.partial(LazyKernel, self))
        self._live_plans = 0
        self._plans_lock = threading.Lock()

    # -- programs and launches ------------------------------------------------------------------
    def program(self, source):
        """The built program for `source` (built once while it stays among the last PROGRAM_CACHE used)."""
        return self._programs(source)

    def _build(self, source):
        if "cl_khr_fp64" in source and not self.fp64:
            raise BackendError(f"OpenCL device '{self.cl_device.name}' has no float64 support "
                               "(cl_khr_fp64); use float32 on this device")
        try:
            return self.cl.Program(self.context, source).build(options=self.build_options)
        except self.cl.RuntimeError as e:
            raise BackendError(f"OpenCL could not build a kernel on '{self.cl_device.name}': {e}\n"
                               f"source:\n{source}") from None

    def cl_kernel(self, source, name):
        """The kernel `name` of `source`'s program, built on its first launch."""
        return self._kernels(source, name)

    def gsize(self, n):
        return (-(-n // self.wg) * self.wg,)

    @staticmethod
    def buf(x):
        return x.base_data if not x.offset else x.data

    def empty(self, shape, dtype):
        return self.memory.empty(shape, dtype)

    def zeros(self, shape, dtype):
        y = self.empty(shape, dtype)
        if y.nbytes:
            self.fill_zero(y.base_data, y.nbytes)
        return y

    # Every command a plan enqueues goes through LazyKernel, fill_zero or copy_buffer (and every host read
    # of values through host_check), so that a step can be recorded (`recording` is then a list) and
    # replayed: see replay.py.
    def fill_zero(self, buf, nbytes):
        if self.recording is not None:
            self.recording.append(("fill", (buf, nbytes)))
        self.memory.fill_zero(buf, nbytes)

    def copy_buffer(self, dst, src, nbytes, src_offset=0):
        if self.recording is not None:
            self.recording.append(("copy", (dst, src, nbytes, src_offset)))
        self.memory.copy(dst, src, nbytes, src_offset)

    def host_check(self, check, x):
        """`check(x read to the host)`, now and at this point of every replay of a recorded step: how a kernel
        validates values (indices) before using them. The read waits for the queue up to here."""
        if self.recording is not None:
            self.recording.append(("check", (check, x)))
        check(self.memory.to_host(x))

    def plan_runner(self, plan):
        runner = StepReplayer(self, plan)
        with self._plans_lock:
            if not self._live_plans:
                self.memory.hold()
            self._live_plans += 1
        weakref.finalize(runner, self._plan_released).atexit = False
        return runner

    def _plan_released(self):
        """When no plan is left (every session closed), the memory pool gives its blocks back."""
        with self._plans_lock:
            self._live_plans -= 1
            if not self._live_plans:
                self.memory.release()

    def launch(self, knl, n, inputs, shape, dtype, local=None, out=None, grid=None):
        """Run `knl(inputs..., y)` over `n` work-items (rounded up to whole work-groups); returns y."""
        y = self.empty(tuple(shape), dtype) if out is None else out
        if n and y.size:
            if grid is not None:  # an exact grid; the driver picks the work-group size
                knl(self.queue, grid, None, *[self.buf(x) for x in inputs], y.base_data)
            else:
                gsize = (n,) if local else self.gsize(n)
                knl(self.queue, gsize, (local or self.wg,), *[self.buf(x) for x in inputs], y.base_data)
        return y

    def fuse_elementwise(self, chain):
        """One kernel for an elementwise fusion.Chain (or a single op); inputs broadcast to the output."""
        knl = self.cl_kernel(codegen.elementwise_source(chain), "ew")
        n = 1
        for d in chain.out_shape:
            n *= d
        n //= codegen.vector_width(chain)  # work-items
        shape, dtype = tuple(chain.out_shape), chain.out_dtype.np
        if not n:
            return functools.partial(self._run_elementwise, knl, n, shape, dtype)
        # the step's most frequent launch, so its per-call Python is kept to the minimum
        queue, gsize, local, empty = self.queue, self.gsize(n), (self.wg,), self.memory.empty

        def run(*xs, out=None):
            y = empty(shape, dtype) if out is None else out
            knl(queue, gsize, local, *[x.base_data if not x.offset else x.data for x in xs], y.base_data)
            return y
        return run

    def _run_elementwise(self, knl, n, shape, dtype, *xs, out=None):
        return self.launch(knl, n, xs, shape, dtype, out=out)

    # -- memory -------------------------------------------------------------------------------------
    def to_device(self, array):
        return self.memory.to_device(array)

    def to_host(self, value, persistent=False):
        return self.memory.to_host(value)

    def synchronize(self):
        self.queue.finish()

    def describe(self):
        return f"opencl {self.cl.VERSION_TEXT} ({self.platform.name.strip()}: {self.cl_device.name.strip()})"


class LazyKernel:
    """A pyopencl Kernel built on its first call. Plans make kernels for steps that fusion and dead-step
    elimination then drop (the chapter MLP made 66 for 31 launched), and each PoCL build costs tens of ms."""
    __slots__ = ("backend", "source", "name", "kernel")

    def __init__(self, backend, source, name):
        self.backend, self.source, self.name, self.kernel = backend, source, name, None

    def __call__(self, *args):
        knl = self.kernel
        if knl is None:
            knl = self.kernel = self.backend.cl.Kernel(self.backend.program(self.source), self.name)
        if self.backend.recording is not None:
            self.backend.recording.append(("launch", (self, args)))
        return knl(*args)
