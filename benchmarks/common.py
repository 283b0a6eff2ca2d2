"""Shared pieces of the asv suite and compare.py: seeded synthetic data, the two benchmark MLPs built in
nnplug, and hand-written training loops (NumPy/CuPy, PyTorch) doing the same arithmetic.

Every implementation starts from the same float32 weights, trains with mean softmax cross-entropy and
momentum SGD (`v = momentum * v + grad; w -= lr * v`, TF1's and PyTorch's rule), and is fed the same
contiguous batches, so steps/s compare like with like. Nothing here imports torch or cupy until asked.
"""
import os
import time
from dataclasses import dataclass

import numpy as np

LEARNING_RATE = 0.01
MOMENTUM = 0.9
# Backends that drive a real device. Other installed backends (e.g. the array-api-strict conformance
# plugin) are references, not speed contenders; NNPLUG_BENCH_BACKENDS=all (or a list) includes them.
DEVICE_BACKENDS = ("numpy", "opencl", "cupy")


@dataclass(frozen=True)
class MLPSpec:
    name: str
    sizes: tuple
    activation: str  # "tanh" or "relu" on hidden layers; the last layer is linear (logits)
    batch: int

    @property
    def n_in(self):
        return self.sizes[0]

    @property
    def n_classes(self):
        return self.sizes[-1]


MODELS = {
    "chapter": MLPSpec("chapter", (784, 50, 50, 10), "tanh", 64),  # the chapter's MNIST MLP
    "wide": MLPSpec("wide", (784, 1024, 1024, 10), "relu", 256),
    # GEMM-bound: for GPUs only (a CPU takes seconds per step)
    "huge": MLPSpec("huge", (784, 4096, 4096, 4096, 4096, 10), "relu", 4096),
}
DEFAULT_MODELS = ("chapter", "wide")  # what runs unless asked: sizes every device can time


def available_backends():
    """Names of the nnplug backends that can run here, in DEVICE_BACKENDS order (then any extra ones)."""
    from nnplug.plugins import describe_backends
    ok = [d["name"] for d in describe_backends() if d["available"]]
    wanted = os.environ.get("NNPLUG_BENCH_BACKENDS", "").strip()
    if wanted == "all":
        chosen = ok
    elif wanted:
        chosen = [n for n in (w.strip() for w in wanted.split(",")) if n in ok]
    else:
        chosen = [n for n in ok if n in DEVICE_BACKENDS]
    order = {n: i for i, n in enumerate(DEVICE_BACKENDS)}
    return sorted(chosen, key=lambda n: (order.get(n, len(order)), n))


def synthetic_data(n_rows, n_in=784, n_classes=10, seed=0):
    """Seeded float32 features ~ N(0, 1) and int32 labels; no files needed."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_rows, n_in), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n_rows).astype(np.int32)
    return x, y


def batch_slices(n_rows, batch):
    """Contiguous [start, stop) pairs covering n_rows; the last batch may be short."""
    return [(i, min(i + batch, n_rows)) for i in range(0, n_rows, batch)]


def init_params(spec, seed=1):
    """Glorot-uniform float32 kernels and zero biases: [(W, b), ...] per layer."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(spec.sizes[:-1], spec.sizes[1:]):
        limit = np.sqrt(6.0 / (n_in + n_out))
        w = rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)
        params.append((w, np.zeros(n_out, np.float32)))
    return params


