"""A Keras LSTM that reads each MNIST image as a sequence: 28 steps of 28 pixels, LSTM(128) -> Dense(10).

    python examples/keras_lstm.py                   # 5 epochs of Adam: >= 97 % test accuracy
    python examples/keras_lstm.py --epochs 1 --units 64 --train-rows 12000

Each image's rows are the time steps (a row of 28 pixels per step); the LSTM's last output goes to a softmax
over the 10 digits. Reads MNIST from --data (default: $NNPLUG_DATA_DIR, else ../shared/data/mnist beside
the repository). Prints the backend it trains on first, a progress bar per epoch, and the test accuracy.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the MLP example's backend and data helpers
from keras_mlp import choose_backend, default_data_dir  # noqa: E402

import nnplug as tf  # noqa: E402
from nnplug import keras  # noqa: E402
from nnplug.datasets import mnist  # noqa: E402

STEPS = FEATURES = 28  # an image's 28 rows of 28 pixels


def load(data_dir, kind, rows=None):
    """Images as [n, 28 steps, 28 pixels] float32 in [0, 1], and their labels."""
    x, y = mnist.load_mnist(data_dir, kind=kind)  # pixels scaled to [-1, 1], as the chapter has them
    if rows is not None:
        x, y = x[:rows], y[:rows]
    return ((x.reshape(-1, STEPS, FEATURES) + 1.0) / 2.0).astype(np.float32), y.astype(np.int32)


def build_model(units, learning_rate):
    model = keras.Sequential([
        keras.layers.LSTM(units, input_shape=(STEPS, FEATURES)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def make_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=default_data_dir(),
                   help="folder with the MNIST IDX files (.gz or raw); default: %(default)s")
    p.add_argument("--epochs", type=int, default=5, help="training epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=128, help="images per training step (default: %(default)s)")
    p.add_argument("--units", type=int, default=128, help="LSTM units (default: %(default)s)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--train-rows", type=int, default=None,
                   help="train on the first N training images only, for a quick run (default: all 60000)")
    p.add_argument("--seed", type=int, default=123, help="random seed of NumPy's and nnplug's draws, for "
                                                           "repeatable runs (default: %(default)s)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                   help="0: quiet, 1: a progress bar per epoch (a line per epoch when the output is not a "
                        "terminal), 2: a line per epoch (default: %(default)s)")
    p.add_argument("--backend", default=None,
                   help="numpy, opencl or cuda, with a device number if wanted (cuda:1); default: "
                        "$NNPLUG_BACKEND, else numpy")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    print(f"Backend: {choose_backend(args.backend)}")
    x_train, y_train = load(args.data, "train", args.train_rows)
    x_test, y_test = load(args.data, "t10k")
    print(f"Training sequences: {x_train.shape}, test sequences: {x_test.shape}")
    np.random.seed(args.seed)
    tf.set_random_seed(args.seed)
    model = build_model(args.units, args.learning_rate)
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"Test loss: {loss:.4f}, test accuracy: {accuracy * 100:.2f}%")
    if args.epochs:
        print(f"Training time: {seconds:.1f} s, {seconds / args.epochs:.1f} s per epoch")
    return accuracy


if __name__ == "__main__":
    main()
