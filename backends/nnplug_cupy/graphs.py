"""Whole training steps as CUDA graphs: capture a plan once, then replay it with one launch per step.

Why: the chapter's MLP step is ~40 tiny kernels; on an H100 each launch from Python costs far more than
its arithmetic, so eager CuPy (like eager PyTorch) is bound by launches. A captured graph replays them
all from one `cudaGraphLaunch`.

How (the state machine is nnplug.replay's, shared with the OpenCL step replayer): after its eager warm-up
runs (every kernel gets compiled, which must not happen mid-capture), a plan is captured on a side stream
with its feeds in static device buffers and its temporaries drawn from a private memory pool that the
graph keeps: replay writes the same addresses every time. Each replay copies the feeds in asynchronously
(host arrays through pinned buffers), so the host does not wait for the device between steps. Variables
the step rebinds are copied back into their original buffers inside the graph, so the session's variables
never move. A plan is not captured (it runs eagerly, as before) when it draws random numbers, when a
run-observer plugin wraps its kernels, or when capture fails (the reason is kept in `runner.why`).
NNPLUG_CUDA_GRAPHS=0 turns capture off.
"""
import os

import numpy as np

from nnplug.replay import NotRecordable, RecordReplayRunner, rebound_slots


def enabled():
    return os.environ.get("NNPLUG_CUDA_GRAPHS", "1").strip() not in ("0", "false", "no", "off")


class GraphRunner(RecordReplayRunner):
    """Plan runner for the CuPy backend: eager first, then replays of one captured CUDA graph."""

    verb = "captured"

    def __init__(self, backend, plan):
        super().__init__(backend, plan, None if enabled() else "NNPLUG_CUDA_GRAPHS is off")
        self.cupy = backend.cupy
        self.graph = None

    @property
    def captures(self):
        return self.recordings

    def record(self, V, feeds):
        try:
            rebound = self._capture(V, feeds)
        except NotRecordable:
            raise
        except Exception as e:  # noqa: BLE001 - anything that cannot be captured runs eagerly instead
            raise NotRecordable(f"capture failed: {type(e).__name__}: {e}") from None
        return self.replay(feeds), rebound

    def _capture(self, V, feeds):
        cupy = self.cupy
        static = [cupy.asarray(a) for a in feeds]
        before = list(V)
        pool = cupy.cuda.MemoryPool()
        stream = cupy.cuda.Stream(non_blocking=True)
        # relaxed: the private pool may cudaMalloc while capturing
        mode = getattr(cupy.cuda.runtime, "streamCaptureModeRelaxed", None)
        graph = None
        with cupy.cuda.using_allocator(pool.malloc), stream:
            if mode is None:
                stream.begin_capture()
            else:
                stream.begin_capture(mode)
            try:
                out = self.fn(V, *static)
                rebound = rebound_slots(V, before, out)
                for slot in rebound:
                    before[slot][...] = V[slot]  # the update lands in the variable's own buffer
            finally:
                V[:] = before
                graph = stream.end_capture()
        stream.synchronize()
        self.graph, self.static, self.out, self.pool = graph, static, out, pool
        self.stages = [_Staging(cupy, static), _Staging(cupy, static)]
        return rebound

    def replay(self, feeds):
        self.stages.reverse()
        self.stages[0].send(feeds, self.static)
        self.graph.launch()
        return self.out

    def forget(self):
        self.graph = None


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
