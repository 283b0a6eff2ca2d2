"""Training steps recorded once and replayed with bare launches: OpenCL's stand-in for CUDA graphs.

Why: a step is 30-40 kernels. Launched from the plan, each goes through our Python and pyopencl's
`Kernel.__call__`, which sets every argument again (~12 µs a launch on PoCL, more on some GPU drivers);
with the arguments already set, a launch is one `enqueue_nd_range_kernel` (~3.5 µs). On a CPU device the
host's time is also taken from the device's own threads.

How (the state machine is nnplug.replay's, shared with the CUDA graph runner): after its eager warm-up
runs, one run of a step is recorded — every launch with its sizes and arguments, and every buffer fill
and copy, in order — while it executes normally on feed buffers the recording owns. The recording keeps
every buffer that run touched (the memory pool cannot hand them to anyone else), gives each launch its own
Kernel object with its arguments set once, and copies variables the step rebinds back into their own
buffers, so the session's variables never move. A replay copies the new feeds into the recorded feed
buffers (through a fresh host-initialised buffer, so the caller may reuse its arrays at once) and enqueues
the commands. Not recorded: steps that draw random numbers (on the host), steps whose kernels a plugin
wraps, steps that fetch a variable they rebind. On by default for GPUs and other non-CPU devices;
NNPLUG_OPENCL_REPLAY=0 or 1 decides for any device.
"""
import os

from nnplug.replay import NotRecordable, RecordReplayRunner, rebound_slots


def enabled(backend):
    """NNPLUG_OPENCL_REPLAY=1 or 0 decides; unset, steps are replayed on GPUs and other non-CPU devices,
    where launches are what a step costs. On PoCL (a CPU) the device's own threads are the limit: replay
    measured no faster there, so it stays off unless asked for."""
    flag = os.environ.get("NNPLUG_OPENCL_REPLAY", "").strip().lower()
    if flag:
        return flag not in ("0", "false", "no", "off")
    return not backend.is_cpu


class StepReplayer(RecordReplayRunner):
    """Plan runner for the OpenCL backend: eager first, then replays of one recorded run."""

    def __init__(self, backend, plan):
        off = None if enabled(backend) else ("replay is off (NNPLUG_OPENCL_REPLAY=1 turns it on; by default it "
                                             "is on for non-CPU devices)")
        super().__init__(backend, plan, off)
        self.commands = None

    def record(self, V, feeds):
        be = self.backend
        static = [be.to_device(a) for a in feeds]  # buffers the recording owns
        before = list(V)
        be.recording = log = []
        try:
            out = self.fn(V, *static)
        finally:
            be.recording = None
        try:  # the run itself was an ordinary eager run: its results stand whatever happens next
            rebound = rebound_slots(V, before, out)
            for slot in rebound:
                now, was = V[slot], before[slot]
                if was.offset or was.nbytes != now.nbytes or any(o is now for o in out):
                    raise NotRecordable("the step fetches a variable it rebinds, or rebinds it to a differently "
                                        "laid out buffer")
        except NotRecordable as e:
            raise NotRecordable(e.reason, out) from None
        for slot in rebound:  # the new value goes into the variable's own buffer, now and on every replay
            now, was = V[slot], before[slot]
            be.copy_buffer(was.base_data, now.base_data, now.nbytes, now.offset)
            log.append(("copy", (was.base_data, now.base_data, now.nbytes, now.offset)))
            V[slot] = was
        try:
            self.commands = [self._command(kind, args) for kind, args in log]
        except Exception as e:  # noqa: BLE001 - a driver that refuses: the step stays eager, as before
            raise NotRecordable(f"recording failed: {type(e).__name__}: {e}", out) from None
        self.log, self.static, self.out = log, static, out  # the log keeps every buffer it names alive
        return out, rebound

    def _command(self, kind, args):
        be, cl, queue = self.backend, self.backend.cl, self.backend.queue
        if kind == "launch":
            lazy, (_, gsize, lsize, *kernel_args) = args
            knl = cl.Kernel(be.program(lazy.source), lazy.name)  # its own instance: arguments set once
            knl.set_args(*kernel_args)
            return lambda: cl.enqueue_nd_range_kernel(queue, knl, gsize, lsize)
        if kind == "fill":
            buf, nbytes = args
            return lambda: be.fill_zero(buf, nbytes)
        if kind == "check":
            check, x = args
            return lambda: check(be.memory.to_host(x))
        dst, src, nbytes, src_offset = args
        return lambda: be.copy_buffer(dst, src, nbytes, src_offset)

    def replay(self, feeds):
        be = self.backend
        for buf, a in zip(self.static, feeds):
            if buf.nbytes:
                be.copy_buffer(buf.base_data, be.memory.host_buffer(a), buf.nbytes, 0)
        for command in self.commands:
            command()
        return self.out

    def forget(self):
        self.commands = self.log = self.static = self.out = None  # the buffers go back to the pool
