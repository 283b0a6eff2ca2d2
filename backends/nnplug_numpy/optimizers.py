"""Fused optimizer updates on the numpy backend: each update op (nnplug/ops/training_ops.py) updates a
variable and its slots in one kernel call, instead of the 2-12 ufunc calls (and passes over memory) of its
expansion. The compiler hands the kernel the variable's and slots' own buffers (`out=`, the `inplace`
contract) when nothing reads them later in the step; otherwise the kernel updates fresh copies.

Each update is written twice, with the same operations in the same order as the expansion (so results
agree bit for bit): a loop numba compiles into one pass (nnplug_numpy/jit.py), used for C-contiguous
float32/float64 arrays, and NumPy ufuncs with `out=` for every other array. The backend registers these
kernels only where numba is installed: without it the expansion is as fast as the ufunc forms.
"""
import numpy as np

from nnplug.kernels import Kernels
from nnplug.ops.training_ops import GRADIENT_INPUTS, SIGNATURES, input_names

from . import jit

KERNELS = Kernels()  # merged into the backend's table by kernels.py (with numba, see jit.py)


# -- the updates as loops (numba) and as ufuncs (NumPy) ------------------------------------------------
# Arguments in the op's input order (TF1's): state arrays first, updated in place, the gradient, scalars
# as NumPy scalars of the variable's dtype; then the op's attrs; the ufunc forms then take scratch buffers
# of the variable's shape. `one` is 1 in the variable's dtype, so 1 - beta is computed in that dtype, as the
# expansion computes it.
def _gd_loop(var, alpha, delta):
    v, d = var.ravel(), delta.ravel()
    for i in range(v.size):
        v[i] -= alpha * d[i]


def _gd_ufuncs(var, alpha, delta, tmp):
    np.subtract(var, np.multiply(alpha, delta, out=tmp), out=var)


def _momentum_loop(var, accum, lr, grad, momentum, use_nesterov):
    v, acc, g = var.ravel(), accum.ravel(), grad.ravel()
    for i in range(v.size):
        a = acc[i] * momentum + g[i]
        acc[i] = a
        v[i] -= lr * (g[i] + momentum * a) if use_nesterov else lr * a


def _momentum_ufuncs(var, accum, lr, grad, momentum, use_nesterov, tmp):
    np.add(np.multiply(accum, momentum, out=accum), grad, out=accum)
    step = np.add(grad, np.multiply(momentum, accum, out=tmp), out=tmp) if use_nesterov else accum
    np.subtract(var, np.multiply(lr, step, out=tmp), out=var)


def _keras_momentum_loop(var, accum, lr, grad, momentum, use_nesterov):
    v, acc, g = var.ravel(), accum.ravel(), grad.ravel()
    for i in range(v.size):
        a = momentum * acc[i] - lr * g[i]
        acc[i] = a
        v[i] += momentum * a - lr * g[i] if use_nesterov else a


def _keras_momentum_ufuncs(var, accum, lr, grad, momentum, use_nesterov, tmp, tmp2):
    lr_grad = np.multiply(lr, grad, out=tmp)
    np.subtract(np.multiply(momentum, accum, out=accum), lr_grad, out=accum)
    step = np.subtract(np.multiply(momentum, accum, out=tmp2), lr_grad, out=tmp2) if use_nesterov else accum
    np.add(var, step, out=var)


def _adam_loop(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, one):
    w, m, v, g = var.ravel(), m.ravel(), v.ravel(), grad.ravel()
    lr_t = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    c1, c2 = one - beta1, one - beta2
    for i in range(w.size):
        mi = m[i] * beta1 + g[i] * c1
        vi = v[i] * beta2 + (g[i] * g[i]) * c2
        m[i] = mi
        v[i] = vi
        w[i] -= (lr_t * mi) / (np.sqrt(vi) + epsilon)


def _adam_ufuncs(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, one, tmp, tmp2):
    lr_t = lr * np.sqrt(one - beta2_power) / (one - beta1_power)
    np.add(np.multiply(m, beta1, out=m), np.multiply(grad, one - beta1, out=tmp), out=m)
    np.multiply(np.square(grad, out=tmp), one - beta2, out=tmp)
    np.add(np.multiply(v, beta2, out=v), tmp, out=v)
    np.add(np.sqrt(v, out=tmp), epsilon, out=tmp)
    np.subtract(var, np.divide(np.multiply(lr_t, m, out=tmp2), tmp, out=tmp2), out=var)


def _rmsprop_loop(var, ms, mom, lr, rho, momentum, epsilon, grad, one):
    w, ms, mom, g = var.ravel(), ms.ravel(), mom.ravel(), grad.ravel()
    c = one - rho
    for i in range(w.size):
        msi = ms[i] * rho + (g[i] * g[i]) * c
        mi = mom[i] * momentum + (lr * g[i]) / np.sqrt(msi + epsilon)
        ms[i] = msi
        mom[i] = mi
        w[i] -= mi


def _rmsprop_ufuncs(var, ms, mom, lr, rho, momentum, epsilon, grad, one, tmp, tmp2):
    np.multiply(np.square(grad, out=tmp), one - rho, out=tmp)
    np.add(np.multiply(ms, rho, out=ms), tmp, out=ms)
    np.sqrt(np.add(ms, epsilon, out=tmp), out=tmp)
    np.divide(np.multiply(lr, grad, out=tmp2), tmp, out=tmp2)
    np.add(np.multiply(mom, momentum, out=mom), tmp2, out=mom)
    np.subtract(var, mom, out=var)


