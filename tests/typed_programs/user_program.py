"""A typed program written as a user would: a two-layer MLP in TF1 style (placeholders, tf.layers, a Session)
and the same classifier in Keras, Sequential and functional. tests/test_typing.py type-checks it with mypy
against nnplug (no error allowed) and runs it."""
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
        train = tf.train.GradientDescentOptimizer(0.3).minimize(loss)
        hits = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), y)
        accuracy = tf.reduce_mean(tf.cast(hits, tf.float32))
        feed = {x: xs, y: ys}
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                sess.run(train, feed)
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
        model.fit(xs, ys, epochs=epochs, batch_size=32, verbose=0)
        accuracies.append(float(model.evaluate(xs, ys, verbose=0)[1]))
    return accuracies[0], accuracies[1]


if __name__ == "__main__":
    points, classes = blobs(256)
    print("TF1 accuracy", train_tf1(points, classes), "Keras accuracies", train_keras(points, classes))