# -- nnplug ---------------------------------------------------------------------------------------
class NnplugMLP:
    """The MLP as a TF1-style nnplug graph (layers.dense, one_hot + softmax cross-entropy, Momentum)."""

    def __init__(self, spec, backend="numpy", params=None, lr=LEARNING_RATE, momentum=MOMENTUM):
        import nnplug as tf
        self.spec = spec
        params = params if params is not None else init_params(spec)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, (None, spec.n_in), name="x")
            self.y = tf.placeholder(tf.int32, (None,), name="y")
            act = {"tanh": tf.tanh, "relu": tf.nn.relu}[spec.activation]
            h = self.x
            n_layers = len(spec.sizes) - 1
            for i, units in enumerate(spec.sizes[1:]):
                h = tf.layers.dense(h, units, activation=act if i < n_layers - 1 else None, name=f"layer{i + 1}")
            onehot = tf.one_hot(self.y, depth=spec.n_classes)
            self.loss = tf.losses.softmax_cross_entropy(onehot_labels=onehot, logits=h)
            self.train_op = tf.train.MomentumOptimizer(lr, momentum).minimize(self.loss)
            init = tf.global_variables_initializer()
            self.variables = tf.trainable_variables()
        self.sess = tf.Session(graph=self.graph, backend=backend)
        self.sess.run(init)
        flat = [a for wb in params for a in wb]
        if len(flat) != len(self.variables):
            raise RuntimeError(f"expected {len(flat)} trainable variables in the {spec.name} MLP, "
                               f"found {len(self.variables)}: {[v.name for v in self.variables]}")
        for var, value in zip(self.variables, flat):
            self.sess.load_variable(var, value)
        self._sync = self.sess.backend.synchronize

    def step(self, x, y):
        self.sess.run(self.train_op, {self.x: x, self.y: y})

    def loss_value(self, x, y):
        return float(self.sess.run(self.loss, {self.x: x, self.y: y}))

    def sync(self):
        self._sync()

    def weights(self):
        return [self.sess.variable_value(v) for v in self.variables]


# -- the floor: a hand-written loop in one array library --------------------------------------------
class ArrayFloorMLP:
    """Forward, softmax cross-entropy (`p - y` gradient), backward and momentum SGD written by hand with
    `xp` (numpy or cupy) in float32, using in-place updates where that is the natural way to write it."""

    def __init__(self, spec, xp=np, params=None, lr=LEARNING_RATE, momentum=MOMENTUM):
        self.spec, self.xp = spec, xp
        params = params if params is not None else init_params(spec)
        self.W = [xp.asarray(w).copy() for w, _ in params]
        self.b = [xp.asarray(b).copy() for _, b in params]
        self.vW = [xp.zeros_like(w) for w in self.W]
        self.vb = [xp.zeros_like(b) for b in self.b]
        self.lr, self.momentum = np.float32(lr), np.float32(momentum)
        self.relu = spec.activation == "relu"

    def _forward(self, x):
        xp = self.xp
        acts = [x]
        h = x
        last = len(self.W) - 1
        for i, (w, b) in enumerate(zip(self.W, self.b)):
            z = h @ w
            z += b
            if i < last:
                if self.relu:
                    xp.maximum(z, 0, out=z)
                else:
                    xp.tanh(z, out=z)
            acts.append(z)
            h = z
        return acts

    def _softmax(self, logits):
        xp = self.xp
        p = logits - logits.max(axis=1, keepdims=True)
        xp.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        return p

    def step(self, x, y):
        xp = self.xp
        acts = self._forward(x)
        n = x.shape[0]
        g = self._softmax(acts[-1])
        g[xp.arange(n), y] -= 1.0
        g *= np.float32(1.0 / n)
        for i in range(len(self.W) - 1, -1, -1):
            gw = acts[i].T @ g
            gb = g.sum(axis=0)
            if i > 0:
                g = g @ self.W[i].T
                h = acts[i]
                if self.relu:
                    g *= h > 0
                else:
                    g *= 1.0 - h * h
            for var, vel, grad in ((self.W[i], self.vW[i], gw), (self.b[i], self.vb[i], gb)):
                vel *= self.momentum
                vel += grad
                var -= self.lr * vel

    def loss_value(self, x, y):
        xp = self.xp
        logits = self._forward(x)[-1]
        m = logits.max(axis=1, keepdims=True)
        lse = m[:, 0] + xp.log(xp.exp(logits - m).sum(axis=1))
        return float((lse - logits[xp.arange(x.shape[0]), y]).mean())

    def sync(self):
        if self.xp is not np:
            self.xp.cuda.Device().synchronize()

    def weights(self):
        to_host = (lambda a: a) if self.xp is np else self.xp.asnumpy
        return [to_host(a) for wb in zip(self.W, self.b) for a in wb]


