"""Optional contenders for compare.py's MLPs: JAX (`jit` of one step; `jit(lax.scan)` over a pass of
stacked batches) and TensorFlow 2 (`compat.v1` graph run by a Session; tf.keras `fit`).

Each starts from the same float32 weights as common.py's models and does the same arithmetic: logits of
dense layers (tanh or ReLU between them), mean softmax cross-entropy, momentum SGD (`v = momentum * v + grad;
w -= lr * v`; Keras's `m = momentum * m - lr * grad; w += m` is the same rule). Nothing imports jax or
tensorflow until a contender is made; thread counts come from the environment compare.py sets (`--threads`).
Besides `step(x, y)`, a contender may offer `prepare(batches)` (the batches in its own form, once) and
`run_pass(prepared)` (one pass over them), which compare.py times instead of a Python loop of steps.
"""
import os

import numpy as np

from benchmarks.common import LEARNING_RATE, MOMENTUM, init_params

THREADS_ENV = "NNPLUG_BENCH_THREADS"  # compare.py's --threads, for libraries configured in code


def bench_threads():
    """compare.py's --threads (0: the library's own default)."""
    return int(os.environ.get(THREADS_ENV, 0) or 0)


def xla_flags(threads, existing=""):
    """XLA_FLAGS that hold XLA's CPU code to `threads` threads (the flags JAX's issues #743/#1539 give; XLA has
    no stricter switch), kept beside flags already set."""
    own = f"--xla_cpu_multi_thread_eigen={'false' if threads == 1 else 'true'} intra_op_parallelism_threads={threads}"
    return f"{existing} {own}".strip()


# -- JAX ------------------------------------------------------------------------------------------
class JaxMLP:
    """The MLP as pure JAX functions. mode "jit": one jitted step per batch (the state donated to it);
    "scan": `run_pass` is one jitted `lax.scan` of that step over the pass's full batches stacked on the
    device (a short last batch then gets one jitted step of its own)."""

    def __init__(self, spec, params=None, mode="jit", lr=LEARNING_RATE, momentum=MOMENTUM):
        import jax
        import jax.numpy as jnp
        if mode not in ("jit", "scan"):
            raise ValueError(f"JaxMLP mode must be 'jit' or 'scan', not {mode!r}")
        self.jax, self.jnp, self.spec, self.mode = jax, jnp, spec, mode
        params = params if params is not None else init_params(spec)
        weights = [jnp.asarray(a) for wb in params for a in wb]
        self.state = (weights, [jnp.zeros_like(w) for w in weights])
        relu = spec.activation == "relu"

        def loss(weights, x, y):
            h = x
            last = len(weights) // 2 - 1
            for i in range(last + 1):
                h = h @ weights[2 * i] + weights[2 * i + 1]
                if i < last:
                    h = jax.nn.relu(h) if relu else jnp.tanh(h)
            logp = jax.nn.log_softmax(h)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def step(state, batch):
            weights, velocity = state
            grads = jax.grad(loss)(weights, *batch)
            velocity = [momentum * v + g for v, g in zip(velocity, grads)]
            return ([w - lr * v for w, v in zip(weights, velocity)], velocity), None

        self._loss = jax.jit(loss)
        self._step = jax.jit(lambda state, x, y: step(state, (x, y))[0], donate_argnums=0)
        self._scan = jax.jit(lambda state, xs, ys: jax.lax.scan(step, state, (xs, ys))[0], donate_argnums=0)

    def to_device(self, x, y):
        return self.jax.device_put(x), self.jax.device_put(y)

    def step(self, x, y):
        self.state = self._step(self.state, x, y)

    def prepare(self, batches):
        """The batches on the device: for "scan", the full ones stacked ([n, batch, ...]) plus the short rest."""
        if self.mode == "jit":
            return [self.to_device(x, y) for x, y in batches]
        full = [(x, y) for x, y in batches if len(x) == self.spec.batch]
        rest = [self.to_device(x, y) for x, y in batches if len(x) != self.spec.batch]
        stacked = self.to_device(np.stack([x for x, _ in full]), np.stack([y for _, y in full])) if full else None
        return stacked, rest

    def run_pass(self, prepared):
        if self.mode == "jit":
            for x, y in prepared:
                self.step(x, y)
            return
        stacked, rest = prepared
        if stacked is not None:
            self.state = self._scan(self.state, *stacked)
        for x, y in rest:
            self.step(x, y)

    def sync(self):
        self.jax.block_until_ready(self.state)

    def loss_value(self, x, y):
        return float(self._loss(self.state[0], self.jnp.asarray(x), self.jnp.asarray(y)))

    def weights(self):
        return [np.asarray(w) for w in self.state[0]]


