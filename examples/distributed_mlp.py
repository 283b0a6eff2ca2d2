"""The chapter's Keras MNIST classifier (784-50-50-10 tanh, SGD with momentum and decay) trained data-parallel.

    nnplug launch -n 2 examples/distributed_mlp.py --epochs 5
    mpiexec -n 2 python examples/distributed_mlp.py --epochs 5          # the same, by hand

Horovod's recipe: every rank loads the data and trains on its own shard of the training set with batches
of --batch-size rows (so the global batch is batch size x ranks); gradients are averaged over ranks every
step; the learning rate is scaled by the number of ranks, optionally warmed up over the first epochs;
rank 0's initial weights are broadcast to all ranks, and only rank 0 prints progress and the test accuracy.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import nnplug as tf
import nnplug.distributed.keras as hvd
from nnplug import keras
from nnplug.datasets import mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from keras_mlp import build_model, default_data_dir  # noqa: E402 - the chapter's model and data folder


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=default_data_dir(), help="folder with the MNIST IDX files (.gz or raw)")
    p.add_argument("--epochs", type=int, default=50, help="passes over each rank's shard (default 50, the chapter's)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per step on each rank (default 64)")
    p.add_argument("--lr", type=float, default=0.001,
                   help="learning rate for one rank; it is multiplied by the number of ranks (default 0.001)")
    p.add_argument("--warmup-epochs", type=float, default=0,
                   help="epochs over which the learning rate grows from --lr to --lr x ranks (default 0: none)")
    p.add_argument("--train-rows", type=int, default=None,
                   help="use only the first N training rows, for a quick run (default: all 60000)")
    p.add_argument("--seed", type=int, default=123, help="random seed; each rank adds its rank to it (default 123)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="Keras progress output on rank 0")
    p.add_argument("--backend", default=None, help="backend name (default: NNPLUG_BACKEND or numpy)")
    args = p.parse_args(argv)
    if args.backend:
        tf.set_backend(args.backend)
    hvd.init()
    rank, size = hvd.rank(), hvd.size()

    x_train, y_train = mnist.load_mnist(args.data, kind="train")
    x_test, y_test = mnist.load_mnist(args.data, kind="t10k")
    if args.train_rows:
        x_train, y_train = x_train[:args.train_rows], y_train[:args.train_rows]
    # the chapter centres each pixel by the training mean and divides by the training set's spread
    mean_vals, std_val = np.mean(x_train, axis=0), np.std(x_train)
    x_train_centered = ((x_train - mean_vals) / std_val).astype(np.float32)
    x_test_centered = ((x_test - mean_vals) / std_val).astype(np.float32)
    y_train_onehot = keras.utils.to_categorical(y_train, 10)
    x_mine, y_mine = hvd.shard(x_train_centered, y_train_onehot)
    if rank == 0:
        print(f"{size} ranks, {len(x_mine)} training rows on rank 0, global batch {args.batch_size * size}")

    np.random.seed(args.seed + rank)  # each rank shuffles its shard its own way
    tf.set_random_seed(args.seed + rank)  # and draws its own initial weights, replaced by rank 0's
    model = build_model(x_train_centered.shape[1], y_train_onehot.shape[1])
    sgd = keras.optimizers.SGD(lr=args.lr * size, decay=1e-7, momentum=.9)
    model.compile(optimizer=hvd.DistributedOptimizer(sgd), loss="categorical_crossentropy")
    callbacks = [hvd.callbacks.BroadcastGlobalVariablesCallback(0), hvd.callbacks.MetricAverageCallback()]
    if args.warmup_epochs > 0:
        callbacks.append(hvd.callbacks.LearningRateWarmupCallback(warmup_epochs=args.warmup_epochs, verbose=1))
    hvd.STATS.reset()
    start = time.perf_counter()
    model.fit(x_mine, y_mine, batch_size=args.batch_size, epochs=args.epochs, verbose=hvd.verbose(args.verbose),
              validation_split=0.1, callbacks=callbacks)
    seconds = time.perf_counter() - start

    if rank == 0:  # every rank holds the same weights; one evaluates them
        y_test_pred = np.argmax(model.predict(x_test_centered), axis=-1)
        print(f"Test accuracy: {np.mean(y_test == y_test_pred) * 100:.2f}%")
        stats = hvd.STATS
        if stats.calls:
            per_step = stats.seconds / stats.calls * 1e3
            print(f"Training time: {seconds:.1f} s; {stats.calls} steps, allreduce {per_step:.2f} ms per step in "
                  f"{stats.buffers / stats.calls:g} fused buffer(s) of {stats.bytes // stats.calls} bytes")
        else:
            print(f"Training time: {seconds:.1f} s (one rank: no allreduce)")


if __name__ == "__main__":
    main()
