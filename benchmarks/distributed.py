"""Data-parallel scaling of the wide MLP (784-1024-1024-10 ReLU) over MPI ranks on this machine.

    python benchmarks/distributed.py                        # 1 and 2 ranks, three rounds
    python benchmarks/distributed.py --ranks 1 2 4 --rounds 1 --steps 20 --json scaling.json

Weak scaling, as Horovod reports it: every rank keeps a batch of 256 rows (so N ranks train on a global
batch of 256 N), throughput is samples/s over the whole job, and scaling efficiency is
throughput(N) / (N x throughput(1)). Each rank runs one BLAS thread (OPENBLAS_NUM_THREADS=1 and friends),
the same in every configuration, so N ranks need N free cores. Every configuration runs in its own
`mpiexec` job; the machine's load average is printed before each, since a shared machine's other work
skews the numbers. A rank's time per step splits into its compute and the gradients' allreduce, which
also absorbs waiting for the slowest rank; the allreduce time and the fused-buffer count are per step.
With one rank DistributedOptimizer adds no allreduce (as Horovod), so that is plain training. Where other
work holds the cores, the measured efficiency says little; "projected" efficiency is one rank's step time
over that plus the fused allreduce timed with every rank ready (a barrier first): what a free core per
rank would give if the ranks' compute did not slow each other (it ignores shared memory bandwidth).
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


def training_step(spec, batch, seed):
    """(session, step fn) of the MLP with DistributedOptimizer(Momentum), fed this rank's synthetic rows."""
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
        train = dist.DistributedOptimizer(tf.train.MomentumOptimizer(LEARNING_RATE, MOMENTUM)).minimize(loss)
        init = tf.global_variables_initializer()
    sess = tf.Session(graph=graph)
    sess.run(init)
    bx, by = synthetic_data(batch, spec.n_in, spec.n_classes, seed=seed)
    feed = {x: bx, y: by}
    return sess, lambda: sess.run(train, feed)


def worker(args):
    """One rank: warm up, time --steps steps, and (rank 0) print the job's numbers as one JSON line."""
    import nnplug.distributed as dist
    dist.init()
    spec = MODELS[args.model]
    _, step = training_step(spec, args.batch, seed=dist.rank())
    for _ in range(args.warmup):
        step()
    dist.STATS.reset()
    dist.allreduce(np.zeros(1), name="start line")  # every rank starts the clock together
    dist.STATS.reset()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    stats = dist.stats()  # the training steps' allreduces only
    elapsed = float(dist.allreduce(np.array(seconds), op=dist.Max, name="elapsed"))  # the slowest rank's time
    ready = ready_allreduce_ms(spec) if dist.size() > 1 else 0.0
    if dist.rank() == 0:
        n = dist.size()
        row = {"ranks": n, "batch_per_rank": args.batch, "steps": args.steps, "seconds": elapsed,
               "steps_per_s": args.steps / elapsed, "samples_per_s": n * args.batch * args.steps / elapsed,
               "ms_per_step": elapsed / args.steps * 1e3,
               "allreduce_ms_per_step": stats["seconds"] / args.steps * 1e3,
               "fused_buffers_per_step": stats["buffers"] / args.steps,
               "allreduce_bytes_per_step": stats["bytes"] // args.steps, "allreduce_ready_ms": ready}
        print(RESULT + json.dumps(row), flush=True)


def ready_allreduce_ms(spec, repeats=15):
    """Median ms of the step's fused allreduce when every rank is ready (a barrier first): what the gradient
    exchange itself costs, without the waiting for a slower rank that the training steps' allreduce absorbs."""
    from nnplug.distributed import collectives, runtime
    grads = [a for wb in init_params(spec) for a in wb]
    workspace, comm, times = collectives.Workspace(), runtime.job().comm, []
    for _ in range(repeats):
        comm.Barrier()
        start = time.perf_counter()
        collectives.allreduce(grads, check=False, workspace=workspace)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def run_job(mpiexec, n, args):
    cmd = [mpiexec, "-n", str(n), sys.executable, os.path.abspath(__file__), "--worker", "--model", args.model,
           "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    out = subprocess.run(cmd, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, timeout=600)
    rows = [json.loads(line[len(RESULT):]) for line in out.stdout.splitlines() if line.startswith(RESULT)]
    if out.returncode != 0 or len(rows) != 1:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    return rows[0]


def load():
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="job sizes to time (default: 1 2)")
    p.add_argument("--rounds", type=int, default=3, help="times to run every job size, in turn (default 3)")
    p.add_argument("--steps", type=int, default=30, help="timed training steps per job (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--batch", type=int, default=MODELS["wide"].batch, help="rows per rank per step (default 256)")
    p.add_argument("--model", default="wide", choices=sorted(MODELS), help="benchmark MLP (default: wide)")
    p.add_argument("--json", help="also write every measurement to this JSON file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # one rank, under mpiexec
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)
    if 1 not in args.ranks:
        p.error("--ranks must include 1: efficiency is measured against one rank")
    from nnplug.distributed.launch import find_mpiexec
    mpiexec = find_mpiexec()
    print(f"{args.model} MLP {MODELS[args.model].sizes}, {args.batch} rows per rank, one BLAS thread per rank, "
          f"{args.steps} steps per job; weak scaling efficiency = samples/s(N) / (N x samples/s(1))")
    rounds = []
    for r in range(args.rounds):
        rows = {}
        for n in args.ranks:
            before = load()
            rows[n] = run_job(mpiexec, n, args)
            rows[n]["load_before"] = before
            row = rows[n]
            print(f"round {r + 1}  {n} rank{'s' if n > 1 else ' '}  {row['samples_per_s']:8.0f} samples/s  "
                  f"{row['steps_per_s']:6.2f} steps/s  {row['ms_per_step']:6.1f} ms/step  allreduce "
                  f"{row['allreduce_ms_per_step']:5.2f} ms/step in {row['fused_buffers_per_step']:g} buffer(s)  "
                  f"[{before}]", flush=True)
        for n in args.ranks:
            rows[n]["efficiency"] = rows[n]["samples_per_s"] / (n * rows[1]["samples_per_s"])
            one = rows[1]["ms_per_step"]
            rows[n]["projected_efficiency"] = one / (one + rows[n]["allreduce_ready_ms"])
        for n in [n for n in args.ranks if n > 1]:
            print(f"round {r + 1}  {n} ranks: efficiency {rows[n]['efficiency']:.3f} measured; "
                  f"{rows[n]['projected_efficiency']:.3f} with a free core per rank (one rank's step, "
                  f"{rows[1]['ms_per_step']:.1f} ms, plus the allreduce of ready ranks, "
                  f"{rows[n]['allreduce_ready_ms']:.2f} ms)")
        rounds.append(rows)
    for n in args.ranks:
        if n > 1:
            for key in ("efficiency", "projected_efficiency"):
                eff = sorted(rows[n][key] for rows in rounds)
                print(f"{n} ranks: {key.replace('_', ' ')} median {eff[len(eff) // 2]:.3f} "
                      f"(all: {', '.join(f'{e:.3f}' for e in eff)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{str(n): row for n, row in rows.items()} for rows in rounds], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