# -- PyTorch eager --------------------------------------------------------------------------------
class TorchMLP:
    """The same model in PyTorch eager: nn.Sequential of Linear layers, cross_entropy, SGD(momentum)."""

    def __init__(self, spec, device="cpu", params=None, lr=LEARNING_RATE, momentum=MOMENTUM):
        import torch
        self.torch, self.device = torch, torch.device(device)
        params = params if params is not None else init_params(spec)
        layers = []
        for i, (w, b) in enumerate(params):
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(params) - 1:
                layers.append(torch.nn.Tanh() if spec.activation == "tanh" else torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).to(self.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        self.loss_fn = torch.nn.functional.cross_entropy

    def to_device(self, x, y):
        """Host batch -> tensors on this model's device (int64 labels, as cross_entropy wants)."""
        t = self.torch
        return t.from_numpy(x).to(self.device), t.from_numpy(y.astype(np.int64)).to(self.device)

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        self.loss_fn(self.model(x), y).backward()
        self.opt.step()

    def loss_value(self, x, y):
        with self.torch.no_grad():
            return float(self.loss_fn(self.model(x), y))

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def weights(self):
        out = []
        for m in self.model:
            if hasattr(m, "weight"):
                out += [m.weight.detach().cpu().numpy().T, m.bias.detach().cpu().numpy()]
        return out


def steps_per_second(model, batches, min_seconds=0.2, min_steps=3):
    """Run whole passes over `batches` until min_seconds have passed; steps/s with a device sync at the end."""
    steps = 0
    start = time.perf_counter()
    while True:
        for x, y in batches:
            model.step(x, y)
        steps += len(batches)
        model.sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and steps >= min_steps:
            return steps / elapsed


# -- the chapter-15 CNN ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CNNSpec:
    """28x28x1 -> conv 5x5 SAME ReLU -> max-pool 2 -> conv 5x5 SAME ReLU -> max-pool 2 -> dense ReLU ->
    dropout -> dense (logits), trained with Adam (the textbook's chapter-15 network)."""
    name: str
    side: int
    channels: tuple  # output channels of the two convolutions
    kernel: int
    dense: int
    n_classes: int
    batch: int
    keep_prob: float = 0.5

    @property
    def n_in(self):
        return self.side * self.side

    @property
    def flat(self):
        return (self.side // 4) ** 2 * self.channels[-1]


CNN_MODELS = {"cnn": CNNSpec("cnn", 28, (32, 64), 5, 1024, 10, 64)}
CNN_LEARNING_RATE = 1e-4


def init_cnn_params(spec, seed=1):
    """Glorot-uniform float32 weights (HWIO filters, NHWC-flattened dense rows) and zero biases."""
    rng = np.random.default_rng(seed)
    k, (c1, c2) = spec.kernel, spec.channels
    shapes = [(k, k, 1, c1), (k, k, c1, c2), (spec.flat, spec.dense), (spec.dense, spec.n_classes)]
    params = []
    for shape in shapes:
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = np.sqrt(6.0 / ((shape[-2] + shape[-1]) * receptive))
        params.append((rng.uniform(-limit, limit, size=shape).astype(np.float32), np.zeros(shape[-1], np.float32)))
    return params


class NnplugCNN(NnplugMLP):
    """The CNN in TF1's low-level API (nn.conv2d, nn.max_pool, nn.dropout with a fed keep_prob), Adam."""

    def __init__(self, spec, backend="numpy", params=None, lr=CNN_LEARNING_RATE):
        import nnplug as tf
        self.spec = spec
        params = params if params is not None else init_cnn_params(spec)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, (None, spec.n_in), name="x")
            self.y = tf.placeholder(tf.int32, (None,), name="y")
            self.keep = tf.placeholder_with_default(1.0, (), name="keep_prob")
            h = tf.reshape(self.x, (-1, spec.side, spec.side, 1))
            for i, (w, b) in enumerate(params[:2]):
                kernel, bias = tf.Variable(w, name=f"conv{i + 1}/kernel"), tf.Variable(b, name=f"conv{i + 1}/bias")
                h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, kernel, [1, 1, 1, 1], "SAME"), bias))
                h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
            h = tf.reshape(h, (-1, spec.flat))
            (w3, b3), (w4, b4) = params[2:]
            h = tf.nn.relu(tf.matmul(h, tf.Variable(w3, name="fc3/kernel")) + tf.Variable(b3, name="fc3/bias"))
            h = tf.nn.dropout(h, keep_prob=self.keep)
            logits = tf.matmul(h, tf.Variable(w4, name="fc4/kernel")) + tf.Variable(b4, name="fc4/bias")
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y, logits=logits))
            self.train_op = tf.train.AdamOptimizer(lr).minimize(self.loss)
            init = tf.global_variables_initializer()
            self.variables = tf.trainable_variables()
        self.sess = tf.Session(graph=self.graph, backend=backend)
        self.sess.run(init)
        self._sync = self.sess.backend.synchronize

    def step(self, x, y):
        self.sess.run(self.train_op, {self.x: x, self.y: y, self.keep: self.spec.keep_prob})


