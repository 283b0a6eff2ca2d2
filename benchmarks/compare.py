"""Head-to-head training throughput: nnplug on each backend vs the hand-written floor vs PyTorch eager.

    python benchmarks/compare.py                      # both MLPs + chapter epoch time, full run
    python benchmarks/compare.py --quick              # CI-speed: few, short repeats
    python benchmarks/compare.py --json out.json --png out.png
    python benchmarks/compare.py --models cnn --rounds 3 --threads 1   # the chapter-15 CNN vs PyTorch
    python benchmarks/compare.py --models lstm --no-epoch --rounds 3  # chapter 16's char-RNN vs nn.LSTM
    python benchmarks/compare.py --models chapter wide --rounds 3 --no-tf   # the floors, PyTorch, JAX

For each MLP (chapter 784-50-50-10 tanh batch 64; wide 784-1024-1024-10 ReLU batch 256) it measures
steps/s of: nnplug on every available backend; a hand-written NumPy loop doing the same arithmetic (the
floor); a plain CuPy loop when cupy works; PyTorch eager when `import torch` works (CUDA when available);
JAX when installed (`jit` of one step, and `jit(lax.scan)` of the step over a pass of stacked batches);
TensorFlow 2 when installed (a `compat.v1` graph run by a Session, and tf.keras `fit`). The optional ones
live in benchmarks/contenders.py (`pip install -e ".[bench]"`). Every contender starts from the same weights
and sees the same batches, in its own Python process, with the same threads: `--threads N` (default: the
cores this process may use) sets BLAS/OpenMP/MKL, PyTorch's set_num_threads, XLA's CPU flags and
TensorFlow's intra/inter-op pools, and when N is fewer than our cores pins each worker to N of them (XLA
sizes its pool by the cores it may use), all recorded in the JSON. Numbers are medians over repeats, after a
warm-up that is not timed, with a device synchronisation before each clock read. With `--rounds N` every
contender is measured N times, in turn, and the medians over rounds are reported (on a shared machine whose
speed drifts, a slow spell then hits every contender alike), and each ratio is the median of the same-round
ratios; a warning with the load average is printed
when a round starts on a busy machine (load above 0.5).

Beside the table: each MLP's physical limit, its GEMM FLOPs per training step over the best float32 GEMM
rate NumPy reaches (1024 and 2048 squares, measured each round in a worker with the same threads), and each
contender's share of it.
The "epoch" mode times one pass over 54000 synthetic rows of the chapter MLP (batch 64, no shuffling)
and, for NumPy-based contenders, the peak memory the epoch allocates (tracemalloc).

The `cnn` model is the textbook's chapter-15 network (28x28x1, conv 5x5x32 SAME ReLU, max-pool 2, conv
5x5x64 SAME ReLU, max-pool 2, dense 1024 ReLU, dropout, dense 10; Adam, batch 64), nnplug against PyTorch
eager (no hand-written floor). Its epoch mode (`--cnn-epoch-rows`) also gives every contender's peak
resident memory above what the process held before the model was made (Linux: the high-water mark is reset
there), so nnplug and PyTorch are measured alike. The `lstm` model is chapter 16's char-RNN (one-hot
characters, BasicLSTMCell(128) under dynamic_rnn, 100 steps, batch 64, gradients clipped, Adam) against
PyTorch's nn.LSTM from the same weights. Each row records the load average when it was measured.
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from importlib import metadata

import numpy as np
from tqdm import tqdm

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import (  # noqa: E402
    CNN_MODELS, DEFAULT_MODELS, LSTM_MODELS, MODELS, ArrayFloorMLP, CNNSpec, LSTMSpec, MLPSpec, NnplugCNN, NnplugLSTM,
    NnplugMLP, TorchCNN, TorchLSTM, TorchMLP, available_backends, batch_slices, char_batches, init_cnn_params,
    init_lstm_params, init_params, synthetic_data,
)
from benchmarks import contenders as optional  # noqa: E402

ALL_MODELS = {**MODELS, **CNN_MODELS, **LSTM_MODELS}


def params_for(spec, seed):
    if isinstance(spec, LSTMSpec):
        return init_lstm_params(spec, seed)
    return init_cnn_params(spec, seed) if isinstance(spec, CNNSpec) else init_params(spec, seed)


def contenders(args):
    """[(kind, arg)] for everything that can run here: ('nnplug', backend), ('floor', 'numpy'|'cupy'),
    ('torch', None), ('jax', 'jit'|'scan'), ('tf', 'v1'|'keras'). Decided without importing torch, cupy, jax
    or tensorflow into this process."""
    out = [("nnplug", name) for name in (args.backends or available_backends())]
    if not args.no_numpy_floor:
        out.append(("floor", "numpy"))
    if importlib.util.find_spec("cupy") is not None:
        out.append(("floor", "cupy"))  # the worker reports it as skipped when no GPU is usable
    if importlib.util.find_spec("torch") is not None and not args.no_torch:
        out.append(("torch", None))
    if importlib.util.find_spec("jax") is not None and not args.no_jax:
        out += [("jax", "jit"), ("jax", "scan")]
    if importlib.util.find_spec("tensorflow") is not None and not args.no_tf:
        out += [("tf", "v1"), ("tf", "keras")]
    return out


def make_model(kind, arg, spec, params):
    """(label, model) for one contender, or (label, None) when it cannot run here."""
    family = "cnn" if isinstance(spec, CNNSpec) else "lstm" if isinstance(spec, LSTMSpec) else "mlp"
    if kind == "nnplug":
        return f"nnplug[{arg}]", dict(mlp=NnplugMLP, cnn=NnplugCNN, lstm=NnplugLSTM)[family](spec, arg, params)
    if kind == "floor" and family != "mlp":
        return f"{arg} loop (floor)", None  # hand-written floors exist for the MLPs only
    if kind in ("jax", "tf"):  # the optional contenders exist for the MLPs only
        return optional.make_contender(kind, arg, spec, params) if family == "mlp" else (f"{kind} {arg}", None)
    if kind == "floor" and arg == "numpy":
        return "numpy loop (floor)", ArrayFloorMLP(spec, np, params)
    if kind == "floor":
        try:
            import cupy
            cupy.cuda.runtime.getDeviceCount()
        except Exception:  # noqa: BLE001 - cupy without a GPU: skip the CuPy floor
            return "cupy loop (floor)", None
        return "cupy loop (floor)", ArrayFloorMLP(spec, cupy, params)
    import torch
    torch.set_num_threads(int(os.environ.get("NNPLUG_BENCH_THREADS", 0)) or os.cpu_count() or 1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    return f"pytorch eager [{dev}]", dict(mlp=TorchMLP, cnn=TorchCNN, lstm=TorchLSTM)[family](spec, dev, params)


def model_batches(model, spec, n_batches, seed):
    """`n_batches` seeded batches of the model's kind (characters for the LSTM, pixels otherwise)."""
    if isinstance(spec, LSTMSpec):
        pairs = char_batches(spec, n_batches, seed=seed)
        return [model.to_device(x, y) for x, y in pairs] if isinstance(model, TorchLSTM) else pairs
    x, y = synthetic_data(spec.batch * n_batches, spec.n_in, spec.n_classes, seed=seed)
    return prepare_batches(model, x, y, batch_slices(len(x), spec.batch))


