"""Training benchmarks: one step, throughput (steps/s) and a short epoch's peak memory, for the chapter MLP
(784-50-50-10 tanh, batch 64) and the wide MLP (784-1024-1024-10 ReLU, batch 256) with momentum SGD, on
every available nnplug backend and, as the reference, the hand-written loop of each array library; for
chapter 15's CNN (Adam, batch 64) and chapter 16's char-RNN LSTM (128 units, 100 steps, batch 64, Adam) on
every backend and in PyTorch eager when it is installed.

Data are seeded synthetic rows (benchmarks need no files), fed from host NumPy as a TF1 user would.
"""
import importlib
import importlib.util
import tracemalloc

from .common import (
    CNN_MODELS, DEFAULT_MODELS, LSTM_MODELS, MODELS, ArrayFloorMLP, NnplugCNN, NnplugLSTM, NnplugMLP, TorchCNN,
    TorchLSTM, available_backends, batch_slices, char_batches, steps_per_second, synthetic_data,
)

BACKENDS = available_backends()
MODEL_NAMES = list(DEFAULT_MODELS)
EPOCH_ROWS = 512  # a few hundred rows keep the epoch benchmarks fast


def _floor_libs():
    libs = ["numpy"]
    try:
        import cupy
        cupy.cuda.runtime.getDeviceCount()
        libs.append("cupy")
    except Exception:  # noqa: BLE001 - no cupy or no GPU
        pass
    return libs


FLOOR_LIBS = _floor_libs()


def _batches(spec, n_rows):
    x, y = synthetic_data(n_rows, spec.n_in, spec.n_classes, seed=0)
    return [(x[a:b], y[a:b]) for a, b in batch_slices(n_rows, spec.batch)]


class _Model:
    """`who` is an nnplug backend name, or an array library for the hand-written floor."""
    timeout = 300  # OpenCL on PoCL compiles kernels on first use

    def make(self, who, spec):
        return NnplugMLP(spec, who)


class _Floor:
    def make(self, who, spec):
        return ArrayFloorMLP(spec, importlib.import_module(who))


class _Training(_Model):
    n_batches = 4

    def setup(self, who, model):
        spec = MODELS[model]
        self.model = self.make(who, spec)
        self.batches = _batches(spec, spec.batch * self.n_batches)
        for xb, yb in self.batches[:2]:  # warm-up: compile the plan, allocate
            self.model.step(xb, yb)
        self.model.sync()
        self.i = 0

    def time_step(self, who, model):
        xb, yb = self.batches[self.i % len(self.batches)]
        self.i += 1
        self.model.step(xb, yb)
        self.model.sync()

    def track_steps_per_s(self, who, model):
        return steps_per_second(self.model, self.batches, min_seconds=0.25)

    track_steps_per_s.unit = "steps/s"


class TrainStep(_Training):
    """nnplug, per backend."""
    params = [BACKENDS, MODEL_NAMES]
    param_names = ["backend", "model"]


class FloorTrainStep(_Floor, _Training):
    """The hand-written loop of each array library: the floor nnplug is measured against."""
    params = [FLOOR_LIBS, MODEL_NAMES]
    param_names = ["array_lib", "model"]


class _Epoch(_Model):
    """One epoch over EPOCH_ROWS rows; the plan is compiled (for both batch shapes) in setup."""

    def setup(self, who, model):
        spec = MODELS[model]
        self.model = self.make(who, spec)
        self.batches = _batches(spec, EPOCH_ROWS)
        for xb, yb in self.batches[:1] + self.batches[-1:]:
            self.model.step(xb, yb)
        self.model.sync()

    def _epoch(self):
        for xb, yb in self.batches:
            self.model.step(xb, yb)
        self.model.sync()

    def peakmem_epoch(self, who, model):
        self._epoch()

    def time_epoch(self, who, model):
        self._epoch()

    def track_epoch_allocated_bytes(self, who, model):
        """Peak bytes allocated through Python's allocators (NumPy arrays included) during an epoch,
        beyond what was held before it: about zero once buffers are planned."""
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            self._epoch()
            return tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()

    track_epoch_allocated_bytes.unit = "bytes"


class TrainEpoch(_Epoch):
    params = [BACKENDS, MODEL_NAMES]
    param_names = ["backend", "model"]


class FloorTrainEpoch(_Floor, _Epoch):
    params = [FLOOR_LIBS, MODEL_NAMES]
    param_names = ["array_lib", "model"]


# -- chapter 15's CNN ---------------------------------------------------------------------------------
CNN_EPOCH_ROWS = 256  # 4 steps of 64


class _CNN:
    def make(self, who, spec):
        return NnplugCNN(spec, who)

    def prepare(self, batches):
        return batches


class _TorchCNN:
    def make(self, who, spec):
        import torch
        torch.set_num_threads(1 if who == "cpu-1-thread" else torch.get_num_threads())
        return TorchCNN(spec)

    def prepare(self, batches):
        return [self.model.to_device(x, y) for x, y in batches]


class _BigTraining(_Training):
    """Steps of a model too big for many batches: two, one of them run to warm up."""
    specs = CNN_MODELS

    def data(self, spec):
        return _batches(spec, spec.batch * 2)

    def setup(self, who, model):
        spec = self.specs[model]
        self.model = self.make(who, spec)
        self.batches = self.prepare(self.data(spec))
        self.model.step(*self.batches[0])
        self.model.sync()
        self.i = 0


class CNNTrainStep(_CNN, _BigTraining):
    """nnplug, per backend: the chapter-15 CNN."""
    params = [BACKENDS, list(CNN_MODELS)]
    param_names = ["backend", "model"]


class CNNTrainEpoch(_CNN, _Epoch):
    params = [BACKENDS, list(CNN_MODELS)]
    param_names = ["backend", "model"]

    def setup(self, who, model):
        spec = CNN_MODELS[model]
        self.model = self.make(who, spec)
        self.batches = _batches(spec, CNN_EPOCH_ROWS)
        self.model.step(*self.batches[0])
        self.model.sync()


if importlib.util.find_spec("torch") is not None:
    class TorchCNNTrainStep(_TorchCNN, CNNTrainStep):
        """The same CNN in PyTorch eager: the reference nnplug's CNN is measured against."""
        params = [["cpu", "cpu-1-thread"], list(CNN_MODELS)]
        param_names = ["torch", "model"]


# -- chapter 16's char-RNN ------------------------------------------------------------------------------
class LSTMTrainStep(_BigTraining):
    """nnplug, per backend: one-hot characters -> BasicLSTMCell(128) under dynamic_rnn -> dense, clipped Adam."""
    params = [BACKENDS, list(LSTM_MODELS)]
    param_names = ["backend", "model"]
    specs = LSTM_MODELS

    def make(self, who, spec):
        return NnplugLSTM(spec, who)

    def data(self, spec):
        return char_batches(spec, 2, seed=0)

    def prepare(self, batches):
        return batches


if importlib.util.find_spec("torch") is not None:
    class TorchLSTMTrainStep(LSTMTrainStep):
        """The same char-RNN with PyTorch's nn.LSTM, eager: the reference nnplug's LSTM is measured against."""
        params = [["cpu", "cpu-1-thread"], list(LSTM_MODELS)]
        param_names = ["torch", "model"]

        def make(self, who, spec):
            import torch
            torch.set_num_threads(1 if who == "cpu-1-thread" else torch.get_num_threads())
            return TorchLSTM(spec)

        def prepare(self, batches):
            return [self.model.to_device(x, y) for x, y in batches]
