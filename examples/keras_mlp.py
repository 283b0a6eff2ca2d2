"""The chapter's Keras MNIST classifier: 784-50-50-10 (tanh, tanh, softmax), SGD with momentum and decay.

    python examples/keras_mlp.py                   # the chapter's run: 50 epochs, ~96.5 % test accuracy
    python examples/keras_mlp.py --epochs 5 --out /tmp/keras-mlp

Reads MNIST from --data (default: $NNPLUG_DATA_DIR, else ../shared/data/mnist beside the repository) and
writes the loss curves to --out/keras_mlp_loss.png when matplotlib is installed. Prints the backend and device
it trains on first; a backend whose extra is not installed is reported before any data is read.
"""
import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

import nnplug as tf
from nnplug import keras
from nnplug.datasets import mnist

REPO = Path(__file__).resolve().parents[1]


def default_data_dir():
    env = os.environ.get("NNPLUG_DATA_DIR")
    return env if env else str(REPO.parent / "shared" / "data" / "mnist")


# the pip extra (pyproject.toml's optional-dependencies) and the module that extra brings, per backend
BACKEND_EXTRAS = {"cupy": ("cuda", "cupy"), "opencl": ("opencl", "pyopencl")}


def choose_backend(name):
    """Select and start the backend now (--backend, else NNPLUG_BACKEND, else numpy): a missing library is
    reported here, with the install commands, before any data is read. Returns its description."""
    try:
        if name:
            tf.set_backend(name)
        return tf.get_backend().describe()
    except tf.errors.BackendError as e:
        chosen = name or tf.plugins.current_backend_name()
        extra, module = BACKEND_EXTRAS.get(tf.plugins.parse_name(chosen)[0], (None, None))
        hint = ""
        if extra and importlib.util.find_spec(module) is None:
            hint = (f"\nInstall its extra: pip install -e \".[{extra}]\"  (in a clone of nnplug)\n"
                    f"               or: pip install \"nnplug[{extra}]\"")
        sys.exit(f"cannot use backend '{chosen}': {e}{hint}")


def build_model(n_features, n_classes):
    """The chapter's network, layer by layer, with its initializers."""
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(units=50, input_dim=n_features, kernel_initializer="glorot_uniform",
                                 bias_initializer="zeros", activation="tanh"))
    model.add(keras.layers.Dense(units=50, input_dim=50, kernel_initializer="glorot_uniform",
                                 bias_initializer="zeros", activation="tanh"))
    model.add(keras.layers.Dense(units=n_classes, input_dim=50, kernel_initializer="glorot_uniform",
                                 bias_initializer="zeros", activation="softmax"))
    sgd_optimizer = keras.optimizers.SGD(lr=0.001, decay=1e-7, momentum=.9)
    model.compile(optimizer=sgd_optimizer, loss="categorical_crossentropy")
    return model


def plot_losses(history, out_dir):
    """Training and validation loss per epoch, as a PNG; skipped (with a note) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; skipping the loss plot (pip install matplotlib)")
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history["loss"], label="training loss")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], label="validation loss")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Categorical cross-entropy")
    ax.legend()
    fig.tight_layout()
    path = out / "keras_mlp_loss.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def make_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=default_data_dir(),
                   help="folder with the MNIST IDX files (.gz or raw); default: %(default)s")
    p.add_argument("--epochs", type=int, default=50, help="training epochs (default: %(default)s, the chapter's)")
    p.add_argument("--batch-size", type=int, default=64, help="samples per training step (default: %(default)s)")
    p.add_argument("--seed", type=int, default=123,
                   help="seed of NumPy and nnplug, so a run is repeatable (default: %(default)s)")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                   help="fit's output: 0 none, 1 a progress bar (one line per epoch when not on a terminal), "
                        "2 one line per epoch (default: %(default)s)")
    p.add_argument("--out", default="keras_mlp_out", help="folder for the loss plot (default: %(default)s)")
    p.add_argument("--backend", default=None,
                   help="backend to train on: numpy, cuda (CuPy), opencl, optionally with a device as in "
                        "cuda:1 (default: $NNPLUG_BACKEND, else numpy)")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    print(f"Backend: {choose_backend(args.backend)}")

    x_train, y_train = mnist.load_mnist(args.data, kind="train")
    x_test, y_test = mnist.load_mnist(args.data, kind="t10k")
    # the chapter centres each pixel by the training mean and divides by the training set's spread
    mean_vals, std_val = np.mean(x_train, axis=0), np.std(x_train)
    x_train_centered = ((x_train - mean_vals) / std_val).astype(np.float32)
    x_test_centered = ((x_test - mean_vals) / std_val).astype(np.float32)
    print(f"Rows: {x_train.shape[0]}, columns: {x_train.shape[1]}")
    print(f"Rows: {x_test.shape[0]}, columns: {x_test.shape[1]}")

    np.random.seed(args.seed)
    tf.set_random_seed(args.seed)
    y_train_onehot = keras.utils.to_categorical(y_train)
    print("First 3 labels: ", y_train[:3])
    print("\nFirst 3 labels (one-hot):\n", y_train_onehot[:3])

    model = build_model(x_train_centered.shape[1], y_train_onehot.shape[1])
    model.summary()
    start = time.perf_counter()
    history = model.fit(x_train_centered, y_train_onehot, batch_size=args.batch_size, epochs=args.epochs,
                        verbose=args.verbose, validation_split=0.1)
    seconds = time.perf_counter() - start

    y_train_pred = model.predict_classes(x_train_centered, verbose=0)
    print("First 3 predictions: ", y_train_pred[:3])
    train_acc = np.sum(y_train == y_train_pred, axis=0) / y_train.shape[0]
    print(f"Training accuracy: {train_acc * 100:.2f}%")
    y_test_pred = model.predict_classes(x_test_centered, verbose=0)
    test_acc = np.sum(y_test == y_test_pred, axis=0) / y_test.shape[0]
    print(f"Test accuracy: {test_acc * 100:.2f}%")
    if args.epochs:
        print(f"Training time: {seconds:.1f} s, {seconds / args.epochs:.2f} s per epoch")
    path = plot_losses(history.history, args.out) if args.epochs else None
    if path:
        print(f"Loss curves: {path}")
    return test_acc


if __name__ == "__main__":
    main()
