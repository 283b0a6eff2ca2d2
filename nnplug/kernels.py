"""Kernel tables: which kernel factory a backend runs for each op type, and each kernel's memory contract.

A factory is a plain module-level function `factory(spec) -> callable`, registered with one decorator that
states the op types it serves and what the kernel it returns may do with memory:

    KERNELS = Kernels()

    @KERNELS.register("ReduceSum", out=True)
    def reduce_sum(spec): ...

- `inplace=True`: the kernel accepts `out=` naming one of its *input* buffers (elementwise kernels, which
  read each element before writing it); implies `out` and `fresh`. A multi-output kernel (an optimizer
  update of a variable and its slots) gets `out=` a tuple, one entry per output: an input buffer of that
  output's shape and dtype to write it into, or None for a new buffer.
- `out=True`: the kernel accepts `out=` any other buffer of the output's shape and dtype (the compiler's
  static buffer plan writes temporaries there); implies `fresh`. A multi-output kernel gets a tuple, one
  entry per output: a buffer to write it into, or None for a new one.
- `fresh=True`: the kernel returns new buffers that nobody else holds (so later kernels may write into them).
- none of these: the result may be a view of an input or a buffer the kernel keeps (reshape, a constant).

`spec.backend` is the backend instance, for kernels that need its device context. A table is a read-only
mapping, so a plugin may start from another backend's table: `Kernels(NumpyBackend.kernels)`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np

if TYPE_CHECKING:
    from .backend import Backend, KernelSpec

FRESH, OUT, INPLACE = "fresh", "out", "inplace"

# A kernel factory: given a KernelSpec (concrete shapes and dtypes, attrs), the callable a plan runs.
KernelFactory: TypeAlias = "Callable[[KernelSpec], Callable[..., Any]]"
_Factory = TypeVar("_Factory", bound="Callable[[KernelSpec], Callable[..., Any]]")


class Kernels(Mapping[str, "KernelFactory"]):
    """op type -> factory(spec) -> kernel, with each kernel's memory contract."""

    def __init__(self, *bases: Mapping[str, KernelFactory]) -> None:
        self._factories, self._contracts = {}, {}
        for base in bases:
            self._factories.update(base)
            self._contracts.update(getattr(base, "_contracts", {}))

    def register(self, *op_types: str, inplace: bool = False, out: bool = False,
                 fresh: bool = False) -> Callable[[_Factory], _Factory]:
        """Decorator: the factory serves `op_types` (replacing an earlier registration)."""
        contract = INPLACE if inplace else OUT if out else FRESH if fresh else None

        def deco(factory):
            for op_type in op_types:
                self._factories[op_type] = factory
                self._contracts.pop(op_type, None)
                if contract is not None:
                    self._contracts[op_type] = contract
            return factory
        return deco

    def contract(self, op_type: str) -> str | None:
        """'inplace', 'out', 'fresh' or None (see the module docstring)."""
        return self._contracts.get(op_type)

    def ops_with(self, *contracts: str) -> frozenset[str]:
        return frozenset(op for op, c in self._contracts.items() if c in contracts)

    def __getitem__(self, op_type: str) -> KernelFactory:
        return self._factories[op_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def __repr__(self) -> str:
        return f"<Kernels: {len(self)} op types>"


def on_host(backend: Backend, fn: Callable[..., Any], n_outputs: int) -> Callable[..., Any]:
    """A kernel running `fn` (NumPy in, NumPy out) for `backend`: inputs copied to the host, results back.
    For ops with an `OpDef.host` kernel on backends that have no kernel of their own."""
    def to_host(x):  # None: an input read only for its shape, when folding; strings stay on the host
        # a NumPy array is on the host already: a view of a buffer is passed as it is (a collective reads
        # its inputs where the plan computed them, nnplug/distributed/shared.py)
        return x if x is None or isinstance(x, np.ndarray) else backend.to_host(x)

    def to_device(y):
        y = np.asarray(y)
        return y if y.dtype.kind == "O" else backend.to_device(y)
    if n_outputs == 1:
        return lambda *xs: to_device(fn(*[to_host(x) for x in xs]))
    return lambda *xs: tuple(to_device(y) for y in fn(*[to_host(x) for x in xs]))


def is_host_string(x: object) -> bool:
    """A string value (a NumPy object array of bytes): host ops make them and keep them on the host."""
    return isinstance(x, np.ndarray) and x.dtype.kind == "O"
