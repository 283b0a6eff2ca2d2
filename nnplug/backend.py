"""The interface a backend implements: kernel factories per op, device memory, synchronisation, RNG.

Kernels of shape-only ops (FullLike, Shape) must not read their inputs' values: they are folded at compile
time. A "Copy" kernel, when present, is used to store a private copy when a variable is assigned a constant.

A kernel factory receives a KernelSpec with *concrete* shapes (plans are compiled per feed shapes) and
returns a plain callable, so a compiled step does no shape logic. Composite ops (softmax, cross-entropy,
the fused backward ops) are optional: without a kernel the compiler expands them into primitives.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .kernels import FRESH, INPLACE, OUT, KernelFactory, Kernels

if TYPE_CHECKING:
    from .dtypes import DType
    from .graph import Operation

IDENTITY = object()  # a factory may return this: "the output is input 0, unchanged"


class KernelSpec:
    """What a kernel factory may specialise on: op type and name, attrs, concrete shapes and dtypes."""

    __slots__ = ("op_type", "name", "attrs", "in_shapes", "in_dtypes", "out_shapes", "out_dtypes", "rng", "backend",
                 "op", "state", "replay_obstacle")

    def __init__(self, op_type: str, name: str, attrs: dict[str, Any], in_shapes: Sequence[tuple[int, ...]],
                 in_dtypes: Sequence[DType], out_shapes: Sequence[tuple[int, ...]], out_dtypes: Sequence[DType],
                 rng: Any = None, backend: Backend | None = None, op: Operation | None = None) -> None:
        self.op_type, self.name, self.attrs = op_type, name, attrs
        self.in_shapes, self.in_dtypes = in_shapes, in_dtypes
        self.out_shapes, self.out_dtypes = out_shapes, out_dtypes
        self.rng = rng
        self.backend = backend  # the backend instance the kernel is made for (set by Backend.kernel)
        self.op = op  # the graph Operation being compiled (for messages), if any
        self.state = None  # for host kernels: the run state (a Session) whose resources they may keep
        self.replay_obstacle = None  # set by a factory whose kernel must really run each step (NCCL's)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.out_shapes[0]

    @property
    def out_dtype(self) -> DType:
        return self.out_dtypes[0]

    def __repr__(self) -> str:
        return f"<KernelSpec {self.op_type} '{self.name}' {self.in_shapes} -> {self.out_shapes}>"


class Backend:
    """Subclass per device family; register the class from a plugin's `nnplug_backends` hook."""

    name: str | None = None
    aliases: tuple[str, ...] = ()
    kernels: Mapping[str, KernelFactory] = {}  # op type -> factory(spec) -> callable: a nnplug.kernels.Kernels table, or a plain dict
    # With a Kernels table the three sets below come from the contracts registered with each kernel; a
    # plain dict states them here. Op types whose kernels always return new buffers (so the compiler may
    # later write into them) ...
    fresh_ops: frozenset[str] = frozenset()
    # ... and whose kernels accept `out=` naming an input buffer of the output's shape to write into.
    inplace_ops: frozenset[str] = frozenset()
    # ... and whose kernels accept `out=` any buffer of the output's shape and dtype (not an input): the
    # compiler then plans every temporary into buffers it allocates once, with `empty`.
    out_ops: frozenset[str] = frozenset()
    # Elementwise op types this backend can compile into one kernel via fuse_elementwise (see fusion.py).
    fusable_ops: frozenset[str] = frozenset()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        table = cls.__dict__.get("kernels")
        if isinstance(table, Kernels):
            for attr, contracts in (("inplace_ops", (INPLACE,)), ("out_ops", (INPLACE, OUT)),
                                    ("fresh_ops", (INPLACE, OUT, FRESH))):
                if attr not in cls.__dict__:
                    setattr(cls, attr, table.ops_with(*contracts))

    def __init__(self, device: int | None = None) -> None:
        self.device = device

    # -- discovery ----------------------------------------------------------------------
    @classmethod
    def is_available(cls) -> tuple[bool, str]:
        """(True, '') when it can run here, else (False, reason naming what is missing)."""
        return True, ""

    @classmethod
    def devices(cls) -> list[str]:
        return ["cpu"]

    # -- kernels ------------------------------------------------------------------------
    def has_kernel(self, op_type: str) -> bool:
        return op_type in self.kernels

    def kernel(self, spec: KernelSpec) -> Callable[..., Any]:
        try:
            factory = self.kernels[spec.op_type]
        except KeyError:
            raise NotImplementedError(f"backend '{self.name}' has no kernel for op type '{spec.op_type}'") from None
        spec.backend = self
        return factory(spec)

    def plan_runner(self, plan: Any) -> Callable[..., Any]:
        """How a compiled plan runs: a callable `(V, feed arrays) -> backend arrays`, feeds being host NumPy
        arrays or this backend's own. The default copies host feeds in and calls the plan; a device backend
        may instead replay a captured graph of it."""
        fn, to_device = plan.fn, self.to_device
        return lambda V, feeds: fn(V, *[to_device(a) if a.dtype.kind != "O" else a for a in feeds])

    def fuse_elementwise(self, chain: Any) -> Callable[..., Any] | None:
        """Return one callable computing a fusion.Chain of elementwise ops, or None to decline."""
        return None

    # -- memory -------------------------------------------------------------------------
    def to_device(self, array: np.ndarray) -> Any:
        """Host NumPy array -> backend array (feeds, constants, loaded variables; strings, object arrays of
        bytes, stay on the host and never come here)."""
        return array

    def empty(self, shape: tuple[int, ...], dtype: np.dtype | type) -> Any:
        """An uninitialised device buffer of a NumPy dtype (planned temporaries when `out_ops` is set: the
        session views flat ones as `buf[:n].reshape(shape)`)."""
        return np.empty(shape, dtype)

    def to_host(self, value: Any, persistent: bool = False) -> np.ndarray:
        """Backend array -> a NumPy array the caller owns (a copy where it could alias session state)."""
        return np.array(value) if persistent else np.asarray(value)

    def is_device_array(self, value: Any) -> bool:
        """True for this backend's own arrays: they may be fed as they are (no host round trip)."""
        return False

    def synchronize(self) -> None:
        """Block until queued work is done (for timing); a no-op on synchronous backends."""

    def make_rng(self, seed: int | tuple[int, ...] | None) -> Any:
        """A random stream for one random op in one session; `seed` is an int or a tuple of ints."""
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))

    def describe(self) -> str:
        return f"{self.name} ({self.device})"
