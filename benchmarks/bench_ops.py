"""Op benchmarks on every available backend: matmul, an elementwise chain, a reduction and softmax
cross-entropy (forward, and its gradient with respect to the logits).

Inputs live in Variables (already on the device) and each result is assigned to a Variable, so a run
moves no data between host and device and fetches nothing: the timing is the kernels plus nnplug's
per-run overhead, followed by a device synchronisation.
"""
import numpy as np

import nnplug as tf

from .common import available_backends

BACKENDS = available_backends()


class _OpBench:
    """Builds `build(*input_tensors)` over Variables holding `inputs`, ready to run as one assign."""

    timeout = 300  # OpenCL on PoCL compiles kernels on first use
    param_names = ["backend", "size"]

    def _setup(self, backend, inputs, build):
        g = tf.Graph()
        with g.as_default():
            tensors = [tf.Variable(a, name=f"in{i}") for i, a in enumerate(inputs)]
            out = build(*tensors)
            outs = out if isinstance(out, (list, tuple)) else [out]
            sinks = [tf.Variable(tf.zeros(o.shape, o.dtype), name=f"out{i}") for i, o in enumerate(outs)]
            self.variables = tensors + sinks  # inputs, then results (tests read them back)
            self.op = tf.group(*[tf.assign(s, o) for s, o in zip(sinks, outs)])
            init = tf.global_variables_initializer()
        self.sess = tf.Session(graph=g, backend=backend)
        self.sess.run(init)
        self.sess.run(self.op)  # compile the plan outside the timing
        self.sess.backend.synchronize()

    def _run(self):
        self.sess.run(self.op)
        self.sess.backend.synchronize()


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


class MatMul(_OpBench):
    params = [BACKENDS, [64, 256, 1024]]

    def setup(self, backend, n):
        self._setup(backend, [_rand(n, n), _rand(n, n, seed=1)], tf.matmul)

    def time_matmul(self, backend, n):
        self._run()


class ElementwiseChain(_OpBench):
    """tanh(a * b + c) * 0.5 + a: five elementwise kernels, or one where the backend fuses chains."""
    params = [BACKENDS, [10_000, 1_000_000]]

    def setup(self, backend, n):
        self._setup(backend, [_rand(n), _rand(n, seed=1), _rand(n, seed=2)],
                    lambda a, b, c: tf.tanh(a * b + c) * 0.5 + a)

    def time_chain(self, backend, n):
        self._run()


class Reduction(_OpBench):
    """Row sums of an n x n matrix."""
    params = [BACKENDS, [256, 2048]]

    def setup(self, backend, n):
        self._setup(backend, [_rand(n, n)], lambda a: tf.reduce_sum(a, axis=1))

    def time_reduce_sum(self, backend, n):
        self._run()


class SoftmaxCrossEntropy(_OpBench):
    """Mean softmax cross-entropy of (batch, classes) logits against one-hot labels."""
    params = [BACKENDS, ["64x10", "256x1000"]]

    def setup(self, backend, size):
        batch, classes = map(int, size.split("x"))
        labels = np.eye(classes, dtype=np.float32)[np.random.default_rng(3).integers(0, classes, batch)]

        def build(logits, onehot):
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=onehot, logits=logits))
            return loss, tf.gradients(loss, [logits])[0]

        self._setup(backend, [_rand(batch, classes), labels], build)

    def time_forward_backward(self, backend, size):
        self._run()
