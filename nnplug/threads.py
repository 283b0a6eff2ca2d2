"""BLAS threads chosen per GEMM: small GEMMs on one thread, large ones on the cores no other process holds.

Why: OpenBLAS splits a GEMM over its threads and then waits for the slowest one. When another process holds
a core, the thread queued behind it delays every GEMM by a scheduler time slice, and threads spinning while
they wait take the core from the process that holds it: one busy-looping neighbour made a chapter Keras
epoch (784-50-50-10, batch 64) 3.2x slower on two cores. A GEMM too small to gain from a second thread
therefore runs on one; a larger one on the cores that are free now, judged from /proc/stat (the CPU time of
this process's cores, less this process's own) at most every `SAMPLE_SECONDS`.

The count is set through threadpoolctl's controller of each loaded BLAS library, and only when the decision
changes: a `threadpool_limits` context per GEMM costs 15-300 µs, more than a small GEMM takes.

Settings (read once, when the first GEMM kernel is made):

- `NNPLUG_BLAS_THREADS=N`: every GEMM on N threads, nothing sampled; `auto` (default) decides per GEMM.
- `NNPLUG_BLAS_SPLIT_FLOPS=F`: GEMMs of fewer than F floating-point operations run on one thread
  (default `DEFAULT_SPLIT_FLOPS`, 2 MFLOP; `python -m nnplug.threads` measures this machine's crossover).

The thread count a BLAS library had when nnplug first met it (OPENBLAS_NUM_THREADS, a threadpoolctl limit
the program set) stays the ceiling; a count someone else sets later becomes the new ceiling.
"""
import math
import os
import time

ENV_THREADS = "NNPLUG_BLAS_THREADS"
ENV_SPLIT = "NNPLUG_BLAS_SPLIT_FLOPS"
# Measured with `python -m nnplug.threads` on the project's 2-core VM (OpenBLAS 0.3.31, benchmarks/RESULTS.md
# 2026-12-02): up to 1.2 MFLOP two threads take the time one does (OpenBLAS stays on one by itself); from
# 2.1 MFLOP two were 1.3-2x faster in quiet moments, and 100-1000x slower (a time slice per GEMM) while other
# processes held the cores. The chapter MLP's first-layer GEMMs (64 x 784 x 50) are 5 MFLOP.
DEFAULT_SPLIT_FLOPS = 2e6
SAMPLE_SECONDS = 0.25  # how stale the free-core count may get: reading /proc/stat costs ~20 µs
BUSY_FRACTION = 0.3  # a core counts as taken when other processes use at least this share of it


def _affinity():
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return list(range(os.cpu_count() or 1))


class FreeCores:
    """Cores of this process's affinity mask that other processes leave free: `free()` is between 1 and the
    mask's size, from the busy time /proc/stat counts on those cores less this process's own CPU time over the
    last `interval` seconds (the first reading, with no interval behind it, counts the runnable tasks other
    than the caller). Where /proc/stat cannot be read, every core counts as free."""

    def __init__(self, cpus=None, stat_path="/proc/stat", interval=SAMPLE_SECONDS, clock=time.monotonic,
                 own_seconds=None):
        self.cpus = list(cpus) if cpus is not None else _affinity()
        self.stat_path, self.interval, self.clock = stat_path, interval, clock
        self.own_seconds = own_seconds or (lambda: sum(os.times()[:2]))
        self.names = {f"cpu{i}" for i in self.cpus}
        self.value = len(self.cpus)
        self.last = None  # (busy jiffies, all jiffies, own CPU seconds) at the last reading
        self.next_at = 0.0
        self.readable = True

    def free(self):
        now = self.clock()
        if now < self.next_at or not self.readable:
            return self.value
        self.next_at = now + self.interval
        try:
            with open(self.stat_path) as f:
                busy, total, running = self._parse(f)
        except (OSError, ValueError):
            self.readable = False
            return self.value
        own = self.own_seconds()
        if self.last is None:
            others = max(running - 1, 0)
        else:
            d_busy, d_total, d_own = busy - self.last[0], total - self.last[1], own - self.last[2]
            tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
            others = 0.0 if d_total <= 0 else max(d_busy - d_own * tick, 0) / d_total * len(self.cpus)
        self.last = (busy, total, own)
        taken = math.floor(others + 1 - BUSY_FRACTION)  # others >= 0
        self.value = min(max(len(self.cpus) - taken, 1), len(self.cpus))
        return self.value

    def _parse(self, lines):
        """(busy jiffies, all jiffies) summed over our cores, and the runnable-task count."""
        busy = total = 0
        running = None
        for line in lines:
            name, _, rest = line.partition(" ")
            if name in self.names:  # user nice system idle iowait irq softirq steal (guest: inside user)
                ticks = [int(v) for v in rest.split()[:8]]
                total += sum(ticks)
                busy += sum(ticks) - ticks[3] - ticks[4]  # steal counts as busy: another VM holds the core
            elif name == "procs_running":
                running = int(rest)
                break
        if total == 0:
            raise ValueError(f"{self.stat_path} lists none of cpus {self.cpus}")
        return busy, total, running if running is not None else 1


