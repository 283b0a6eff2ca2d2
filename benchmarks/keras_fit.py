"""Keras `fit` against the Session loops it replaces, on the chapter MLP, in one run.

    python benchmarks/keras_fit.py                      # 3 epochs of 6400 rows, 5 rounds
    python benchmarks/keras_fit.py --fused both         # also with NNPLUG_FUSED_KERNELS=0 (before/after)
    python benchmarks/keras_fit.py --json out.json

Contenders, each timed over the same epochs in turn (median of the rounds; the machine's load is recorded):
- fit: the chapter's Keras model (examples/keras_mlp.py: 784-50-50-10 tanh/tanh/softmax, SGD momentum 0.9
  with decay, categorical cross-entropy), `model.fit(x, y, batch_size=64, epochs=E, verbose=0)`;
- keras loop: a Session loop over the same model's compiled training step (the fetches fit runs: update,
  loss), batches as fit makes them — what fit costs beyond the steps themselves;
- tf1 loop: the chapter's TF1 program (benchmarks/common.NnplugMLP: tf.layers, softmax cross-entropy,
  MomentumOptimizer), `sess.run([train_op, loss], ...)` per batch as chapter 13 writes it;
- numpy floor: the same arithmetic written by hand in NumPy (benchmarks/common.ArrayFloorMLP), for scale.
Both shuffle settings are measured (`--shuffle`): without, batches are contiguous slices (the chapter's
loop); with, fit and the keras loop gather each epoch's permuted rows. `--clock cpu` times the process's CPU
time instead of the wall clock: steadier on a machine shared with other work, and the same thing when BLAS
runs on one thread (OPENBLAS_NUM_THREADS=1), else it also counts BLAS threads waiting.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import MODELS, ArrayFloorMLP, NnplugMLP, synthetic_data  # noqa: E402

BATCH = 64


def keras_model():
    """The chapter's Keras network and optimizer (examples/keras_mlp.py's build_model)."""
    from nnplug import keras
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(units=50, input_dim=784, kernel_initializer="glorot_uniform", activation="tanh"))
    model.add(keras.layers.Dense(units=50, kernel_initializer="glorot_uniform", activation="tanh"))
    model.add(keras.layers.Dense(units=10, kernel_initializer="glorot_uniform", activation="softmax"))
    model.compile(optimizer=keras.optimizers.SGD(lr=0.001, decay=1e-7, momentum=.9), loss="categorical_crossentropy")
    return model


def contenders(x, y, labels, epochs, shuffle):
    """{name: run} where run() trains `epochs` epochs."""
    model = keras_model()
    model.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, epochs=1, verbose=0)  # builds and compiles the step
    # the step fit runs, reached through the model's internals: a benchmark of fit's own overhead needs them
    sess, step = model._session, model._train
    feeds = (model._x, step.ys[0])  # one input, one output

    def keras_loop():
        for _ in range(epochs):
            idx = np.random.permutation(len(x)) if shuffle else None
            for i in range(0, len(x), BATCH):
                j = idx[i:i + BATCH] if shuffle else slice(i, i + BATCH)
                sess.run(step.train, {feeds[0]: x[j], feeds[1]: y[j]})

    tf1 = NnplugMLP(MODELS["chapter"])

    def tf1_loop():
        for _ in range(epochs):
            for i in range(0, len(x), BATCH):
                tf1.sess.run([tf1.train_op, tf1.loss], {tf1.x: x[i:i + BATCH], tf1.y: labels[i:i + BATCH]})

    floor = ArrayFloorMLP(MODELS["chapter"])

    def floor_loop():
        for _ in range(epochs):
            for i in range(0, len(x), BATCH):
                floor.step(x[i:i + BATCH], labels[i:i + BATCH])

    return {"fit": lambda: model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=shuffle),
            "keras loop": keras_loop, "tf1 loop": tf1_loop, "numpy floor": floor_loop}


def measure(args):
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    x, labels = synthetic_data(args.rows)
    y = np.eye(10, dtype=np.float32)[labels]
    rows = []
    for shuffle in args.shuffle:
        runs = contenders(x, y, labels, args.epochs, shuffle)
        for run in runs.values():  # warm-up: plans compiled, numba loops loaded
            run()
        times = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                t0 = clock()
                run()
                times[name].append(clock() - t0)
        steps = args.epochs * -(-args.rows // BATCH)
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append({"contender": name, "shuffle": shuffle, "steps_per_s": steps / med, "us_per_step":
                         med / steps * 1e6, "times_s": ts, "load": os.getloadavg()[0],
                         "fused_kernels": os.environ.get("NNPLUG_FUSED_KERNELS", "1") != "0", "clock": args.clock})
    return rows


def table(rows):
    lines = [f"{'contender':12} {'shuffle':8} {'fused':6} {'us/step':>9} {'steps/s':>9} {'fit vs it':>10} {'load':>5}"]
    fit = {(r["shuffle"], r["fused_kernels"]): r["steps_per_s"] for r in rows if r["contender"] == "fit"}
    for r in rows:
        ratio = fit[(r["shuffle"], r["fused_kernels"])] / r["steps_per_s"]
        lines.append(f"{r['contender']:12} {str(r['shuffle']):8} {str(r['fused_kernels']):6} {r['us_per_step']:9.1f} "
                     f"{r['steps_per_s']:9.0f} {ratio:9.2f}x {r['load']:5.1f}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=6400, help="rows per epoch (default: 100 batches of 64)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per timed run")
    p.add_argument("--rounds", type=int, default=5, help="timed runs per contender, in turn (median reported)")
    p.add_argument("--shuffle", choices=("no", "yes", "both"), default="both")
    p.add_argument("--fused", choices=("on", "off", "both"), default="on",
                   help="NNPLUG_FUSED_KERNELS for the numpy backend ('both': each in its own process)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # internal: rows as JSON on stdout
    args = p.parse_args(argv)
    args.shuffle = {"no": [False], "yes": [True], "both": [False, True]}[args.shuffle]
    if args.worker:
        print(json.dumps(measure(args)))
        return 0
    rows = []
    for fused in {"on": ["1"], "off": ["0"], "both": ["0", "1"]}[args.fused]:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--rows", str(args.rows), "--epochs",
               str(args.epochs), "--rounds", str(args.rounds), "--clock", args.clock, "--shuffle",
               {(False,): "no", (True,): "yes"}.get(tuple(args.shuffle), "both")]
        done = subprocess.run(cmd, env=dict(os.environ, NNPLUG_FUSED_KERNELS=fused), capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the measuring process failed (NNPLUG_FUSED_KERNELS={fused}):\n{done.stderr}")
        rows.extend(json.loads(done.stdout.splitlines()[-1]))
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
