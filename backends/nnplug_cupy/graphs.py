"""Whole training steps as CUDA graphs: capture a plan once, then replay it with one launch per step.

Why: the chapter's MLP step is ~40 tiny kernels; on an H100 each launch from Python costs far more than
its arithmetic, so eager CuPy (like eager PyTorch) is bound by launches. A captured graph replays them
all from one `cudaGraphLaunch`.

How: a plan runs eagerly for its first WARMUP calls (so every kernel is compiled), then is captured on a
side stream with its feeds in static device buffers and its temporaries drawn from a private memory pool
that the graph keeps: replay writes the same addresses every time. Each replay copies the feeds in
asynchronously (host arrays through pinned buffers), so the host does not wait for the device between
steps. Variables the step rebinds are copied back into their original buffers inside the graph, so the
session's variables never move. A plan is not captured (it runs eagerly, as before) when it draws random
numbers, when a run-observer plugin wraps its kernels, or when capture fails (the reason is kept in
`runner.why`). A replay first checks that the session's variables are still the buffers it was captured
with (a load or an eager assign rebinds them) and captures again if not. NNPLUG_CUDA_GRAPHS=0 turns
capture off.
"""
import os

import numpy as np

WARMUP = 2  # eager runs before capture: kernels compile on first use, which must not happen mid-capture
MAX_CAPTURES = 4  # a plan whose variables keep being rebound elsewhere stops being captured


def enabled():
    return os.environ.get("NNPLUG_CUDA_GRAPHS", "1").strip() not in ("0", "false", "no", "off")


class GraphRunner:
    """Plan runner for the CuPy backend: eager first, then replays of one captured CUDA graph."""

    def __init__(self, backend, plan):
        self.cupy = backend.cupy
        self.fn = plan.fn
        self.var_reads = plan.var_reads
        self.to_device = backend.to_device
        self.calls = 0
        self.captures = 0
        self.graph = None
        self.why = self._not_capturable(plan)

    @staticmethod
    def _not_capturable(plan):
        return "NNPLUG_CUDA_GRAPHS is off" if not enabled() else plan.replay_obstacle()

    def __call__(self, V, feeds):
        if self.graph is not None:
            if all(V[slot] is buf for slot, buf in self.bound):
                return self._replay(feeds)
            self.graph = None  # a variable was rebound outside this graph: capture again
            self.calls = 0
        self.calls += 1
        if self.why is not None or self.calls <= WARMUP:
            return self._eager(V, feeds)
        if self.captures >= MAX_CAPTURES:
            self.why = f"captured {self.captures} times, and its variables keep being rebound by other runs"
            return self._eager(V, feeds)
        try:
            self._capture(V, feeds)
        except Exception as e:  # noqa: BLE001 - anything that cannot be captured runs eagerly instead
            self.why = f"capture failed: {type(e).__name__}: {e}"
            return self._eager(V, feeds)
        return self._replay(feeds)

    def _eager(self, V, feeds):
        return self.fn(V, *[self.to_device(a) for a in feeds])

    def _capture(self, V, feeds):
        cupy = self.cupy
        static = [cupy.asarray(a) for a in feeds]
        before = list(V)
        pool = cupy.cuda.MemoryPool()
        stream = cupy.cuda.Stream(non_blocking=True)
        # relaxed: the private pool may cudaMalloc while capturing
        mode = getattr(cupy.cuda.runtime, "streamCaptureModeRelaxed", None)
        graph, rebound = None, []
        with cupy.cuda.using_allocator(pool.malloc), stream:
            if mode is None:
                stream.begin_capture()
            else:
                stream.begin_capture(mode)
            try:
                out = self.fn(V, *static)
                for slot, (now, was) in enumerate(zip(V, before)):
                    if now is was:
                        continue
                    if was is None:
                        raise RuntimeError(f"variable slot {slot} is initialised by this step")
                    if any(o is was for o in out):
                        raise RuntimeError("the step fetches a variable it also updates")
                    was[...] = now  # the update lands in the variable's own buffer
                    rebound.append(slot)
            finally:
                V[:] = before
                graph = stream.end_capture()
        stream.synchronize()
        self.graph, self.static, self.out, self.pool = graph, static, out, pool
        self.stages = [_Staging(cupy, static), _Staging(cupy, static)]
        used = set(self.var_reads) | set(rebound)
        self.bound = [(slot, before[slot]) for slot in sorted(used)]
        self.captures += 1

    def _replay(self, feeds):
        self.stages.reverse()
        self.stages[0].send(feeds, self.static)
        self.graph.launch()
        return self.out


class _Staging:
    """Pinned host buffers for one step's feeds. Copies from them are asynchronous, so the host prepares the
    next step while the device runs this one; two of them alternate, and each waits for its own last copy."""

    def __init__(self, cupy, like):
        self.cupy = cupy
        self.hosts = []
        for buf in like:
            mem = cupy.cuda.alloc_pinned_memory(max(buf.nbytes, 1))
            self.hosts.append(np.frombuffer(mem, buf.dtype, buf.size).reshape(buf.shape))
        self.copied = cupy.cuda.Event(disable_timing=True)

    def send(self, feeds, device_buffers):
        self.copied.synchronize()  # the device has read these host buffers since we last filled them
        stream, runtime = self.cupy.cuda.get_current_stream(), self.cupy.cuda.runtime
        for host, dev, a in zip(self.hosts, device_buffers, feeds):
            if isinstance(a, np.ndarray):
                np.copyto(host, a)
                dev.set(host, stream=stream)
            elif a.flags.c_contiguous:  # already on the device: a raw copy, cheaper than a copy kernel
                runtime.memcpyAsync(dev.data.ptr, a.data.ptr, a.nbytes, runtime.memcpyDeviceToDevice, stream.ptr)
            else:
                dev[...] = a
        self.copied.record(stream)