def prepare_batches(model, x, y, slices):
    """Batches in the form each contender is fed: host NumPy for nnplug, device arrays for the floors/torch."""
    if isinstance(model, TorchMLP):
        return [model.to_device(x[a:b], y[a:b]) for a, b in slices]
    if isinstance(model, ArrayFloorMLP) and model.xp is not np:
        return [(model.xp.asarray(x[a:b]), model.xp.asarray(y[a:b])) for a, b in slices]
    return [(x[a:b], y[a:b]) for a, b in slices]


def prepared(model, batches):
    """The batches in the form the model's `run_pass` takes (stacked on a device, ...), else as they are."""
    return model.prepare(batches) if hasattr(model, "prepare") else batches


def one_pass(model, batches):
    """One pass over `batches` (as `prepared` made them): the model's own `run_pass`, else a loop of steps."""
    if hasattr(model, "run_pass"):
        model.run_pass(batches)
        return
    for xb, yb in batches:
        model.step(xb, yb)


def warm_up(model, batches, steps):
    """Untimed: compile plans (or a whole pass's scan), allocate, fill caches."""
    if hasattr(model, "run_pass"):
        one_pass(model, batches)
    else:
        for xb, yb in steps:
            model.step(xb, yb)
    model.sync()


def timed_passes(model, batches, repeats, passes):
    """Median seconds of `passes` passes over `batches` (synchronised), over `repeats` timings."""
    times = []
    for _ in range(repeats):
        model.sync()
        t0 = time.perf_counter()
        for _ in range(passes):
            one_pass(model, batches)
        model.sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def measure_steps(kind, arg, spec, args):
    """steps/s of one contender on one model."""
    label, model = make_model(kind, arg, spec, params_for(spec, seed=args.seed))
    if model is None:
        return None
    pool = max(2, args.pool // 4) if isinstance(spec, LSTMSpec) else args.pool  # an LSTM batch is 100 steps
    batches = model_batches(model, spec, pool, args.seed)
    ready = prepared(model, batches)
    warm_up(model, ready, (batches * args.warmup)[: max(2, args.warmup)])
    batches = ready
    # size each timing to ~target seconds, judged from one untimed pass
    t0 = time.perf_counter()
    one_pass(model, batches)
    model.sync()
    per_pass = max(time.perf_counter() - t0, 1e-6)
    passes = max(1, round(args.target_seconds / per_pass))
    med, times = timed_passes(model, batches, args.repeats, passes)
    steps = passes * pool
    return dict(model=spec.name, contender=label, kind=kind, steps_per_s=steps / med, steps=steps, times_s=times,
                load=os.getloadavg()[0])


def measure_loss(kind, arg, spec, args):
    """The loss on a held-out batch before and after one pass over `args.pool` seeded batches: a check that
    every contender does the same arithmetic from the same weights (MLPs only)."""
    if not isinstance(spec, MLPSpec):
        raise ValueError(f"the loss check covers the MLPs, not the {spec.name} model")
    label, model = make_model(kind, arg, spec, params_for(spec, seed=args.seed))
    if model is None:
        return None
    x, y = synthetic_data(spec.batch * (args.pool + 1), spec.n_in, spec.n_classes, seed=args.seed)
    *train, held_out = prepare_batches(model, x, y, batch_slices(len(x), spec.batch))
    before = model.loss_value(*held_out)
    one_pass(model, prepared(model, train))
    model.sync()
    return dict(model=spec.name, contender=label, kind=kind, steps=len(train), loss_before=before,
                loss=model.loss_value(*held_out))


def measure_sgemm_peak(sizes=(1024, 2048), repeats=5):
    """The best float32 GEMM rate NumPy reaches here (GFLOP/s over square matrices of `sizes`)."""
    rng = np.random.default_rng(0)
    best = {}
    for n in sizes:
        a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
        out = np.empty((n, n), np.float32)
        np.matmul(a, b, out=out)  # warm-up: threads started, pages touched
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - t0)
        best[str(n)] = 2 * n ** 3 / min(times) / 1e9
    return dict(gflops=max(best.values()), gflops_by_size=best, load=os.getloadavg()[0])