class BlasThreads:
    """Sets the BLAS thread count before each GEMM kernel runs: 1 below `split_flops`, else the free cores
    (capped by the count the library had to begin with), or `fixed` threads for every GEMM when given."""

    def __init__(self, libraries, free_cores, split_flops=DEFAULT_SPLIT_FLOPS, fixed=None):
        self.libraries = list(libraries)  # threadpoolctl LibController objects
        self.free_cores = free_cores
        self.split_flops, self.fixed = split_flops, fixed
        self.ceiling = max([lib.get_num_threads() or 1 for lib in self.libraries] or [1])
        self.current = None  # what this object set last (None: not yet)
        self.switches = 0

    def threads_for(self, flops):
        """The thread count a GEMM of `flops` runs on now."""
        if self.fixed is not None:
            return self.fixed
        if flops < self.split_flops:
            return 1
        return min(self.free_cores.free(), self.ceiling)

    def use(self, n):
        """Make the BLAS libraries run `n` threads (a no-op when that is what they run)."""
        if n == self.current:
            return
        if self.current is not None and self.libraries:
            now = self.libraries[0].get_num_threads()
            if now != self.current:  # set by someone else since (threadpool_limits, the distributed runtime)
                self.ceiling = now
                n = min(n, now) if self.fixed is None else n
        for lib in self.libraries:
            lib.set_num_threads(n)
        self.current = n
        self.switches += 1

    def wrap(self, gemm, flops):
        """`gemm(a, b, out=None)` run with the thread count its size calls for (the count then stays as it
        left it: the next GEMM sets its own)."""
        if not self.libraries:
            return gemm
        use = self.use
        if self.fixed is not None or flops < self.split_flops:
            n = self.threads_for(flops)

            def fixed_threads(a, b, out=None):  # the common case, so as lean as Python allows
                if self.current != n:
                    use(n)
                return gemm(a, b, out=out)
            return fixed_threads
        threads_for = self.threads_for

        def free_threads(a, b, out=None):
            use(threads_for(flops))
            return gemm(a, b, out=out)
        return free_threads


def gemm_flops(a_shape, out_shape, transpose_a=False):
    """2·m·n·k of a matmul (times its batch dimensions): its output's size times twice the inner size."""
    k = a_shape[-2] if transpose_a else a_shape[-1]
    return 2 * math.prod(out_shape) * k


def _setting(name, parse, default):
    raw = os.environ.get(name, "").strip()
    if not raw or raw.lower() == "auto":
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ValueError(f"{name}={raw!r}: expected 'auto' or a positive number")
    return value


_POLICY = []


def blas_threads():
    """The process's BlasThreads, made on first use from the environment and the loaded BLAS libraries."""
    if not _POLICY:
        from threadpoolctl import ThreadpoolController
        libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        fixed = _setting(ENV_THREADS, int, None)
        split = _setting(ENV_SPLIT, float, DEFAULT_SPLIT_FLOPS)
        _POLICY.append(BlasThreads(libraries, FreeCores(), split_flops=split, fixed=fixed))
    return _POLICY[0]


# -- `python -m nnplug.threads`: this machine's one-thread/all-threads crossover --------------------------
def _best_seconds(fn, repeats, inner):
    """The fastest of `repeats` timings (of `inner` calls each): on a shared machine, the closest to quiet."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return min(times)


def measure_crossover(batches=(64, 256), widths=(16, 32, 64, 128, 256, 512, 1024), gain=1.1, repeats=15):
    """[(flops, batch, width, one-thread s, all-threads s)] for (batch, width) @ (width, width) float32 GEMMs,
    the smallest FLOP count from which all threads are at least `gain` times faster than one, and that count
    of threads."""
    import numpy as np
    from threadpoolctl import ThreadpoolController
    libraries = ThreadpoolController().select(user_api="blas").lib_controllers
    most = max(lib.get_num_threads() for lib in libraries)
    rng = np.random.default_rng(0)
    rows = []
    for batch in batches:
        for width in widths:
            a = rng.standard_normal((batch, width), dtype=np.float32)
            b = rng.standard_normal((width, width), dtype=np.float32)
            out = np.empty((batch, width), np.float32)
            flops = gemm_flops(a.shape, out.shape)
            inner = max(1, int(5e6 / flops))
            timed = []
            for n in (1, most):
                for lib in libraries:
                    lib.set_num_threads(n)
                timed.append(_best_seconds(lambda: np.matmul(a, b, out=out), repeats, inner))
            rows.append((flops, batch, width, *timed))
    for lib in libraries:
        lib.set_num_threads(most)
    rows.sort()
    wins = [f for f, _, _, one, many in rows if one / many >= gain]
    return rows, (min(wins) if wins else None), most


def main():
    rows, split, most = measure_crossover()
    print(f"{'MFLOP':>9} {'GEMM':>16} {'1 thread us':>12} {str(most) + ' threads us':>12} {'gain':>6}")
    for flops, batch, width, one, many in rows:
        print(f"{flops / 1e6:9.2f} {f'{batch}x{width}x{width}':>16} {one * 1e6:12.1f} {many * 1e6:12.1f} "
              f"{one / many:6.2f}x")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} (a busy machine blurs this)")
    if split is None:
        print(f"{most} threads never won by 10 %: export {ENV_THREADS}=1")
    else:
        print(f"{most} threads win by >= 10 % from {split / 1e6:.1f} MFLOP: export {ENV_SPLIT}={split:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
