"""nnplug-profiler: times every kernel of the plans nnplug compiles and prints where a step's time goes.

Enable with `NNPLUG_PROFILE=1` or `nnplug_profiler.enable()` (plans compiled before that are not timed);
`nnplug_profiler.report()` prints the table, and so does exit when profiling was on. Disabled, it costs
nothing: the kernel hook returns None (kernels stay unwrapped) and no run observer is installed.
Each timed kernel synchronises the backend before and after it, so GPU times are the kernel's own, and the
step runs slower than without profiling: the table tells shares, not absolute speed.
"""
import atexit
import os
import sys
import threading
import time

from nnplug import hookimpl, plugins

__version__ = "0.1.0"

_lock = threading.Lock()
_stats = {}  # (op type, op name) -> [calls, seconds]
_runs = []  # wall seconds of each Session.run while enabled
_state = {"enabled": os.environ.get("NNPLUG_PROFILE", "").strip() not in ("", "0"), "observer": False,
          "atexit": False}


def _sync():
    for backend in plugins.active_backends():
        backend.synchronize()


def enabled():
    return _state["enabled"]


def enable():
    """Profile kernels of plans compiled from now on, and Session.run times of Sessions created from now on."""
    _state["enabled"] = True
    if not _state["observer"]:
        plugins.register_plugin(_RunObserver(), name="nnplug_profiler.runs")
        _state["observer"] = True
    if not _state["atexit"]:
        atexit.register(_report_at_exit)
        _state["atexit"] = True


def disable():
    _state["enabled"] = False


def reset():
    """Forget what was gathered (e.g. after warm-up); kernels already wrapped go on counting from zero."""
    with _lock:
        for record in _stats.values():  # the wrappers hold these lists: zero them, keep them
            record[:] = [0, 0.0]
        _runs.clear()


def stats():
    """{(op type, op name): (calls, seconds)} gathered so far (kernels not called since reset() left out)."""
    with _lock:
        return {k: tuple(v) for k, v in _stats.items() if v[0]}


@hookimpl
def nnplug_wrap_kernel(spec, kernel):
    if not _state["enabled"]:
        return None
    with _lock:
        record = _stats.setdefault((spec.op_type, spec.name), [0, 0.0])
    clock = time.perf_counter

    def timed(*args, **kwargs):  # kwargs: `out=` where the backend writes into planned buffers
        _sync()
        start = clock()
        out = kernel(*args, **kwargs)
        _sync()
        record[1] += clock() - start
        record[0] += 1
        return out
    timed.__wrapped__ = kernel
    return timed


class _RunObserver:
    """Installed only while profiling: Sessions with a run observer synchronise after every run."""

    @hookimpl
    def nnplug_session_run(self, session, fetches, seconds):
        _runs.append(seconds)


def format_report(limit=30):
    rows = sorted(stats().items(), key=lambda kv: -kv[1][1])
    total = sum(s for _, s in (v for _, v in rows)) or 1e-30
    lines = [f"{'op type':<30} {'name':<40} {'calls':>7} {'total ms':>10} {'%':>6}"]
    for (op_type, name), (calls, seconds) in rows[:limit]:
        lines.append(f"{op_type:<30.30} {name:<40.40} {calls:>7} {seconds * 1e3:>10.3f} {100 * seconds / total:>6.1f}")
    if len(rows) > limit:
        rest = sum(s for _, (c, s) in rows[limit:])
        lines.append(f"{'(' + str(len(rows) - limit) + ' more)':<71} {'':>7} {rest * 1e3:>10.3f} {100 * rest / total:>6.1f}")
    by_type = {}
    for (op_type, _), (calls, seconds) in rows:
        by_type[op_type] = by_type.get(op_type, 0.0) + seconds
    lines.append("by op type: " + ", ".join(f"{t} {100 * s / total:.1f}%"
                                            for t, s in sorted(by_type.items(), key=lambda kv: -kv[1])))
    lines.append(f"kernels: {total * 1e3:.3f} ms in {sum(c for _, (c, _) in rows)} calls")
    if _runs:
        lines.append(f"Session.run: {len(_runs)} runs, {sum(_runs) * 1e3:.3f} ms wall "
                     f"({100 * min(1.0, total / sum(_runs)):.0f}% of it in kernels)")
    return "\n".join(lines)


def report(file=None, limit=30):
    """Print the per-op table (slowest first) to `file` (stdout by default)."""
    print("nnplug-profiler: where the time went\n" + format_report(limit), file=file or sys.stdout)


def _report_at_exit():
    if _stats:
        report(file=sys.stderr)


if _state["enabled"]:  # NNPLUG_PROFILE=1: this module's own hook observes runs from the first Session on
    nnplug_session_run = _RunObserver().nnplug_session_run
    _state["observer"] = True
    atexit.register(_report_at_exit)
    _state["atexit"] = True
