"""The compiled Plan: what a Session caches and runs."""
import threading


class Plan:
    """A compiled step: `fn(V, *feeds)` returns the fetched backend arrays; `run(V, feeds)` is how the
    session calls it (the backend's plan_runner: feeds copied in, or a captured device graph replayed).
    `source` is the listing people read (op types and names as comments); `code` is what runs."""

    def __init__(self, fn, code, source, fetch_persistent, var_reads, has_assign, kernels, buffers=None,
                 wrapped=False):
        self.fn = fn
        self.code = code
        self.source = source
        self.wrapped = wrapped  # some kernel is wrapped by a plugin (timed, checked) and must really run
        self.run = None
        self.fetch_persistent = fetch_persistent
        self.var_reads = var_reads
        self.has_assign = has_assign
        self.kernels = kernels  # [(name, KernelSpec)] in call order, for explain()
        self.buffers = buffers or {}  # planned temporaries, reused by every run
        self.out_specs = []  # (shape, dtype) of each fetched value
        self.ops = []  # the graph ops it was compiled from
        self.devices = []  # the backends it runs on (several: it spans devices, compiler/place.py)
        self.fetch_devices = []  # the backend each fetched value is read back from
        self.copies = 0  # steps copying a value between devices
        # a plan that writes into its own buffers must not run twice at once (the session serialises
        # variable-updating plans anyway; others take this lock)
        self.lock = threading.Lock() if self.buffers else None

    def replay_obstacle(self):
        """Why a device runner may not record this step once and replay it (a CUDA graph, an OpenCL
        command list), or None."""
        if not self.has_assign:
            return "only steps that update variables are replayed (Session.run serialises them)"
        if len(self.devices) > 1:
            return "the step spans devices (tf.device): its host steps and copies must really run"
        if any(spec.rng is not None for _, spec in self.kernels):
            return "the step draws random numbers on the host (a replay would repeat them)"
        if any(spec.state is not None for _, spec in self.kernels):  # only host kernels get the run state
            return "a host op runs in the step (a summary): its Python must really run"
        for _, spec in self.kernels:  # a kernel whose factory said why it must really run (NCCL's)
            if spec.replay_obstacle:
                return spec.replay_obstacle
        if self.wrapped:
            return "a plugin wraps the kernels (a profiler, check_numerics): they must really run"
        return None
