"""A capturable matrix product: cuBLAS GEMM called directly (ctypes), on our own handle.

Why: CuPy's own cuBLAS wrappers refuse to run while a stream is being captured into a CUDA graph
(cupy/cupy#6290), yet cuBLAS itself supports capture. Calling `cublas{S,D}gemm_v2` on a handle bound to
the current stream, with a fixed workspace (so cuBLAS never allocates while capturing), makes whole
training steps capturable — and costs less Python per call than `cupy.matmul` when not capturing.

Row-major `C = op(A) @ op(B)` is the column-major `C^T = op(B)^T @ op(A)^T`, so no copies are needed:
A C-contiguous operand is used as stored; an F-contiguous one (a transposed view) as its transpose.
"""
import ctypes
import os

import numpy as np

OP_N, OP_T = 0, 1
WORKSPACE_BYTES = 32 << 20  # what cuBLAS asks for on Hopper; fixed so capture never allocates


def _find_library():
    """The libcublas CuPy already loaded (its path from /proc/self/maps), else the loader's default."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                base = os.path.basename(path)
                if base.startswith("libcublas.so") and os.path.exists(path):
                    return path
    except OSError:
        pass
    for name in ("libcublas.so.13", "libcublas.so.12", "libcublas.so"):
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return None


class Gemm:
    """cuBLAS GEMM for 2-D float32/float64 CuPy arrays on the current stream."""

    def __init__(self, cupy):
        self.cupy = cupy
        cupy.cuda.device.get_cublas_handle()  # makes CuPy load libcublas, so we bind to the same library
        path = _find_library()
        if path is None:
            raise OSError("libcublas not found")
        lib = ctypes.CDLL(path)
        self.handle = ctypes.c_void_p()
        if lib.cublasCreate_v2(ctypes.byref(self.handle)) != 0:
            raise OSError("cublasCreate failed")
        self.workspace = cupy.empty(WORKSPACE_BYTES, dtype=np.uint8)
        if hasattr(lib, "cublasSetWorkspace_v2"):
            lib.cublasSetWorkspace_v2(self.handle, ctypes.c_void_p(self.workspace.data.ptr),
                                      ctypes.c_size_t(WORKSPACE_BYTES))
        self.set_stream = lib.cublasSetStream_v2
        self.set_stream.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        self.fns, self._scalars = {}, []
        for dtype, fname, ctype in ((np.float32, "cublasSgemm_v2", ctypes.c_float),
                                    (np.float64, "cublasDgemm_v2", ctypes.c_double)):
            fn = getattr(lib, fname)
            fn.argtypes = argtypes
            fn.restype = ctypes.c_int
            one, zero = ctype(1), ctype(0)
            self._scalars.extend((one, zero))  # byref() below must point at live objects
            self.fns[np.dtype(dtype)] = (fn, ctypes.byref(one), ctypes.byref(zero))
        self._last_stream = None

    def supports(self, dtype):
        return np.dtype(dtype) in self.fns

    def _operand(self, x, transposed):
        """(array as stored C-contiguous, whether the math transposes it): F-order views cost no copy."""
        if x.flags.c_contiguous:
            return x, transposed
        if x.flags.f_contiguous:
            return x.T, not transposed
        return self.cupy.ascontiguousarray(x), transposed

    def __call__(self, a, b, transpose_a=False, transpose_b=False, out=None):
        a, ta = self._operand(a, transpose_a)
        b, tb = self._operand(b, transpose_b)
        m, k = (a.shape[1], a.shape[0]) if ta else a.shape
        k2, n = (b.shape[1], b.shape[0]) if tb else b.shape
        if k != k2:
            raise ValueError(f"matmul: inner dimensions differ ({k} vs {k2})")
        if out is None:
            out = self.cupy.empty((m, n), dtype=a.dtype)
        if m == 0 or n == 0:
            return out
        if k == 0:
            out.fill(0)
            return out
        fn, one, zero = self.fns[a.dtype]
        stream = self.cupy.cuda.get_current_stream().ptr
        if stream != self._last_stream:
            self.set_stream(self.handle, stream)
            self._last_stream = stream
        status = fn(self.handle, OP_T if tb else OP_N, OP_T if ta else OP_N, n, m, k, one,
                    b.data.ptr, b.shape[1], a.data.ptr, a.shape[1], zero, out.data.ptr, n)
        if status != 0:
            raise RuntimeError(f"cuBLAS gemm failed with status {status} (m={m}, n={n}, k={k}, {a.dtype})")
        return out
