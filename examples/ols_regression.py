"""The chapter's ordinary-least-squares regression, written against the TF1 API with `import nnplug as tf`.

    python examples/ols_regression.py                       # 10 epochs, plots into the current folder
    python examples/ols_regression.py --epochs 100 --out results --backend opencl

Prints the mean squared error per epoch and, when matplotlib is installed, saves `ols_cost.png` (cost per
epoch) and `ols_fit.png` (the training data and the fitted line) into --out.
"""
import argparse
import os
import sys

import numpy as np

import nnplug as tf

X_TRAIN = np.arange(10).reshape((10, 1))
Y_TRAIN = np.array([1.0, 1.3, 3.1, 2.0, 5.0, 6.3, 6.6, 7.4, 8.0, 9.0])


class TfLinreg(object):
    """The chapter's model: z = w*x + b, mean squared error, plain gradient descent."""

    def __init__(self, x_dim, learning_rate=0.01, random_seed=None):
        self.x_dim = x_dim
        self.learning_rate = learning_rate
        self.g = tf.Graph()
        with self.g.as_default():
            tf.set_random_seed(random_seed)
            self.build()
            self.init_op = tf.global_variables_initializer()

    def build(self, verbose=False):
        self.X = tf.placeholder(dtype=tf.float32, shape=(None, self.x_dim), name='x_input')
        self.y = tf.placeholder(dtype=tf.float32, shape=(None), name='y_input')
        w = tf.Variable(tf.zeros(shape=(1)), name='weight')
        b = tf.Variable(tf.zeros(shape=(1)), name='bias')
        self.z_net = tf.squeeze(w * self.X + b, name='z_net')
        sqr_errors = tf.square(self.y - self.z_net, name='sqr_errors')
        self.mean_cost = tf.reduce_mean(sqr_errors, name='mean_cost')
        optimizer = tf.train.GradientDescentOptimizer(learning_rate=self.learning_rate, name='GradientDescent')
        self.optimizer = optimizer.minimize(self.mean_cost)
        if verbose:  # the chapter prints the graph's tensors as it builds them
            for t in (self.X, self.y, w, b, self.z_net, sqr_errors):
                print(t)


def train_linreg(sess, model, X_train, y_train, num_epochs=10):
    """One full-batch gradient step per epoch; returns the cost of each epoch (before its step)."""
    sess.run(model.init_op)
    training_costs = []
    for i in range(num_epochs):
        _, cost = sess.run([model.optimizer, model.mean_cost], feed_dict={model.X: X_train, model.y: y_train})
        training_costs.append(cost)
    return training_costs


def predict_linreg(sess, model, X_test):
    return sess.run(model.z_net, feed_dict={model.X: X_test})


def save_plots(out, costs, sess, model):
    """Cost per epoch and the fitted line, as PNGs; returns the paths, or [] without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plots (pip install matplotlib)")
        return []
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, "ols_cost.png"), os.path.join(out, "ols_fit.png")]
    fig, ax = plt.subplots()
    ax.plot(range(1, len(costs) + 1), costs)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Training Cost")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.scatter(X_TRAIN, Y_TRAIN, marker="s", s=50, label="Training Data")
    ax.plot(range(X_TRAIN.shape[0]), predict_linreg(sess, model, X_TRAIN), color="gray", marker="o",
            markersize=6, linewidth=3, label="LinReg Model")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    fig.tight_layout()
    fig.savefig(paths[1], dpi=100)
    plt.close(fig)
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10, as the chapter)")
    parser.add_argument("--learning-rate", type=float, default=0.01, help="gradient-descent step size (default: 0.01)")
    parser.add_argument("--out", default=".", help="folder for the PNG plots (default: current folder)")
    parser.add_argument("--backend", default=None, help="nnplug backend (default: NNPLUG_BACKEND or numpy)")
    parser.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")
    args = parser.parse_args(argv)

    lrmodel = TfLinreg(x_dim=X_TRAIN.shape[1], learning_rate=args.learning_rate)
    with tf.Session(graph=lrmodel.g, backend=args.backend) as sess:
        print(f"backend: {sess.backend.describe()}")
        training_costs = train_linreg(sess, lrmodel, X_TRAIN, Y_TRAIN, num_epochs=args.epochs)
        for epoch, cost in enumerate(training_costs, 1):
            print(f"epoch {epoch:4d}  cost {cost:.6f}")
        y_pred = predict_linreg(sess, lrmodel, X_TRAIN)
        print("predictions:", np.round(y_pred, 3))
        paths = [] if args.no_plots else save_plots(args.out, training_costs, sess, lrmodel)
    for p in paths:
        print(f"saved {p}")
    return training_costs


if __name__ == "__main__":
    main()
    sys.exit(0)