def flops_per_step(spec):
    """Floating-point operations of one training step's GEMMs: per dense layer the forward product, the
    kernel's gradient and (beyond the first layer, whose input needs none) the input's gradient, 2·m·k·n
    each; None for models other than the MLPs."""
    if not isinstance(spec, MLPSpec):
        return None
    layers = list(zip(spec.sizes[:-1], spec.sizes[1:]))
    return sum((2 if i == 0 else 3) * 2 * spec.batch * n_in * n_out for i, (n_in, n_out) in enumerate(layers))


def measure_epoch(kind, arg, spec, args):
    """Seconds for one epoch of `args.epoch_rows` rows, and traced peak memory for NumPy-based contenders."""
    resident.start()  # before the model: its weights, optimizer state, plans and activations all count
    label, model = make_model(kind, arg, spec, params_for(spec, seed=args.seed))
    if model is None:
        return None
    rows = args.cnn_epoch_rows if isinstance(spec, CNNSpec) else args.epoch_rows
    x, y = synthetic_data(rows, spec.n_in, spec.n_classes, seed=args.seed)
    batches = prepare_batches(model, x, y, batch_slices(len(x), spec.batch))
    traced = arg == "numpy"  # NumPy reports its buffers to tracemalloc; other libraries do not
    if traced:  # from before the first step: buffers a plan allocates once and keeps count too
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    steps, ready = len(batches), prepared(model, batches)
    warm_up(model, ready, batches[:2] + batches[-1:])  # includes the short last batch's plan
    batches = ready
    peak = None
    if traced:  # the epoch's peak over the state before warm-up: what a plan keeps counts, compiling does not
        tracemalloc.reset_peak()
        one_pass(model, batches)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    med, times = timed_passes(model, batches, args.epoch_repeats, 1)
    return dict(model=spec.name, contender=label, kind=kind, epoch_s=med, times_s=times,
                steps=steps, steps_per_s=steps / med, peak_traced_bytes=peak,
                peak_rss_bytes=resident.peak_above_start(), load=os.getloadavg()[0])