class TorchCNN(TorchMLP):
    """The same CNN in PyTorch eager (NCHW; the first dense layer's rows permuted from NHWC order), Adam."""

    def __init__(self, spec, device="cpu", params=None, lr=CNN_LEARNING_RATE):
        import torch
        nn = torch.nn
        self.torch, self.device, self.spec = torch, torch.device(device), spec
        params = params if params is not None else init_cnn_params(spec)
        (w1, b1), (w2, b2), (w3, b3), (w4, b4) = params
        pad = spec.kernel // 2
        conv1, conv2 = (nn.Conv2d(w.shape[2], w.shape[3], spec.kernel, padding=pad) for w in (w1, w2))
        fc3, fc4 = nn.Linear(spec.flat, spec.dense), nn.Linear(spec.dense, spec.n_classes)
        c2, side = spec.channels[-1], spec.side // 4
        w3_chw = w3.reshape(side, side, c2, -1).transpose(2, 0, 1, 3).reshape(spec.flat, -1)
        with torch.no_grad():
            for layer, w, b in ((conv1, w1.transpose(3, 2, 0, 1), b1), (conv2, w2.transpose(3, 2, 0, 1), b2),
                                (fc3, w3_chw.T, b3), (fc4, w4.T, b4)):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                layer.bias.copy_(torch.from_numpy(b))
        self.model = nn.Sequential(conv1, nn.ReLU(), nn.MaxPool2d(2), conv2, nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Flatten(), fc3, nn.ReLU(), nn.Dropout(1 - spec.keep_prob), fc4).to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.loss_fn = torch.nn.functional.cross_entropy

    def to_device(self, x, y):
        xt, yt = super().to_device(x, y)
        return xt.view(-1, 1, self.spec.side, self.spec.side), yt

    def loss_value(self, x, y):
        """The loss in inference mode (no dropout), as NnplugCNN's."""
        self.model.eval()
        try:
            return super().loss_value(x, y)
        finally:
            self.model.train()

    def weights(self):
        raise NotImplementedError("TorchCNN keeps its weights in NCHW layout")


# -- chapter 16's char-RNN: one LSTM layer over one-hot characters (compare.py's `lstm` model) ------------
@dataclass(frozen=True)
class LSTMSpec:
    name: str
    batch: int
    steps: int
    units: int
    n_classes: int  # characters: one-hot inputs, softmax outputs

    @property
    def title(self):
        return f"char-RNN LSTM({self.units}), {self.n_classes} chars, {self.steps} steps, batch {self.batch}"


LSTM_MODELS = {"lstm": LSTMSpec("lstm", 64, 100, 128, 65)}  # the chapter's sizes; Adam, gradients clipped at 5
LSTM_LEARNING_RATE, LSTM_CLIP_NORM = 1e-3, 5.0


def char_batches(spec, n_batches, seed=0):
    """[(ids, next ids)] of int32 [batch, steps]: seeded random text, each target the next character."""
    rng = np.random.default_rng(seed)
    text = rng.integers(0, spec.n_classes, (n_batches, spec.batch, spec.steps + 1)).astype(np.int32)
    return [(t[:, :-1].copy(), t[:, 1:].copy()) for t in text]


def init_lstm_params(spec, seed=1):
    """TF1 BasicLSTMCell layout: kernel [chars + units, 4 units] (gates i, j, f, o), bias, then the dense
    layer's kernel [units, chars] and bias; glorot-uniform kernels, zero biases."""
    rng = np.random.default_rng(seed)

    def glorot(n_in, n_out):
        limit = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)
    n, c = spec.units, spec.n_classes
    return [glorot(c + n, 4 * n), np.zeros(4 * n, np.float32), glorot(n, c), np.zeros(c, np.float32)]


