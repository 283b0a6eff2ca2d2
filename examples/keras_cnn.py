"""The classic Keras MNIST convnet: conv 3x3x32 - conv 3x3x64 - max-pool 2 - dropout - dense 128 - dropout -
dense 10 (ReLU, softmax), trained with Adam on pixels scaled to [0, 1].

    python examples/keras_cnn.py                    # 12 epochs (Keras's example), about 99.2 % test accuracy
    python examples/keras_cnn.py --epochs 2 --limit 6000
    NNPLUG_BACKEND=opencl python examples/keras_cnn.py --epochs 1

Reads MNIST from --data (default: $NNPLUG_DATA_DIR, else ../shared/data/mnist beside the repository). Prints
the backend it trains on, a progress bar per epoch, then the test loss and accuracy and the training time.
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
from nnplug.datasets.mnist import load_data  # noqa: E402

L = keras.layers


def build_model(learning_rate, input_shape=(28, 28, 1), n_classes=10):
    """Keras's mnist_cnn.py network, layer by layer."""
    model = keras.models.Sequential([
        L.Conv2D(32, kernel_size=(3, 3), activation="relu", input_shape=input_shape),
        L.Conv2D(64, (3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(128, activation="relu"),
        L.Dropout(0.5),
        L.Dense(n_classes, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  metrics=["accuracy"])
    return model


def load(data_dir, limit):
    """(x_train, y_train, x_test, y_test): images (n, 28, 28, 1) in [0, 1], one-hot labels; `limit` keeps the
    first that many training images (0: all)."""
    (x_train, y_train), (x_test, y_test) = load_data(data_dir, download=False)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]

    def images(x):
        return (x.astype(np.float32) / 255.0)[..., None]
    return (images(x_train), keras.utils.to_categorical(y_train, 10), images(x_test),
            keras.utils.to_categorical(y_test, 10))


def make_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=default_data_dir(),
                   help="folder with the MNIST IDX files (.gz or raw); default: %(default)s")
    p.add_argument("--epochs", type=int, default=12, help="training epochs (default: %(default)s, Keras's)")
    p.add_argument("--batch-size", type=int, default=128, help="samples per training step (default: %(default)s)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--limit", type=int, default=0,
                   help="train on the first N training images only, for a quick run (default: all 60,000)")
    p.add_argument("--seed", type=int, default=123,
                   help="seed of NumPy and nnplug, so a run is repeatable (default: %(default)s)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                   help="fit's output: 0 none, 1 a progress bar (one line per epoch when not on a terminal), "
                        "2 one line per epoch (default: %(default)s)")
    p.add_argument("--backend", default=None,
                   help="backend to train on: numpy, opencl, cuda (CuPy) (default: $NNPLUG_BACKEND, else numpy)")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    print(f"Backend: {choose_backend(args.backend)}")
    x_train, y_train, x_test, y_test = load(args.data, args.limit)
    print(f"x_train shape: {x_train.shape}; {len(x_train)} train samples, {len(x_test)} test samples")
    np.random.seed(args.seed)
    tf.set_random_seed(args.seed)
    model = build_model(args.learning_rate)
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose,
              validation_data=(x_test, y_test))
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {accuracy * 100:.2f}%")
    if args.epochs:
        print(f"Training time: {seconds:.1f} s, {seconds / args.epochs:.1f} s per epoch")
    return accuracy


if __name__ == "__main__":
    main()
