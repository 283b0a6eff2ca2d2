"""Data-parallel scaling of the wide MLP (784-1024-1024-10 ReLU) over MPI ranks on this machine.

    python benchmarks/distributed.py                        # 2 ranks against 1, weak scaling
    python benchmarks/distributed.py --scaling strong       # a global batch of 256 split over the ranks
    python benchmarks/distributed.py --ranks 2 4 --rounds 10 --json scaling.json

Weak scaling (the default), as Horovod reports it: every rank keeps a batch of --batch rows (so N ranks
train on a global batch of N x 256); strong scaling: the ranks split one global batch of --batch rows.
Throughput is samples/s over the whole job, and scaling efficiency is throughput(N) / (N x throughput(1)).
Each rank runs one BLAS thread, so N ranks need N free cores.

A machine shared with other work changes speed from one second to the next, so one `mpiexec` job of N
ranks measures everything, in short blocks of --block steps taken in turn (each round starting with
the next phase), round after round:
- solo: rank 0 trains alone (the others sleep): the one-rank throughput;
- overlap: DistributedOptimizer as it is, each gradient bucket's allreduce started during the backward
  pass (--threshold sets NNPLUG_FUSION_THRESHOLD, the bucket size);
- blocking: DistributedOptimizer(overlap=False), one allreduce once every gradient is computed;
- mpi: as overlap, but through MPI's allreduce instead of shared memory (NNPLUG_SHARED_MEMORY=0);
- ideal: every rank trains on its own batch with no allreduce at all: what the cores allow when N ranks
  contend for them (and for memory), so overlap / ideal is what the communication costs.
A block's time is its slowest rank's; medians over the rounds are reported, with the load average. The
allreduce time per step is the time rank 0's training step spent blocked in allreduce (which absorbs
waiting for a slower rank too), and "packed" the bytes it copied into fused buffers (none where the
step computed its gradients in shared memory); "ready" is the fused allreduce of all the gradients with
every rank ready (a barrier first): the exchange itself, packing included.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import LEARNING_RATE, MODELS, MOMENTUM, init_params, synthetic_data  # noqa: E402

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
RESULT = "RESULT "
PHASES = ("solo", "overlap", "blocking", "mpi", "ideal")


def training_step(spec, batch, seed, phase):
    """A step function training the MLP with Momentum on `batch` synthetic rows, as `phase` says."""
    import nnplug as tf
    import nnplug.distributed as dist
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, (None, spec.n_in))
        y = tf.placeholder(tf.int32, (None,))
        h = x
        layers = init_params(spec)
        for i, (w, b) in enumerate(layers):
            h = tf.matmul(h, tf.Variable(w)) + tf.Variable(b)
            h = tf.nn.relu(h) if i < len(layers) - 1 else h
        loss = tf.losses.sparse_softmax_cross_entropy(labels=y, logits=h)
        opt = tf.train.MomentumOptimizer(LEARNING_RATE, MOMENTUM)
        if phase in ("overlap", "blocking", "mpi"):
            opt = dist.DistributedOptimizer(opt, overlap=phase != "blocking")
        train = opt.minimize(loss)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    bx, by = synthetic_data(batch, spec.n_in, spec.n_classes, seed=seed)
    feed = {x: bx, y: by}
    return lambda: sess.run(train, feed)


def rest_until_all_arrive():
    """A barrier that sleeps while it waits, so a rank with nothing to do leaves the cores to the others."""
    from nnplug.distributed import runtime
    j = runtime.job()
    with j.lock:
        request = j.comm.Ibarrier()
    while True:
        with j.lock:
            if request.Test():
                return
        time.sleep(0.0005)


def through(phase):
    """Set the allreduce's transport for `phase`: MPI's own for 'mpi', else the default."""
    from nnplug.distributed import shared
    if phase == "mpi":
        os.environ[shared.ENV] = "0"
    else:
        os.environ.pop(shared.ENV, None)


def worker(args):
    """One rank of the job: every phase's blocks in turn; rank 0 prints the results as one JSON line."""
    import nnplug.distributed as dist
    dist.init()
    spec, n, rank = MODELS[args.model], dist.size(), dist.rank()
    batch = args.batch // n if args.scaling == "strong" else args.batch
    solo_batch = args.batch
    steps = {p: training_step(spec, solo_batch if p == "solo" else batch, rank, p) for p in args.phases
             if p != "solo" or rank == 0}
    for p in args.phases:
        through(p)
        rest_until_all_arrive()
        for _ in range(args.warmup if p in steps else 0):
            steps[p]()
    seconds = {p: np.zeros(args.rounds) for p in args.phases}
    stats = {p: {"seconds": 0.0, "buffers": 0, "bytes": 0, "packed": 0} for p in args.phases}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        turn = r % len(args.phases)  # each round starts with the next phase: no phase always follows another
        for p in args.phases[turn:] + args.phases[:turn]:
            through(p)
            rest_until_all_arrive()
            dist.STATS.reset()
            start = time.perf_counter()
            for _ in range(args.block if p in steps else 0):
                steps[p]()
            seconds[p][r] = time.perf_counter() - start
            for key in stats[p]:
                stats[p][key] += dist.stats()[key]
    through("overlap")
    slowest = {p: dist.allreduce(seconds[p], op=dist.Max, name=f"{p} seconds") for p in args.phases}
    ready = ready_allreduce_ms(spec)
    if rank == 0:
        print(RESULT + json.dumps(result_row(args, n, batch, slowest, stats, ready, loads)), flush=True)


