"""Record a training step once, then replay the recording: the state machine every device plan runner that
does so shares (CUDA graph capture in the CuPy backend, OpenCL command lists).

Why: a step is tens of small kernels, and launching each from Python costs more than its arithmetic on a
GPU. A recording of one run replays them all at once, with no Python per kernel.

How: a plan that may be replayed (`Plan.replay_obstacle()` is None and the backend agrees) runs eagerly
for its first `warmup` calls (kernels get built then, never mid-recording), then one call is recorded. A
backend's `record` keeps every buffer that run touched and copies each variable the step rebinds back into
the variable's own buffer, so the session's variables do not move. Later calls replay the recording with
the new feeds, as long as the session's variables are still the very buffers the recording used; a load,
an initializer or another plan's assignment rebinds them, and then the step warms up and is recorded
again — at most `max_recordings` times, after which it stays eager (its variables keep moving).
"""

WARMUP = 2  # eager runs before recording: kernels compile on first use, which must not happen mid-recording
MAX_RECORDINGS = 4  # a step whose variables keep being rebound elsewhere stays eager


class NotRecordable(Exception):
    """The step cannot be recorded, for `reason`. `outputs`: this call's results when the attempt already
    ran the step (it must not run again), else None (the runner then runs it eagerly)."""

    def __init__(self, reason, outputs=None):
        super().__init__(reason)
        self.reason, self.outputs = reason, outputs


def rebound_slots(V, before, outputs):
    """The variable slots a run rebound (`V[slot]` is no longer `before[slot]`). NotRecordable when one
    cannot be copied back into its own buffer: a variable the step initialises (it has none yet), or one
    whose old buffer the step also fetches."""
    slots = [slot for slot, (now, was) in enumerate(zip(V, before)) if now is not was]
    for slot in slots:
        if before[slot] is None:
            raise NotRecordable(f"variable slot {slot} is initialised by this step")
        if any(o is before[slot] for o in outputs):
            raise NotRecordable("the step fetches a variable it also updates")
    return slots


class RecordReplayRunner:
    """A backend's plan runner `(V, feeds) -> outputs`: eager first, then replays of one recorded run.

    A subclass implements
    - `record(V, feeds) -> (outputs, rebound slots)`: run (or capture and replay) the step once as a
      recording; on return `V` holds the buffers it held before, the rebound variables' new values copied
      into them (see `rebound_slots`). Raises NotRecordable to keep the step eager;
    - `replay(feeds) -> outputs`: run the recording on new feeds;
    - `forget()`: drop the recording (its variables were rebound; a new one will be made);
    and may replace `eager(V, feeds)`. `why` says why the step is not replayed (None while it may be)."""

    warmup = WARMUP
    max_recordings = MAX_RECORDINGS
    verb = "recorded"  # for `why`: "recorded 4 times, ..."

    def __init__(self, backend, plan, off=None):
        """`off`: the backend's reason not to replay at all (a switch), checked before the plan's own."""
        self.backend, self.fn, self.var_reads = backend, plan.fn, plan.var_reads
        self.why = off or plan.replay_obstacle()
        self.eager_runs = self.recordings = 0
        self.bound = None  # [(slot, buffer)] the recording reads or rebinds; None: no recording

    def __call__(self, V, feeds):
        if self.bound is not None:
            if all(V[slot] is buf for slot, buf in self.bound):
                return self.replay(feeds)
            self.bound, self.eager_runs = None, 0  # a variable was rebound elsewhere: warm up, record again
            self.forget()
        if self.why is None and self.eager_runs >= self.warmup:
            if self.recordings < self.max_recordings:
                return self._record(V, feeds)
            self.why = f"{self.verb} {self.recordings} times, and its variables keep being rebound by other runs"
        self.eager_runs += 1
        return self.eager(V, feeds)

    def _record(self, V, feeds):
        try:
            out, rebound = self.record(V, feeds)
        except NotRecordable as e:
            self.why = e.reason
            return self.eager(V, feeds) if e.outputs is None else e.outputs
        self.recordings += 1
        self.bound = [(slot, V[slot]) for slot in sorted(set(self.var_reads) | set(rebound))]
        return out

    def eager(self, V, feeds):
        to_device = self.backend.to_device
        return self.fn(V, *[to_device(a) if a.dtype.kind != "O" else a for a in feeds])

    def record(self, V, feeds):
        raise NotImplementedError

    def replay(self, feeds):
        raise NotImplementedError

    def forget(self):
        """Drop the recording's state (a subclass's)."""
