"""The chapter's Layers-API MNIST classifier: 784-50-50-10 with tanh, trained by plain gradient descent.

    python examples/layers_mlp.py --epochs 50            # the chapter's run (learning rate 0.001)
    python examples/layers_mlp.py --epochs 5 --learning-rate 0.05 --backend numpy

Reads MNIST from --data (default: $NNPLUG_DATA_DIR, else ../shared/data/mnist beside the repository).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

import nnplug as tf
from nnplug.datasets import mnist

REPO = Path(__file__).resolve().parents[1]


def default_data_dir():
    env = os.environ.get("NNPLUG_DATA_DIR")
    return env if env else str(REPO.parent / "shared" / "data" / "mnist")


def build(n_features, n_classes, learning_rate, seed):
    """The chapter's graph: placeholders, three dense layers, softmax cross-entropy, a GD step."""
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(seed)
        tf_x = tf.placeholder(dtype=tf.float32, shape=(None, n_features), name="tf_x")
        tf_y = tf.placeholder(dtype=tf.int32, shape=None, name="tf_y")  # as the chapter writes it
        y_onehot = tf.one_hot(indices=tf_y, depth=n_classes)
        h1 = tf.layers.dense(inputs=tf_x, units=50, activation=tf.tanh, name="layer1")
        h2 = tf.layers.dense(inputs=h1, units=50, activation=tf.tanh, name="layer2")
        logits = tf.layers.dense(inputs=h2, units=n_classes, activation=None, name="layer3")
        predictions = {"classes": tf.argmax(logits, axis=1, name="predicted_classes"),
                       "probabilities": tf.nn.softmax(logits, name="softmax_tensor")}
        cost = tf.losses.softmax_cross_entropy(onehot_labels=y_onehot, logits=logits)
        optimizer = tf.train.GradientDescentOptimizer(learning_rate=learning_rate)
        train_op = optimizer.minimize(loss=cost)
        init_op = tf.global_variables_initializer()
    return g, dict(x=tf_x, y=tf_y, cost=cost, train_op=train_op, init_op=init_op, classes=predictions["classes"])


def batches(x, y, batch_size, rng=None):
    """Mini-batches in order, or in a fresh random order each epoch when `rng` is given."""
    idx = rng.permutation(len(x)) if rng is not None else np.arange(len(x))
    for i in range(0, len(x), batch_size):
        j = idx[i:i + batch_size]
        yield x[j], y[j]


def accuracy(sess, m, x, y, batch_size=10000):
    pred = np.concatenate([sess.run(m["classes"], feed_dict={m["x"]: x[i:i + batch_size]})
                           for i in range(0, len(x), batch_size)])
    return float(np.mean(pred == y))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=default_data_dir(), help="folder with the MNIST IDX files (.gz or raw)")
    p.add_argument("--epochs", type=int, default=50, help="passes over the training set (default: 50)")
    p.add_argument("--batch-size", type=int, default=64, help="rows per training step (default: 64)")
    p.add_argument("--learning-rate", type=float, default=0.001, help="step size (default: 0.001, as the chapter)")
    p.add_argument("--seed", type=int, default=123, help="seed for the initial weights and the shuffling")
    p.add_argument("--no-shuffle", action="store_true", help="feed batches in file order, as the chapter does")
    p.add_argument("--backend", default=None, help="nnplug backend (default: NNPLUG_BACKEND or numpy)")
    args = p.parse_args(argv)

    x_train, y_train = mnist.load_mnist(args.data, kind="train")
    x_test, y_test = mnist.load_mnist(args.data, kind="t10k")
    # the chapter centres each pixel and scales by the overall spread of the training set
    mean_vals, std_val = np.mean(x_train, axis=0), np.std(x_train)
    x_train = ((x_train - mean_vals) / std_val).astype(np.float32)
    x_test = ((x_test - mean_vals) / std_val).astype(np.float32)
    print(f"train {x_train.shape}, test {x_test.shape}")

    np.random.seed(args.seed)
    g, m = build(x_train.shape[1], 10, args.learning_rate, args.seed)
    rng = None if args.no_shuffle else np.random.RandomState(args.seed)
    epoch_times = []
    with tf.Session(graph=g, backend=args.backend) as sess:
        sess.run(m["init_op"])
        # the live bar only on a terminal: piped or logged output gets the epoch lines alone, never frames
        bar = tqdm(range(1, args.epochs + 1), desc="epochs", unit="epoch", file=sys.stdout,
                   disable=not sys.stdout.isatty())
        for epoch in bar:
            start = time.perf_counter()
            costs = [sess.run([m["train_op"], m["cost"]], feed_dict={m["x"]: bx, m["y"]: by})[1]
                     for bx, by in batches(x_train, y_train, args.batch_size, rng)]
            epoch_times.append(time.perf_counter() - start)
            bar.set_postfix(loss=f"{np.mean(costs):.4f}")
            tqdm.write(f" -- Epoch {epoch:2d}  Avg. Training Loss: {np.mean(costs):.4f}  "
                       f"({epoch_times[-1]:.2f} s)", file=sys.stdout)
        train_acc = accuracy(sess, m, x_train, y_train)
        test_acc = accuracy(sess, m, x_test, y_test)
    print(f"Training Accuracy: {100 * train_acc:.2f}%")
    print(f"Test Accuracy: {100 * test_acc:.2f}%")
    if epoch_times:
        print(f"mean epoch time: {np.mean(epoch_times):.2f} s")
    return test_acc


if __name__ == "__main__":
    main()