class Resident:
    """Peak resident memory above what the process held at `start()`: the kernel's high-water mark (VmHWM),
    reset at the start where Linux allows it (/proc/self/clear_refs), else the lifetime maximum."""

    def start(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.base = self._status("VmRSS")

    @staticmethod
    def _status(field):
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    def peak_above_start(self):
        peak = self._status("VmHWM")
        return None if peak is None or self.base is None else max(peak - self.base, 0)


resident = Resident()


def _allowed_cpus():
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))


def thread_settings(threads):
    """The environment that gives every contender `threads` threads (0: nothing set, each library's default):
    BLAS and OpenMP (NumPy, PyTorch's OpenMP), XLA's CPU flags (JAX), TensorFlow's intra/inter-op pools; PyTorch
    and TensorFlow also read NNPLUG_BENCH_THREADS in the worker (set_num_threads, ConfigProto)."""
    if not threads:
        return {}
    env = {k: str(threads) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                     "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", optional.THREADS_ENV)}
    env["XLA_FLAGS"] = optional.xla_flags(threads, os.environ.get("XLA_FLAGS", ""))
    return env


def worker_cpus(threads):
    """The cores a worker may run on: the first `threads` of ours when that is fewer than we have, since XLA's
    CPU runtime sizes its pool by the cores it may use and ignores its thread flags (measured with JAX 0.10:
    four threads busy under intra_op_parallelism_threads=1, one under a one-core mask); None: all of ours."""
    cpus = _allowed_cpus()
    return cpus[:threads] if threads and threads < len(cpus) and hasattr(os, "sched_setaffinity") else None


def run_isolated(job, args):
    """Run one measurement in a fresh interpreter, so contenders cannot disturb each other: importing
    PyTorch starts OpenMP threads that slow NumPy's BLAS several-fold on a 2-core machine."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(dict(job, args=vars(args)))]
    env = dict(os.environ, **thread_settings(args.threads))
    cpus = worker_cpus(args.threads)
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None  # before exec: every thread inherits it
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=pin)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring {job} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def worker(payload):
    job = json.loads(payload)
    args = argparse.Namespace(**job["args"])
    if job["mode"] == "peak":
        print(json.dumps(measure_sgemm_peak()))
        return 0
    fn = dict(epoch=measure_epoch, steps=measure_steps, loss=measure_loss)[job["mode"]]
    row = fn(job["kind"], job["arg"], ALL_MODELS[job["model"]], args)
    if row is not None and job["kind"] == "torch":
        import torch
        row["torch_threads"] = torch.get_num_threads()
    if row is not None:
        row["worker_cpus"] = len(_allowed_cpus())
    print(json.dumps(row))
    return 0


def merge_rounds(rows):
    """One contender's rows from several rounds -> one row holding the median of each measure."""
    merged = dict(rows[0])
    for key in ("steps_per_s", "epoch_s", "peak_traced_bytes", "peak_rss_bytes", "load"):
        if merged.get(key) is not None:
            merged[key] = statistics.median(r[key] for r in rows)
            merged[key + "_rounds"] = [r[key] for r in rows]
    return merged


REFERENCES = {"vs_floor": "numpy loop (floor)", "vs_jax_scan": optional.JAX_KINDS["scan"]}


def speedup(row, ref, key, higher_is_better=True):
    """How many times faster `row` is than `ref`: the median of the same-round ratios when both were measured
    in the same rounds (a slow spell of the machine then cancels), else the ratio of the medians."""
    ours, theirs = row.get(key + "_rounds") or [row[key]], ref.get(key + "_rounds") or [ref[key]]
    if len(ours) != len(theirs):
        ours, theirs = [row[key]], [ref[key]]
    return statistics.median(a / b if higher_is_better else b / a for a, b in zip(ours, theirs))


