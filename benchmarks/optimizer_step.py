"""One optimizer step alone, the numpy backend's fused update kernels against the expansion into primitives,
in one process (both sessions timed in turn; the best of the rounds, so other load on the machine counts
as little as it can).

    python benchmarks/optimizer_step.py                        # chapter and wide shapes, every optimizer
    python benchmarks/optimizer_step.py --model wide --optimizers momentum adam

The step is `apply_gradients` on the benchmark MLP's weights and biases (benchmarks/common.MODELS) with the
gradients fed: Session.run, the update of every variable and its slots, nothing else.
"""
import argparse
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import MODELS  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda tf: tf.train.GradientDescentOptimizer(0.01),
    "momentum": lambda tf: tf.train.MomentumOptimizer(0.01, 0.9),
    "adam": lambda tf: tf.train.AdamOptimizer(0.001),
    "rmsprop": lambda tf: tf.train.RMSPropOptimizer(0.001, momentum=0.9),
    "adagrad": lambda tf: tf.train.AdagradOptimizer(0.01),
}


def shapes(spec):
    return [s for n_in, n_out in zip(spec.sizes[:-1], spec.sizes[1:]) for s in ((n_in, n_out), (n_out,))]


def step(backend, spec, optimizer):
    """run() -> one optimizer step of `optimizer` on `spec`'s variables, in a session on `backend`."""
    import nnplug as tf
    rng = np.random.default_rng(0)
    g = tf.Graph()
    with g.as_default():
        variables = [tf.Variable(rng.standard_normal(s).astype(np.float32)) for s in shapes(spec)]
        grads = [tf.placeholder(tf.float32, s) for s in shapes(spec)]
        train = OPTIMIZERS[optimizer](tf).apply_gradients(list(zip(grads, variables)))
        sess = tf.Session(graph=g, backend=backend)
        sess.run(tf.global_variables_initializer())
    feed = {p: rng.standard_normal(s).astype(np.float32) * 1e-3 for p, s in zip(grads, shapes(spec))}
    return lambda: sess.run(train, feed)


def best_of(runs, steps, rounds):
    """{name: best seconds per step} over `rounds` blocks of `steps` steps, the runs taken in turn."""
    best = {name: float("inf") for name in runs}
    for run in runs.values():
        run()
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                run()
            best[name] = min(best[name], (time.perf_counter() - t0) / steps)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", default=["chapter", "wide"], choices=["chapter", "wide"])
    p.add_argument("--optimizers", nargs="+", default=list(OPTIMIZERS), choices=list(OPTIMIZERS))
    p.add_argument("--rounds", type=int, default=30)
    args = p.parse_args(argv)
    from nnplug_numpy import jit
    from nnplug_numpy.backend import NumpyBackend, expanding_backend
    print(f"# numba: {'on' if jit.numba() is not None else 'off (NumPy ufunc forms)'}; load {os.getloadavg()[0]:.1f}")
    print(f"{'model':8} {'optimizer':9} {'fused us':>10} {'expanded us':>12} {'speed-up':>9}")
    for name in args.model:
        spec = MODELS[name]
        steps = 50 if name == "chapter" else 2
        for opt in args.optimizers:
            best = best_of({"fused": step(NumpyBackend(), spec, opt), "expanded": step(expanding_backend(), spec, opt)},
                           steps, args.rounds)
            print(f"{name:8} {opt:9} {best['fused'] * 1e6:10.1f} {best['expanded'] * 1e6:12.1f} "
                  f"{best['expanded'] / best['fused']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
