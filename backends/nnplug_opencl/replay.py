"""Training steps recorded once and replayed with bare launches: OpenCL's stand-in for CUDA graphs.

Why: a step is 30-40 kernels. Launched from the plan, each goes through our Python and pyopencl's
`Kernel.__call__`, which sets every argument again (~12 µs a launch on PoCL, more on some GPU drivers);
with the arguments already set, a launch is one `enqueue_nd_range_kernel` (~3.5 µs). On a CPU device the
host's time is also taken from the device's own threads.

How: a plan that updates variables runs eagerly for its first WARMUP calls (kernels get built), then one
run is recorded — every launch with its sizes and arguments, and every buffer fill and copy, in order —
while it executes normally on feed buffers the recording owns. The recording keeps every buffer that run
touched (the memory pool cannot hand them to anyone else), gives each launch its own Kernel object with
its arguments set once, and copies variables the step rebinds back into their own buffers, so the
session's variables never move. A replay copies the new feeds into the recorded feed buffers (through a
fresh host-initialised buffer, so the caller may reuse its arrays at once) and enqueues the commands.
Before each replay the session's variables are checked to be the recorded buffers (a load or another
plan's assign rebinds them); if not, the step is recorded again. Not recorded: steps that draw random
numbers (on the host), steps whose kernels a plugin wraps, steps that fetch a variable they rebind.
On by default for GPUs and other non-CPU devices; NNPLUG_OPENCL_REPLAY=0 or 1 decides for any device.
"""
import os

WARMUP = 2
MAX_RECORDINGS = 4  # a step whose variables keep being rebound elsewhere stays eager


def enabled(backend):
    """NNPLUG_OPENCL_REPLAY=1 or 0 decides; unset, steps are replayed on GPUs and other non-CPU devices,
    where launches are what a step costs. On PoCL (a CPU) the device's own threads are the limit: replay
    measured no faster there, so it stays off unless asked for."""
    flag = os.environ.get("NNPLUG_OPENCL_REPLAY", "").strip().lower()
    if flag:
        return flag not in ("0", "false", "no", "off")
    return not backend.is_cpu


def why_not(backend, plan):
    """Why this plan cannot be replayed, or None."""
    if not enabled(backend):
        return "replay is off (NNPLUG_OPENCL_REPLAY=1 turns it on; by default it is on for non-CPU devices)"
    return plan.replay_obstacle()


class StepReplayer:
    """Plan runner for the OpenCL backend: eager first, then replays of one recorded run."""

    def __init__(self, backend, plan):
        self.backend, self.fn, self.var_reads = backend, plan.fn, plan.var_reads
        self.why = why_not(backend, plan)
        self.eager_runs = self.recordings = 0
        self.commands = None

    def __call__(self, V, feeds):
        if self.commands is not None:
            if all(V[slot] is buf for slot, buf in self.bound):
                return self._replay(feeds)
            self.commands, self.eager_runs = None, 0  # a variable was rebound elsewhere: record again
        if self.why is None and self.eager_runs >= WARMUP:
            if self.recordings < MAX_RECORDINGS:
                return self._record(V, feeds)
            self.why = f"recorded {self.recordings} times, and its variables keep being rebound by other runs"
        self.eager_runs += 1
        return self.fn(V, *[self.backend.to_device(a) for a in feeds])

    def _record(self, V, feeds):
        be = self.backend
        static = [be.to_device(a) for a in feeds]  # buffers the recording owns
        before = list(V)
        be.recording = log = []
        try:
            out = self.fn(V, *static)
        finally:
            be.recording = None
        self.recordings += 1
        rebound = [slot for slot, (now, was) in enumerate(zip(V, before)) if now is not was]
        for slot in rebound:
            now, was = V[slot], before[slot]
            if was is None or was.offset or was.nbytes != now.nbytes or any(o is now or o is was for o in out):
                self.why = (f"variable slot {slot} is initialised by this step" if was is None else
                            "the step fetches a variable it rebinds, or rebinds it to a differently laid out buffer")
                return out  # the run itself was an ordinary eager run
        for slot in rebound:  # the new value goes into the variable's own buffer, now and on every replay
            now, was = V[slot], before[slot]
            be.copy_buffer(was.base_data, now.base_data, now.nbytes, now.offset)
            log.append(("copy", (was.base_data, now.base_data, now.nbytes, now.offset)))
            V[slot] = was
        try:
            self.commands = [self._command(kind, args) for kind, args in log]
        except Exception as e:  # noqa: BLE001 - a driver that refuses: the step stays eager, as before
            self.why = f"recording failed: {type(e).__name__}: {e}"
            return out
        self.log, self.static, self.out = log, static, out  # the log keeps every buffer it names alive
        self.bound = [(slot, V[slot]) for slot in sorted(set(self.var_reads) | set(rebound))]
        return out

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
        dst, src, nbytes, src_offset = args
        return lambda: be.copy_buffer(dst, src, nbytes, src_offset)

    def _replay(self, feeds):
        be = self.backend
        for buf, a in zip(self.static, feeds):
            if buf.nbytes:
                be.copy_buffer(buf.base_data, be.memory.host_buffer(a), buf.nbytes, 0)
        for command in self.commands:
            command()
        return self.out