# -- TensorFlow 2 ---------------------------------------------------------------------------------
def _tensorflow():
    """tensorflow, imported quietly and held to compare.py's thread count."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    threads = bench_threads()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process: the first setting stands
            pass
    return tf


class TF1MLP:
    """The MLP as a TensorFlow 2 `compat.v1` graph (matmul + bias Variables, sparse softmax cross-entropy,
    MomentumOptimizer) run by a `compat.v1.Session` with compare.py's intra/inter-op thread counts."""

    def __init__(self, spec, params=None, lr=LEARNING_RATE, momentum=MOMENTUM):
        tf = _tensorflow()
        v1 = tf.compat.v1
        self.spec = spec
        params = params if params is not None else init_params(spec)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = v1.placeholder(tf.float32, (None, spec.n_in), name="x")
            self.y = v1.placeholder(tf.int32, (None,), name="y")
            h = self.x
            self.variables = []
            for i, (w, b) in enumerate(params):
                kernel, bias = v1.Variable(w, name=f"layer{i + 1}/kernel"), v1.Variable(b, name=f"layer{i + 1}/bias")
                self.variables += [kernel, bias]
                h = tf.matmul(h, kernel) + bias
                if i < len(params) - 1:
                    h = tf.nn.relu(h) if spec.activation == "relu" else tf.tanh(h)
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y, logits=h))
            self.train_op = v1.train.MomentumOptimizer(lr, momentum).minimize(self.loss)
            init = v1.global_variables_initializer()
        threads = bench_threads()
        config = v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
        self.sess = v1.Session(graph=self.graph, config=config)
        self.sess.run(init)

    def step(self, x, y):
        self.sess.run(self.train_op, {self.x: x, self.y: y})

    def sync(self):
        pass  # Session.run returns when the step is done

    def loss_value(self, x, y):
        return float(self.sess.run(self.loss, {self.x: x, self.y: y}))

    def weights(self):
        return self.sess.run(self.variables)


class KerasFitMLP:
    """The MLP in tf.keras (Keras 3 on TensorFlow): Dense layers from the same weights, sparse categorical
    cross-entropy from logits, SGD(momentum); `run_pass` is one `fit` epoch over the pass's rows (no
    shuffling), with Keras's own defaults for compiling the step."""

    def __init__(self, spec, params=None, lr=LEARNING_RATE, momentum=MOMENTUM):
        os.environ["KERAS_BACKEND"] = "tensorflow"  # tf.keras is Keras 3: on TensorFlow here
        tf = _tensorflow()
        keras = tf.keras
        self.spec = spec
        params = params if params is not None else init_params(spec)
        layers = [keras.Input((spec.n_in,))]
        for i, (w, _) in enumerate(params):
            act = spec.activation if i < len(params) - 1 else None
            layers.append(keras.layers.Dense(w.shape[1], activation=act))
        self.model = keras.Sequential(layers)
        for layer, (w, b) in zip(self.model.layers, params):
            layer.set_weights([w, b])
        self.model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=momentum),
                           loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        self._loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(self, x, y):
        self.model.train_on_batch(x, y)

    def prepare(self, batches):
        return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])

    def run_pass(self, prepared):
        x, y = prepared
        self.model.fit(x, y, batch_size=self.spec.batch, epochs=1, shuffle=False, verbose=0)

    def sync(self):
        pass

    def loss_value(self, x, y):
        return float(self._loss(y, self.model(x, training=False)))

    def weights(self):
        return [a for layer in self.model.layers for a in layer.get_weights()]


JAX_KINDS = {"jit": "jax jit", "scan": "jax jit(lax.scan)"}
TF_KINDS = {"v1": "tf1 compat.v1 Session", "keras": "tf.keras fit"}


def make_contender(kind, arg, spec, params):
    """(label, model) of an optional contender: kind 'jax' (arg 'jit' | 'scan') or 'tf' (arg 'v1' | 'keras')."""
    if kind == "jax":
        return JAX_KINDS[arg], JaxMLP(spec, params, mode=arg)
    if kind == "tf":
        return TF_KINDS[arg], (TF1MLP if arg == "v1" else KerasFitMLP)(spec, params)
    raise ValueError(f"unknown optional contender kind {kind!r} (expected 'jax' or 'tf')")