def result_row(args, n, batch, slowest, stats, ready, loads):
    """The job's numbers: per phase, the median over rounds and the allreduce cost per step."""
    row = {"ranks": n, "scaling": args.scaling, "batch_per_rank": batch, "solo_batch": args.batch,
           "block_steps": args.block, "rounds": args.rounds, "allreduce_ready_ms": ready,
           "load_average_1min": [round(x, 2) for x in loads], "phases": {}}
    total_steps = args.block * args.rounds
    for p, secs in slowest.items():
        rows_per_step = args.batch if p == "solo" else n * batch
        per_round = rows_per_step * args.block / secs
        row["phases"][p] = {
            "steps_per_s": float(np.median(args.block / secs)), "samples_per_s": float(np.median(per_round)),
            "samples_per_s_rounds": [round(float(x), 1) for x in per_round],
            "allreduce_ms_per_step": stats[p]["seconds"] / total_steps * 1e3,
            "fused_buffers_per_step": stats[p]["buffers"] / total_steps,
            "allreduce_bytes_per_step": stats[p]["bytes"] // total_steps,
            "packed_bytes_per_step": stats[p]["packed"] // total_steps}
    if "solo" in slowest:
        solo = slowest["solo"]
        for p, secs in slowest.items():  # each round against that round's solo block: the same load
            rows_per_step = args.batch if p == "solo" else n * batch
            eff = (rows_per_step / secs) / (n * args.batch / solo)
            row["phases"][p]["efficiency"] = float(np.median(eff))
            row["phases"][p]["efficiency_rounds"] = [round(float(e), 3) for e in eff]
    return row


def ready_allreduce_ms(spec, repeats=15):
    """Median ms of the fused allreduce of all the gradients when every rank is ready (a barrier first):
    what the exchange itself costs, without the waiting for a slower rank that a training step absorbs."""
    from nnplug.distributed import collectives, runtime, shared
    grads = [a for wb in init_params(spec) for a in wb]
    job = runtime.job()
    workspace, comm, times = collectives.Workspace("ready", shared.usable(job)), job.comm, []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        collectives.allreduce(grads, check=False, workspace=workspace)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def run_job(mpiexec, n, args):
    cmd = [mpiexec, *args.mpiexec_args.split(), "-n", str(n), sys.executable, os.path.abspath(__file__), "--worker",
           "--model", args.model, "--scaling", args.scaling, "--batch", str(args.batch), "--block", str(args.block),
           "--rounds", str(args.rounds), "--warmup", str(args.warmup), "--phases", *args.phases]
    env = {**os.environ, **ONE_THREAD}
    if args.threshold is not None:
        env["NNPLUG_FUSION_THRESHOLD"] = str(args.threshold)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    rows = [json.loads(line[len(RESULT):]) for line in out.stdout.splitlines() if line.startswith(RESULT)]
    if out.returncode != 0 or len(rows) != 1:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    return rows[0]


def report(row):
    n, lines = row["ranks"], []
    solo = row["phases"].get("solo")
    for p, ph in row["phases"].items():
        who = "1 rank " if p == "solo" else f"{n} ranks"
        line = (f"{who} {p:8s} {ph['steps_per_s']:6.2f} steps/s {ph['samples_per_s']:7.0f} samples/s  allreduce "
                f"{ph['allreduce_ms_per_step']:5.2f} ms/step in {ph['fused_buffers_per_step']:g} buffer(s), "
                f"{ph['packed_bytes_per_step'] / 2**20:.2f} MiB packed")
        if solo is not None and p != "solo":
            rounds = ", ".join(f"{e:.2f}" for e in ph["efficiency_rounds"])
            line += f"  efficiency {ph['efficiency']:.3f} (rounds: {rounds})"
        lines.append(line)
    ideal = row["phases"].get("ideal")
    for p in ("overlap", "blocking", "mpi"):
        if ideal is not None and p in row["phases"]:
            ratios = np.array(row["phases"][p]["samples_per_s_rounds"]) / np.array(ideal["samples_per_s_rounds"])
            lines.append(f"{n} ranks {p}: {np.median(ratios):.3f} of the ideal (allreduce-free) throughput "
                         f"(median over rounds)")
    lines.append(f"fused allreduce of all gradients with every rank ready (shared memory): "
                 f"{row['allreduce_ready_ms']:.2f} ms; load average (1 min) per round: {row['load_average_1min']}")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[2], help="job sizes to time, each against one rank")
    p.add_argument("--phases", nargs="+", default=list(PHASES), choices=PHASES, help="what to time (default: all)")
    p.add_argument("--rounds", type=int, default=8, help="rounds of one block per phase (default 8)")
    p.add_argument("--block", type=int, default=5, help="training steps per block (default 5)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps of each phase first (default 3)")
    p.add_argument("--batch", type=int, default=MODELS["wide"].batch,
                   help="rows per rank per step (weak scaling) or per step in all (strong); default 256")
    p.add_argument("--scaling", choices=("weak", "strong"), default="weak", help="see above (default weak)")
    p.add_argument("--threshold", type=int, default=None, help="NNPLUG_FUSION_THRESHOLD for the jobs (bytes)")
    p.add_argument("--mpiexec-args", default="", help="extra mpiexec arguments, e.g. '-bind-to core'")
    p.add_argument("--model", default="wide", choices=sorted(MODELS), help="benchmark MLP (default: wide)")
    p.add_argument("--json", help="also write every job's numbers to this JSON file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one rank, under mpiexec
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if any(n < 2 for n in args.ranks):
        p.error("--ranks: job sizes of 2 or more (each job times one rank alone too)")
    from nnplug.distributed.launch import find_mpiexec
    mpiexec = find_mpiexec()
    per = "rows per rank" if args.scaling == "weak" else "rows per step, split over the ranks"
    print(f"{args.model} MLP {MODELS[args.model].sizes}, {args.batch} {per}, one BLAS thread per rank; "
          f"{args.rounds} rounds of {args.block}-step blocks; efficiency = samples/s(N) / (N x samples/s(1))")
    rows = []
    for n in args.ranks:
        rows.append(run_job(mpiexec, n, args))
        for line in report(rows[-1]):
            print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