def add_ratios(rows, key, higher_is_better=True):
    """Speed-up of each row over the NumPy floor, PyTorch and JAX jit(lax.scan) of the same model (> 1:
    faster than it)."""
    for r in rows:
        same = [o for o in rows if o["model"] == r["model"]]
        refs = {name: next((o for o in same if o["contender"] == label), None) for name, label in REFERENCES.items()}
        refs["vs_torch"] = next((o for o in same if o["kind"] == "torch"), None)
        for name, ref in refs.items():
            r[name] = None if ref is None else speedup(r, ref, key, higher_is_better)


def add_limits(rows, limits):
    """Each row's share of its model's physical limit (steps/s at the measured sgemm peak)."""
    for r in rows:
        limit = limits.get(r["model"])
        r["of_limit"] = None if limit is None else r["steps_per_s"] / limit["steps_per_s"]


def limit_lines(limits):
    return [f"{model} limit: {lim['steps_per_s']:.0f} steps/s at {lim['gflops']:.0f} GFLOP/s "
            f"({lim['flops_per_step'] / 1e6:.1f} MFLOP of GEMMs per step over numpy's best sgemm)"
            for model, lim in limits.items()]


def load_warning(when, cores):
    """A warning line when other work loads the machine (1-minute load average above 0.5), else None."""
    load = os.getloadavg()[0]
    if load <= 0.5:
        return None
    return (f"warning: the machine is busy {when}: load average {load:.2f} over the last minute on {cores} "
            f"cores; absolute numbers drift, same-round ratios hold better")


def _rounds(r, key, spec):
    values = r.get(key + "_rounds")
    return "" if not values or len(values) < 2 else " (" + ", ".join(format(v, spec) for v in values) + ")"


def _mib(v):
    return "—" if v is None else f"{v / 2**20:.1f}"