def _centered_rmsprop_loop(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, one):
    w, mg, ms, mom, g = var.ravel(), mg.ravel(), ms.ravel(), mom.ravel(), grad.ravel()
    c = one - rho
    for i in range(w.size):
        mgi = mg[i] * rho + g[i] * c
        msi = ms[i] * rho + (g[i] * g[i]) * c
        mi = mom[i] * momentum + (lr * g[i]) / np.sqrt((msi - mgi * mgi) + epsilon)
        mg[i] = mgi
        ms[i] = msi
        mom[i] = mi
        w[i] -= mi


def _centered_rmsprop_ufuncs(var, mg, ms, mom, lr, rho, momentum, epsilon, grad, one, tmp, tmp2):
    c = one - rho
    np.add(np.multiply(mg, rho, out=mg), np.multiply(grad, c, out=tmp), out=mg)
    np.add(np.multiply(ms, rho, out=ms), np.multiply(np.square(grad, out=tmp), c, out=tmp), out=ms)
    np.sqrt(np.add(np.subtract(ms, np.square(mg, out=tmp), out=tmp), epsilon, out=tmp), out=tmp)
    np.divide(np.multiply(lr, grad, out=tmp2), tmp, out=tmp2)
    np.add(np.multiply(mom, momentum, out=mom), tmp2, out=mom)
    np.subtract(var, mom, out=var)


def _adagrad_loop(var, accum, lr, grad):
    w, acc, g = var.ravel(), accum.ravel(), grad.ravel()
    for i in range(w.size):
        a = acc[i] + g[i] * g[i]
        acc[i] = a
        w[i] -= (lr * g[i]) / np.sqrt(a)


def _adagrad_ufuncs(var, accum, lr, grad, tmp, tmp2):
    np.add(accum, np.square(grad, out=tmp), out=accum)
    np.divide(np.multiply(lr, grad, out=tmp), np.sqrt(accum, out=tmp2), out=tmp)
    np.subtract(var, tmp, out=var)


# op type -> (loop, ufunc form, scratch buffers the ufunc form needs, whether both take `one`)
UPDATES = {
    "ApplyGradientDescent": (_gd_loop, _gd_ufuncs, 1, False),
    "ApplyMomentum": (_momentum_loop, _momentum_ufuncs, 1, False),
    "ApplyKerasMomentum": (_keras_momentum_loop, _keras_momentum_ufuncs, 2, False),
    "ApplyAdam": (_adam_loop, _adam_ufuncs, 2, True),
    "ApplyRMSProp": (_rmsprop_loop, _rmsprop_ufuncs, 2, True),
    "ApplyCenteredRMSProp": (_centered_rmsprop_loop, _centered_rmsprop_ufuncs, 2, True),
    "ApplyAdagrad": (_adagrad_loop, _adagrad_ufuncs, 2, False),
}


def _update_factory(op_type):
    loop, ufuncs, n_scratch, takes_one = UPDATES[op_type]
    names = input_names(op_type)
    n_state = len(SIGNATURES[op_type][0])
    grad_at = next(i for i, n in enumerate(names) if n in GRADIENT_INPUTS)
    scalars_at = [i for i in range(n_state, len(names)) if i != grad_at]
    defaults = SIGNATURES[op_type][2]

    def factory(spec):
        dtype, shape = np.dtype(spec.out_dtypes[0].np), tuple(spec.out_shapes[0])
        extra = tuple(bool(spec.attrs.get(a, d)) for a, d in defaults.items())
        extra += (dtype.type(1),) if takes_one else ()
        # 0-d values may come as NumPy scalars (kernels of 0-d results return them): ufuncs take those
        compiled = jit.compiled(loop) if jit.usable(dtype) and shape else None
        scratch = []  # for the ufunc form, made on its first use

        def update(*ins, out=None):  # lean: it runs once per variable and step
            ins = list(ins) if _in_place(ins, out, n_state) else _targets(ins, out, n_state)
            for i in scalars_at:  # 0-d arrays, or NumPy scalars from kernels of 0-d results
                ins[i] = ins[i][()]
            grad = ins[grad_at]
            if grad.base is not None and _views_state(grad, ins[:n_state]):
                ins[grad_at] = grad = grad.copy()
            if compiled is not None and grad.flags.c_contiguous and _contiguous(ins, n_state):
                compiled(*ins, *extra)
            else:
                if not scratch:
                    scratch.extend(np.empty(shape, dtype) for _ in range(n_scratch))
                ufuncs(*ins, *extra, *scratch)
            return ins[0] if n_state == 1 else tuple(ins[:n_state])
        return update
    return factory


def _in_place(ins, out, n_state):
    """The compiler gave the state inputs' own buffers (a single output's `out` is the buffer itself)."""
    if out is None:
        return False
    if n_state == 1:
        return out is ins[0]
    for j in range(n_state):
        if out[j] is not ins[j]:
            return False
    return True


def _targets(ins, out, n_state):
    """The inputs with each state input replaced by the buffer its new value goes into: the compiler's
    (`out=`; given the input's values first unless it is the input itself) or a fresh C-ordered copy."""
    out = (out,) if n_state == 1 and out is not None else out
    targets = []
    for j, x in enumerate(ins[:n_state]):
        t = out[j] if out is not None else None
        if t is None:
            t = np.array(x, order="C")
        elif t is not x:
            np.copyto(t, x)
        targets.append(t)
    return targets + list(ins[n_state:])


def _contiguous(ins, n_state):
    for j in range(n_state):
        if not ins[j].flags.c_contiguous:
            return False
    return True


def _views_state(grad, state):
    """The gradient (a view) views a buffer being updated (a variable's or slot's transpose given as the
    gradient): both forms would read elements already written, so the kernel reads a copy instead."""
    for s in state:
        if grad.base is s or (s.base is not None and grad.base is s.base):
            return True
    return False


for _op_type in UPDATES:
    KERNELS.register(_op_type, inplace=True)(_update_factory(_op_type))

