"""Loops compiled with numba, when it is installed (the `fast` extra), for the numpy backend's fused kernels
(optimizer updates, softmax cross-entropy, LSTM steps): one compiled pass costs well under a microsecond to call where
the same arithmetic in NumPy is one ufunc call (~1 us) and one pass over memory per operation.

Without numba (not installed, or `NNPLUG_NUMBA=0`) the cross-entropy runs its NumPy form and the numpy
backend leaves the fused update and LSTM-step kernels out, so the compiler expands those ops into primitives: their
NumPy forms measured no faster than the expansion (benchmarks/optimizer_step.py) and serve only the arrays
the loops do not take. `NNPLUG_FUSED_KERNELS=0` turns all of it off (the "before" of a benchmark). Both are
read when the backend is imported. Functions are compiled on first use and cached on disk (`cache=True`),
so only the first process on a machine pays the compilation.
"""
import importlib.util
import os

FUSED_KERNELS = os.environ.get("NNPLUG_FUSED_KERNELS", "1") != "0"
_WANT_NUMBA = FUSED_KERNELS and os.environ.get("NNPLUG_NUMBA", "1") != "0"
# numba importable (found without importing it, which costs ~0.3 s): the fused update kernels are registered
HAVE_NUMBA = _WANT_NUMBA and importlib.util.find_spec("numba") is not None
_state = {}
JIT_DTYPES = ("float32", "float64")  # what the compiled loops are used for; other dtypes run NumPy


def numba():
    """The numba module, or None when it is absent or turned off (imported once, on first use: importing it
    costs ~0.3 s, which a program that never trains should not pay)."""
    if "numba" not in _state:
        mod = None
        if _WANT_NUMBA:
            try:
                import numba as mod
            except ImportError:
                mod = None
        _state["numba"] = mod
    return _state["numba"]


# LLVM flags that let float loops vectorise and contract into FMAs while NaN and inf still propagate as in
# the ufuncs (no 'nnan'/'ninf', which would let the compiler assume they never occur)
REORDER = frozenset({"contract", "reassoc", "nsz", "arcp"})


def compiled(fn, helpers=(), fastmath=frozenset()):
    """`fn` compiled by numba, or None without numba: no Python objects, the GIL released, cached on disk,
    and NumPy's error model (x/0 is inf, as in the ufuncs, not a ZeroDivisionError check in every
    iteration, which would also keep loops from vectorising). Compiled on its first call. `helpers` are
    the plain functions `fn` calls, which numba then compiles into it; `fastmath`: LLVM flags (REORDER)."""
    key = ("jit", fn, fastmath)
    if key not in _state:
        nb = numba()
        if nb is not None:
            for h in helpers:
                if ("helper", h) not in _state:
                    _state["helper", h] = nb.extending.register_jitable(error_model="numpy")(h)
        _state[key] = (nb.njit(cache=True, nogil=True, error_model="numpy", fastmath=set(fastmath))(fn)
                       if nb is not None else None)
    return _state[key]


def usable(dtype):
    """The compiled loops take float32 or float64 arrays (C-contiguous ones: the kernels check on each call)."""
    return dtype.name in JIT_DTYPES