def table(step_rows, epoch_rows):
    lines = ["| model | contender | steps/s (per round) | vs NumPy floor | vs PyTorch | vs JAX scan | of limit | load |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    fmt = lambda v: "—" if v is None else f"{v:.2f}x"  # noqa: E731
    for r in step_rows:
        share = "—" if r.get("of_limit") is None else f"{100 * r['of_limit']:.0f} %"
        lines.append(f"| {r['model']} | {r['contender']} | {r['steps_per_s']:.1f}{_rounds(r, 'steps_per_s', '.1f')} | "
                     f"{fmt(r['vs_floor'])} | {fmt(r['vs_torch'])} | {fmt(r.get('vs_jax_scan'))} | {share} | "
                     f"{_rounds(r, 'load', '.1f') or format(r.get('load', 0), '.1f')} |")
    for model in dict.fromkeys(r["model"] for r in epoch_rows):
        rows = [r for r in epoch_rows if r["model"] == model]
        torch = next((r for r in rows if r["kind"] == "torch"), None)
        lines += ["", f"{model}, one epoch ({rows[0]['steps']} steps); ratios are speed-ups (reference time / this "
                      "time, so > 1 is faster); epoch time vs floor = 1 / 'vs NumPy floor'. Peak RSS: resident memory "
                      "above the process's before the model was made.",
                  "", "| contender | epoch s (per round) | vs NumPy floor | vs PyTorch | vs JAX scan | peak traced MiB | "
                      "peak RSS MiB | RSS vs PyTorch |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            rss, ref = r.get("peak_rss_bytes"), torch and torch.get("peak_rss_bytes")
            ratio = f"{rss / ref:.2f}x" if rss is not None and ref else "—"
            lines.append(f"| {r['contender']} | {r['epoch_s']:.3f}{_rounds(r, 'epoch_s', '.2f')} | {fmt(r['vs_floor'])} | "
                         f"{fmt(r['vs_torch'])} | {fmt(r.get('vs_jax_scan'))} | {_mib(r['peak_traced_bytes'])} | "
                         f"{_mib(rss)} | {ratio} |")
    return "\n".join(lines)


def plot(step_rows, epoch_rows, path):
    """One panel per MLP (steps/s) plus the chapter epoch time, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    models = sorted({r["model"] for r in step_rows}, key=list(ALL_MODELS).index)
    panels = len(models) + (1 if epoch_rows else 0)
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4), squeeze=False)
    colours = {"nnplug": "tab:blue", "floor": "tab:grey", "torch": "tab:orange", "jax": "tab:green", "tf": "tab:red"}
    for ax, m in zip(axes[0], models):
        rs = [r for r in step_rows if r["model"] == m]
        bars = ax.barh([r["contender"] for r in rs], [r["steps_per_s"] for r in rs],
                       color=[colours[r["kind"]] for r in rs])
        ax.bar_label(bars, fmt="%.0f", padding=2)
        ax.margins(x=0.2)
        ax.set_xlabel("steps/s (higher is better)")
        spec = ALL_MODELS[m]
        shape = "CNN 28x28x1-c5x5x32-c5x5x64-1024-10" if isinstance(spec, CNNSpec) else \
            spec.title if isinstance(spec, LSTMSpec) else "MLP " + "-".join(map(str, spec.sizes))
        ax.set_title(f"{m} {shape}, batch {spec.batch}")
        ax.invert_yaxis()
    if epoch_rows:
        epoch_rows = [r for r in epoch_rows if r["model"] == epoch_rows[0]["model"]]  # one epoch panel
        ax = axes[0][-1]
        bars = ax.barh([r["contender"] for r in epoch_rows], [r["epoch_s"] for r in epoch_rows],
                       color=[colours[r["kind"]] for r in epoch_rows])
        ax.bar_label(bars, fmt="%.3f s", padding=2)
        ax.margins(x=0.2)
        ax.set_xlabel("seconds (lower is better)")
        ax.set_title(f"{epoch_rows[0]['model']}: one epoch of {epoch_rows[0]['steps']} steps")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def environment():
    """Device and versions, for the record."""
    info = {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
    except OSError:
        info["cpu"] = platform.processor() or None
    for dist in ("torch", "cupy", "pyopencl", "pocl-binary-distribution", "jax", "jaxlib", "tensorflow",
                 "tensorflow-cpu", "keras", "threadpoolctl"):
        try:  # versions from metadata: importing torch here would slow the NumPy contenders
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        import pyopencl
        info["opencl_devices"] = [f"{d.name} ({p.name} {p.version})" for p in pyopencl.get_platforms()
                                  for d in p.get_devices()]
    except Exception:  # noqa: BLE001 - OpenCL is optional
        pass
    from nnplug.plugins import describe_backends
    info["nnplug_backends"] = {d["name"]: (d["available"], d["reason"]) for d in describe_backends()}
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), choices=list(ALL_MODELS),
                   help="'huge' (4 x 4096 ReLU, batch 4096) is GEMM-bound and meant for GPUs; 'cnn' is chapter "
                        "15's convnet (against PyTorch, with its own epoch); 'lstm' chapter 16's char-RNN "
                        "(against PyTorch's nn.LSTM)")
    p.add_argument("--backends", nargs="+", default=None,
                   help="nnplug backends to measure (default: every available device backend)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even when installed")
    p.add_argument("--no-jax", action="store_true", help="skip JAX (jit, jit(lax.scan)) even when installed")
    p.add_argument("--no-tf", action="store_true", help="skip TensorFlow (compat.v1 Session, tf.keras fit)")
    p.add_argument("--no-numpy-floor", action="store_true", help="skip the NumPy loop (e.g. for 'huge' on a GPU)")
    p.add_argument("--no-epoch", action="store_true", help="skip the chapter-MLP epoch-time mode")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats per contender (median reported)")
    p.add_argument("--rounds", type=int, default=1,
                   help="measure every contender this many times, in turn, and report medians: on a shared "
                        "machine whose speed drifts, a slow spell then hits every contender alike")
    p.add_argument("--target-seconds", type=float, default=0.5, help="approximate length of one timed repeat")
    p.add_argument("--pool", type=int, default=16, help="distinct batches cycled through in steps/s mode")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps")
    p.add_argument("--epoch-rows", type=int, default=54000, help="rows of the chapter-MLP epoch")
    p.add_argument("--cnn-epoch-rows", type=int, default=3200, help="rows of the CNN epoch (default: 50 steps)")
    p.add_argument("--threads", type=int, default=len(_allowed_cpus()),
                   help="threads for every contender's BLAS, OpenMP, PyTorch, XLA and TensorFlow pools; fewer than "
                        "our cores also pins each worker to that many (default: the cores this process may use, "
                        "%(default)s; 0: each library's own choice)")
    p.add_argument("--epoch-repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="CI speed: 2 short repeats, 2000-row epoch")
    p.add_argument("--json", metavar="PATH", help="write all numbers and the environment as JSON")
    p.add_argument("--png", metavar="PATH", default="compare.png", help="bar chart (default: compare.png)")
    p.add_argument("--no-png", action="store_true")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--table-from", metavar="PATH", help="print the tables of an earlier run's --json, measuring nothing")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one measurement, JSON on stdout
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if args.table_from:
        with open(args.table_from) as f:
            report(json.load(f))
        return 0
    if args.quick:
        args.repeats, args.target_seconds, args.pool, args.warmup = 2, 0.05, 4, 2
        args.epoch_rows, args.epoch_repeats = min(args.epoch_rows, 2000), 2
        args.cnn_epoch_rows = min(args.cnn_epoch_rows, 256)

    env = environment()
    env["thread_settings"] = thread_settings(args.threads)
    env["worker_cpus"] = worker_cpus(args.threads) or _allowed_cpus()
    print(f"# {env.get('cpu')} ({env['cpus']} CPUs) · python {env['python']} · numpy {env['numpy']}"
          + (f" · torch {env['torch']}" if "torch" in env else " · no torch")
          + "".join(f" · {d} {env[d]}" for d in ("jax", "tensorflow-cpu", "tensorflow") if d in env)
          + (f" · {args.threads} threads for every contender" if args.threads else " · each library's own threads")
          + " · each contender in its own process")
    jobs = [dict(mode="steps", model=m, kind=k, arg=a) for m in args.models for k, a in contenders(args)]
    if not args.no_epoch:
        epoch_models = (["chapter"] if set(args.models) & set(MODELS) else []) + [m for m in args.models
                                                                                   if m in CNN_MODELS]
        jobs += [dict(mode="epoch", model=m, kind=k, arg=a) for m in epoch_models for k, a in contenders(args)]
    runs, peaks = measure_rounds(jobs, args, env)
    step_rows, epoch_rows = [], []
    for key, rows in runs.items():
        (epoch_rows if json.loads(key)["mode"] == "epoch" else step_rows).append(merge_rounds(rows))
    gflops = max(p["gflops"] for p in peaks)
    limits = {m: dict(flops_per_step=f, gflops=gflops, steps_per_s=gflops * 1e9 / f)
              for m in args.models if (f := flops_per_step(ALL_MODELS[m])) is not None}
    results = {"environment": env, "args": vars(args), "steps": step_rows, "epoch": epoch_rows,
               "sgemm_peak": peaks, "limits": limits}
    report(results)
    if not args.no_png:
        plot(step_rows, epoch_rows, args.png)
        print(f"\nbar chart: {args.png}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"numbers: {args.json}")
    return 0


def report(results):
    """Ratios and shares of the limit added to `results`' rows, then the tables, limits and warnings printed."""
    add_ratios(results["steps"], "steps_per_s")
    add_ratios(results["epoch"], "epoch_s", higher_is_better=False)
    add_limits(results["steps"], results.get("limits", {}))
    print()
    print(table(results["steps"], results["epoch"]))
    print()
    print("\n".join(limit_lines(results.get("limits", {})) + results["environment"].get("load_warnings", [])))


def measure_rounds(jobs, args, env):
    """Every job once per round, in turn, after a sgemm-peak measurement (in its own worker, with the same
    threads); a warning, printed and kept in `env`, whenever a round starts on a busy machine.
    Returns ({job key: [row per round]}, [peak per round])."""
    runs, peaks = {}, []
    env["load_warnings"] = []
    bar = tqdm(total=(len(jobs) + 1) * args.rounds, desc="measuring", unit="run", disable=args.no_progress)
    for r in range(args.rounds):
        warning = load_warning("at the start" if r == 0 else f"before round {r + 1}", env["cpus"])
        if warning:
            env["load_warnings"].append(warning)
            tqdm.write(warning)
        peaks.append(run_isolated(dict(mode="peak"), args))
        bar.update()
        for job in jobs:
            row = run_isolated(job, args)
            bar.update()
            if row is not None:
                runs.setdefault(json.dumps(job, sort_keys=True), []).append(row)
                env["torch_threads"] = row.get("torch_threads", env.get("torch_threads"))
    bar.close()
    return runs, peaks


if __name__ == "__main__":
    sys.exit(main())
