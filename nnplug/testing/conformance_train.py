"""Conformance cases for the optimizer-update ops (nnplug/ops/training_ops.py): each op's new variable and
slot values against TF1's documented update rule in float64 NumPy, on every backend (a fused kernel or the
expansion into primitives), and the errors for inputs of the wrong shape or dtype. Imported by
nnplug.testing.conformance, whose `covers` they extend."""
import numpy as np
import pytest

import nnplug as tf
from nnplug.ops.training_ops import SIGNATURES, apply_update
from nnplug.testing import assert_close, run
from nnplug.testing.cases import FLOATS, covers, data, f64

covers(*SIGNATURES)


def _ref_gradient_descent(var, alpha, delta):
    return [var - alpha * delta]


def _ref_momentum(var, accum, lr, grad, momentum, use_nesterov=False):
    accum = accum * momentum + grad
    step = grad + momentum * accum if use_nesterov else accum
    return [var - lr * step, accum]


def _ref_keras_momentum(var, accum, lr, grad, momentum, use_nesterov=False):
    accum = momentum * accum - lr * grad
    return [var + (momentum * accum - lr * grad if use_nesterov else accum), accum]


def _ref_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
    lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    return [var - lr_t * m / (np.sqrt(v) + epsilon), m, v]


def _ref_rmsprop(var, ms, mom, lr, rho, momentum, epsilon, grad):
    ms = rho * ms + (1 - rho) * grad * grad
    mom = momentum * mom + lr * grad / np.sqrt(ms + epsilon)
    return [var - mom, ms, mom]


def _ref_centered_rmsprop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad):
    mg = rho * mg + (1 - rho) * grad
    ms = rho * ms + (1 - rho) * grad * grad
    mom = momentum * mom + lr * grad / np.sqrt(ms - mg * mg + epsilon)
    return [var - mom, mg, ms, mom]


def _ref_adagrad(var, accum, lr, grad):
    accum = accum + grad * grad
    return [var - lr * grad / np.sqrt(accum), accum]


# op type: (float64 reference, the scalar inputs by name, attrs to try); every other input is an array
# shaped as the variable, slots in (0.5, 2) where the rule takes their square root
UPDATE_CASES = {
    "ApplyGradientDescent": (_ref_gradient_descent, {"alpha": 0.1}, [{}]),
    "ApplyMomentum": (_ref_momentum, {"lr": 0.1, "momentum": 0.9}, [{"use_nesterov": False}, {"use_nesterov": True}]),
    "ApplyKerasMomentum": (_ref_keras_momentum, {"lr": 0.1, "momentum": 0.9},
                           [{"use_nesterov": False}, {"use_nesterov": True}]),
    "ApplyAdam": (_ref_adam, {"beta1_power": 0.9 ** 3, "beta2_power": 0.999 ** 3, "lr": 0.01, "beta1": 0.9,
                              "beta2": 0.999, "epsilon": 1e-7}, [{}]),
    "ApplyRMSProp": (_ref_rmsprop, {"lr": 0.01, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-6}, [{}]),
    "ApplyCenteredRMSProp": (_ref_centered_rmsprop, {"lr": 0.01, "rho": 0.9, "momentum": 0.5, "epsilon": 1e-6},
                             [{}]),
    "ApplyAdagrad": (_ref_adagrad, {"lr": 0.1}, [{}]),
}
_POSITIVE_SLOTS = {"v", "ms", "accum"}


def update_inputs(op_type, shape, dtype, seed=0):
    """Inputs of `op_type` in its input order: arrays of `shape`, the case's scalars."""
    state, rest, _ = SIGNATURES[op_type]
    scalars = UPDATE_CASES[op_type][1]
    out = []
    for i, name in enumerate(state + rest):
        if name in scalars:
            out.append(np.array(scalars[name], dtype))
        elif name == "mg":  # a mean gradient small beside the mean square, as running averages keep it
            out.append((data(shape, dtype, "unit", seed=seed + i) * 0.25).astype(dtype))
        else:
            out.append(data(shape, dtype, "pos" if name in _POSITIVE_SLOTS else "any", seed=seed + i))
    return out


def _case_id(value):
    return value if isinstance(value, str) else "-".join(f"{k}={x}" for k, x in value.items()) or "plain"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(3, 4), (7,), ()], ids=["matrix", "vector", "scalar"])
@pytest.mark.parametrize("op_type,attrs", [(op, a) for op, case in UPDATE_CASES.items() for a in case[2]],
                         ids=_case_id)
def test_update_op(backend, op_type, attrs, shape, dtype):
    ref, _, _ = UPDATE_CASES[op_type]
    inputs = update_inputs(op_type, shape, dtype)
    got = run(lambda *t: apply_update(op_type, t, **attrs), inputs, backend)
    want = ref(*[f64(a) for a in inputs], **attrs)
    names = SIGNATURES[op_type][0]
    assert len(got) == len(names)
    for g, w, name in zip(got, want, names):
        assert_close(g, w, dtype, what=f"{op_type} new {name} ({dtype}, shape {shape})")


def test_update_op_leaves_its_inputs_alone(backend):
    """Fed state is not the op's to write into: a fused kernel updates copies when not given a variable."""
    inputs = update_inputs("ApplyAdam", (3, 4), "float32")
    before = [a.copy() for a in inputs]
    run(lambda *t: apply_update("ApplyAdam", t), inputs, backend)
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)


def test_update_op_refuses_a_gradient_of_another_shape():
    with tf.Graph().as_default():
        var, accum = tf.zeros((3, 4)), tf.zeros((3, 4))
        with pytest.raises(ValueError, match=r"ApplyMomentum op 'Mom'.*grad has shape \(4, 3\), var has \(3, 4\)"):
            apply_update("ApplyMomentum", [var, accum, tf.constant(0.1), tf.zeros((4, 3)), tf.constant(0.9)],
                         name="Mom")


def test_update_op_refuses_a_learning_rate_that_is_not_a_scalar():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"ApplyGradientDescent op 'GD'.*alpha must be a scalar, got shape \(2,\)"):
            apply_update("ApplyGradientDescent", [tf.zeros((2,)), tf.constant([0.1, 0.2]), tf.zeros((2,))], name="GD")


def test_update_op_refuses_mixed_dtypes_and_integer_variables():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=r"delta has dtype float64, var has float32"):
            apply_update("ApplyGradientDescent", [tf.zeros((2,)), tf.constant(0.1), tf.zeros((2,), tf.float64)])
        with pytest.raises(ValueError, match=r"var must be floating-point, got int32"):
            apply_update("ApplyAdagrad", [tf.zeros((2,), tf.int32), tf.zeros((2,), tf.int32), tf.constant(1),
                                          tf.zeros((2,), tf.int32)])
        with pytest.raises(TypeError, match=r"ApplyAdam has no attribute\(s\) use_nesterov"):
            apply_update("ApplyAdam", update_inputs("ApplyAdam", (2,), "float32"), use_nesterov=True)