class NnplugLSTM(NnplugMLP):
    """The chapter's graph: one_hot -> BasicLSTMCell under dynamic_rnn -> dense -> mean softmax
    cross-entropy, gradients clipped by global norm, Adam (stepped, timed and read as NnplugMLP is)."""

    def __init__(self, spec, backend="numpy", params=None):
        import nnplug as tf
        self.spec = spec
        params = params if params is not None else init_lstm_params(spec)
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.int32, (spec.batch, spec.steps), name="x")
            self.y = tf.placeholder(tf.int32, (spec.batch, spec.steps), name="y")
            cell = tf.nn.rnn_cell.BasicLSTMCell(spec.units)
            out, _ = tf.nn.dynamic_rnn(cell, tf.one_hot(self.x, spec.n_classes), dtype=tf.float32)
            logits = tf.layers.dense(tf.reshape(out, [-1, spec.units]), spec.n_classes, name="logits")
            labels = tf.reshape(tf.one_hot(self.y, spec.n_classes), [-1, spec.n_classes])
            self.loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=labels))
            self.variables = tf.trainable_variables()
            grads, _ = tf.clip_by_global_norm(tf.gradients(self.loss, self.variables), LSTM_CLIP_NORM)
            self.train_op = tf.train.AdamOptimizer(LSTM_LEARNING_RATE).apply_gradients(zip(grads, self.variables))
            init = tf.global_variables_initializer()
        self.sess = tf.Session(graph=self.graph, backend=backend)
        self.sess.run(init)
        for var, value in zip(self.variables, params):
            self.sess.load_variable(var, value)
        self._sync = self.sess.backend.synchronize


def _torch_gates(a, n):
    """TF's gate blocks (i, j, f, o) along the last axis reordered as PyTorch's (i, f, g, o)."""
    i, j, f, o = (a[..., k * n:(k + 1) * n] for k in range(4))
    return np.concatenate([i, f, j, o], axis=-1)


class TorchLSTM:
    """The same model in PyTorch eager: nn.LSTM (batch_first) and nn.Linear from the same weights (TF's
    forget bias of 1 folded into PyTorch's input bias, its second bias held at zero), cross_entropy,
    clip_grad_norm_, Adam."""

    def __init__(self, spec, device="cpu", params=None):
        import torch
        self.torch, self.device, self.spec = torch, torch.device(device), spec
        kernel, bias, dense_w, dense_b = params if params is not None else init_lstm_params(spec)
        n, c = spec.units, spec.n_classes
        self.lstm = torch.nn.LSTM(c, n, batch_first=True)
        self.dense = torch.nn.Linear(n, c)
        forget_one = np.concatenate([np.zeros(n), np.ones(n), np.zeros(2 * n)]).astype(np.float32)
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(torch.from_numpy(_torch_gates(kernel[:c], n).T.copy()))
            self.lstm.weight_hh_l0.copy_(torch.from_numpy(_torch_gates(kernel[c:], n).T.copy()))
            self.lstm.bias_ih_l0.copy_(torch.from_numpy(_torch_gates(bias, n) + forget_one))
            self.lstm.bias_hh_l0.zero_()
            self.dense.weight.copy_(torch.from_numpy(dense_w.T.copy()))
            self.dense.bias.copy_(torch.from_numpy(dense_b))
        self.lstm.to(self.device)
        self.dense.to(self.device)
        self.lstm.bias_hh_l0.requires_grad_(False)  # one bias, as TF's cell has: the same Adam updates
        self.params = [p for p in self.lstm.parameters() if p.requires_grad] + list(self.dense.parameters())
        self.opt = torch.optim.Adam(self.params, lr=LSTM_LEARNING_RATE)

    def to_device(self, x, y):
        t = self.torch
        return t.from_numpy(x.astype(np.int64)).to(self.device), t.from_numpy(y.astype(np.int64)).to(self.device)

    def _loss(self, x, y):
        f = self.torch.nn.functional
        out, _ = self.lstm(f.one_hot(x, self.spec.n_classes).float())
        return f.cross_entropy(self.dense(out.reshape(-1, self.spec.units)), y.reshape(-1))

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        self._loss(x, y).backward()
        self.torch.nn.utils.clip_grad_norm_(self.params, LSTM_CLIP_NORM)
        self.opt.step()

    def loss_value(self, x, y):
        with self.torch.no_grad():
            return float(self._loss(x, y))

    def sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()
