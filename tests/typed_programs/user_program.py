"""A typed program written as a user would: a two-layer MLP in TF1 style (placeholders, tf.layers, a Session)
and the same classifier in Keras, Sequential and functional; a tf.while_loop filling a TensorArray, and an
LSTM cell under dynamic_rnn. tests/test_typing.py type-checks it with mypy against nnplug (no error allowed)
and runs it."""
from __future__ import annotations

import numpy as np

import nnplug as tf
from nnplug import keras


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two well-separated Gaussian blobs in 2-D: class 0 around (-2, -2), class 1 around (2, 2)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    points = rng.normal(0.0, 0.7, (n, 2)) + np.where(labels[:, None] == 1, 2.0, -2.0)
    return points.astype(np.float32), labels.astype(np.int32)


def mlp(x: tf.Tensor, hidden: int, classes: int) -> tf.Tensor:
    h = tf.layers.dense(x, hidden, activation=tf.nn.relu, name="hidden")
    return tf.layers.dense(h, classes, name="logits")


def train_tf1(xs: np.ndarray, ys: np.ndarray, steps: int = 60) -> float:
    """Full-batch gradient descent; returns the training accuracy."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, shape=(None, xs.shape[1]), name="x")
        y = tf.placeholder(tf.int32, shape=(None,), name="y")
        logits = mlp(x, 16, 2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        step = tf.train.get_or_create_global_step()
        train: tf.Operation = tf.train.GradientDescentOptimizer(0.3).minimize(loss, global_step=step)
        hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), y)
        accuracy = tf.reduce_mean(tf.cast(hits, tf.float32))
        feed = {x: xs, y: ys}
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train, feed)
            assert int(sess.run(step)) == steps  # minimize counted the steps
            return float(sess.run(accuracy, feed))


def train_keras(xs: np.ndarray, ys: np.ndarray, epochs: int = 15) -> tuple[float, float]:
    """The same classifier twice in Keras; returns both models' training accuracies."""
    sequential = keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(xs.shape[1],)),
        keras.layers.Dense(2, activation="softmax"),
    ])
    inputs = keras.Input(shape=(xs.shape[1],))
    hidden = keras.layers.Dense(16, activation=tf.nn.relu)(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))
    accuracies = []
    for model in (sequential, functional):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        history: keras.callbacks.History = model.fit(xs, ys, epochs=epochs, batch_size=32, verbose=0)
        assert len(history.history["loss"]) == epochs
        accuracies.append(float(model.evaluate(xs, ys, verbose=0)[1]))
    return accuracies[0], accuracies[1]


def running_sums(xs: np.ndarray) -> np.ndarray:
    """The running sums of xs's rows, by a tf.while_loop over a row count known only at run time that writes
    each step's sum into a TensorArray."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, xs.shape[1]), name="x")
        n = tf.shape(x)[0]

        def body(i: tf.Tensor, total: tf.Tensor, sums: tf.TensorArray) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
            total = total + tf.gather(x, i)
            return i + 1, total, sums.write(i, total)

        start = [tf.constant(0), tf.zeros([xs.shape[1]]), tf.TensorArray(tf.float32, size=n)]
        _, _, sums = tf.while_loop(lambda i, total, sums: i < n, body, start)
        stacked: tf.Tensor = sums.stack()
        with tf.Session(graph=graph) as sess:
            return sess.run(stacked, {x: xs})


def lstm_last_step(xs: np.ndarray, units: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """An LSTM cell under dynamic_rnn over [batch, time, depth] sequences of a length known only at run time:
    (the outputs at the last step, the final state's h), which TF1 defines to be the same."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(2)
        x = tf.placeholder(tf.float32, shape=(None, None, xs.shape[2]), name="sequences")
        cell = tf.nn.rnn_cell.LSTMCell(units)
        outputs, state = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            out, h = sess.run([outputs, state.h], {x: xs})
            return out[:, -1], h


if __name__ == "__main__":
    points, classes = blobs(256)
    print("TF1 accuracy", train_tf1(points, classes), "Keras accuracies", train_keras(points, classes))
