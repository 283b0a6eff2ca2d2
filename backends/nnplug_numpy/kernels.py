"""NumPy kernel factories: the shared Array-API factories (nnplug.xp_kernels) on NumPy, with the few that
NumPy runs better replaced — kernels that write into a dying buffer (`out=`), in-place backward ops, and the
softmax family, whose sparse cross-entropy can afford to check its labels on the host."""
import numpy as np

from nnplug.xp_kernels import make_kernels

KERNELS = make_kernels(np, from_host=lambda array: array)


def kernel(*names):
    def deco(factory):
        for n in names:
            KERNELS[n] = factory
        return factory
    return deco


@kernel("Relu")
def _relu(spec):
    zero = spec.out_dtype.np.type(0)
    return lambda x, out=None: np.maximum(x, zero, out=out)


@kernel("Sigmoid")
def _sigmoid(spec):
    half = spec.out_dtype.np.type(0.5)

    def sigmoid(x, out=None):  # 0.5 * (1 + tanh(x/2)): exact and overflow-free
        y = np.tanh(np.multiply(x, half, out=out), out=out)
        return np.multiply(np.add(y, 1, out=out), half, out=out)  # out=None on 0-d: NumPy scalars
    return sigmoid


@kernel("TanhGrad")
def _tanh_grad(spec):
    def tanh_grad(y, g):  # g * (1 - y*y), y and g share a shape
        d = np.multiply(y, y)
        if np.ndim(d) == 0:
            return g * (1 - d)
        np.subtract(1, d, out=d)
        d *= g
        return d
    return tanh_grad


@kernel("ReluGrad")
def _relu_grad(spec):
    return lambda g, x: g * (x > 0)  # a multiply by the mask beats where() here


@kernel("Copy")
def _copy(spec):
    return np.array


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


@kernel("Softmax")
def _softmax(spec):
    axis = spec.attrs["axis"]

    def softmax(x):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e
    return softmax


@kernel("LogSoftmax")
def _log_softmax_kernel(spec):
    axis = spec.attrs["axis"]
    return lambda x: _log_softmax(x, axis)


@kernel("SoftmaxCrossEntropyWithLogits")
def _xent(spec):
    if spec.attrs["sparse"]:
        def sparse_xent(logits, labels):
            log_p = _log_softmax(logits, -1)
            idx = labels[..., None].astype(np.intp)
            if np.any(idx < 0) or np.any(idx >= logits.shape[-1]):
                raise ValueError(f"labels must be class ids in [0, {logits.shape[-1]}), got {labels.min()}.."
                                 f"{labels.max()} in '{spec.name}'")
            loss = -np.take_along_axis(log_p, idx, -1)[..., 0]
            backprop = np.exp(log_p)
            np.put_along_axis(backprop, idx, np.take_along_axis(backprop, idx, -1) - 1, -1)
            return loss, backprop
        return sparse_xent

    def xent(logits, labels):
        log_p = _log_softmax(logits, -1)
        loss = -np.einsum("...i,...i->...", labels, log_p)
        backprop = np.exp(log_p)
        backprop *= labels.sum(-1, keepdims=True)
        backprop -= labels
        return loss, backprop
    return xent


# Kernels that always return a new buffer, and those that take `out=` (an input buffer that dies there).
INPLACE = frozenset({
    "Neg", "Abs", "Exp", "Log", "Log1p", "Sqrt", "Square", "Reciprocal", "Tanh", "Sign", "Floor", "Add", "Sub",
    "Mul", "Div", "Pow", "Maximum", "Minimum", "Relu", "Sigmoid",
})
FRESH = INPLACE | frozenset({
    "LogicalNot", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
    "Select", "TanhGrad", "SigmoidGrad", "ReluGrad", "Cast", "MatMul", "ReduceSum", "ReduceMax", "ReduceMin",
    "ReduceProd", "ReduceMean", "ArgMax", "ArgMin", "SumTo", "Concat", "SliceGrad", "Gather", "GatherGrad",
    "OneHot", "Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits", "Copy", "RandomStandardNormal",
    "RandomUniform", "TruncatedNormal", "RandomUniformInt",
})
