"""TF1 device placement on nnplug's backends: `tf.device('/gpu:0')` blocks, `tf.ConfigProto` with
`allow_soft_placement`, `log_device_placement` and `gpu_options.allow_growth`.

TF1's devices map onto backend instances. A Session's own backend runs every op that names no device. When
that backend is a device backend (its arrays are not NumPy's: CuPy, OpenCL, most plugins), the graph may
span devices, as a TF1 graph spans CPU and GPU:

- '/cpu:N' is the host, the numpy backend (on a host backend, the session's own backend);
- '/gpu:N' is the CuPy backend's device N (an instance per device). In a Session whose backend is another
  accelerator (OpenCL, a plugin's), which numbers no GPUs of its own, '/gpu:0' is that accelerator;
- a variable's assign ops run where the variable lives (TF1 colocates them); control flow (`Cond`,
  `While`) runs on the session's backend, its branches' ops wherever they are placed.

An op whose GPU cannot run here goes, with `allow_soft_placement`, to the session's backend (as TF1 moves
it to the CPU); without it the Session refuses, naming the op and the device, as TF1 does. Without an
explicit `Session(backend=...)`, the first op pinned to a GPU picks the session's backend (`backend_for`).
The compiler then gives each step the kernel of its op's backend and copies values where they cross
devices (nnplug/compiler/place.py); `log_device_placement` prints where each op runs."""
from __future__ import annotations

import contextlib
import functools
import re
from typing import TYPE_CHECKING, Any, ContextManager

import numpy as np

from .errors import BackendError, InvalidArgumentError

if TYPE_CHECKING:
    from .backend import Backend
    from .graph import Graph, Operation

_DEVICE = re.compile(r"(?:/job:\w+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?(?P<kind>cpu|gpu|xla_gpu|xla_cpu)"
                     r"(?::(?P<index>\d+|\*))?\Z", re.IGNORECASE)
_TASK = "/job:localhost/replica:0/task:0"
COLOCATED = frozenset({"Assign", "AssignAdd", "AssignSub"})  # run on their variable's device, as in TF1
ON_SESSION_BACKEND = frozenset({"Cond", "While"})  # read their predicate on the session's backend


def parse(spec: str | None) -> tuple[str, int | None]:
    """('CPU'|'GPU', index or None) for a TF device string; ('', None) for '' (no constraint)."""
    spec = (spec or "").strip()
    if not spec or re.fullmatch(r"(/job:\w+)?(/replica:\d+)?(/task:\d+)?", spec):
        return "", None
    m = _DEVICE.match(spec)
    if m is None:
        raise ValueError(f"unknown device specification {spec!r}: expected e.g. '/cpu:0', '/gpu:1' or "
                         f"'/job:localhost/replica:0/task:0/device:GPU:0'")
    kind = "GPU" if "gpu" in m.group("kind").lower() else "CPU"
    index = m.group("index")
    return kind, None if index in (None, "*") else int(index)


def canonical(spec: str | None) -> str:
    kind, index = parse(spec)
    return "" if not kind else f"/device:{kind}:{0 if index is None else index}"


class GPUOptions:
    """TF1's GPU options: accepted; nnplug's GPU backend grows its memory pool as needed (allow_growth)."""

    def __init__(self, allow_growth: bool = True, per_process_gpu_memory_fraction: float = 1.0,
                 visible_device_list: str = "", **kw: Any) -> None:
        self.allow_growth = allow_growth
        self.per_process_gpu_memory_fraction = per_process_gpu_memory_fraction
        self.visible_device_list = visible_device_list


class ConfigProto:
    """TF1's session configuration: the placement options are honoured (see the module docstring); thread
    counts and device counts are accepted and have no effect."""

    def __init__(self, allow_soft_placement: bool = False, log_device_placement: bool = False,
                 gpu_options: GPUOptions | None = None, device_count: dict[str, int] | None = None,
                 intra_op_parallelism_threads: int = 0, inter_op_parallelism_threads: int = 0, **kw: Any) -> None:
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement
        self.gpu_options = gpu_options if gpu_options is not None else GPUOptions()
        self.device_count = dict(device_count or {})
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.inter_op_parallelism_threads = inter_op_parallelism_threads


@functools.lru_cache(maxsize=64)
def is_host(backend: Backend) -> bool:
    """A backend whose arrays are NumPy arrays runs on the host: nothing to copy between it and numpy."""
    return type(backend.to_device(np.zeros(1, np.float32))) is np.ndarray


def host_for(backend: Backend) -> Backend:
    """The backend that stands for '/cpu:0' beside `backend`: itself on the host, else numpy."""
    from . import plugins
    return backend if is_host(backend) else plugins.get_backend("numpy")


def _index(backend):
    return backend.device if isinstance(backend.device, int) else 0


def _gpu(index, main):
    """(backend for '/gpu:index' beside the session's backend `main`, or None; why not)."""
    from . import plugins
    if main.name == "cupy" and _index(main) == index:
        return main, ""
    if index == 0 and main.name != "cupy" and not is_host(main):
        return main, ""  # the session's own accelerator (OpenCL, a plugin's) stands for the one GPU
    try:
        with on_device(main):  # starting another CUDA device's backend makes it current: not for long
            return plugins.get_backend(f"cupy:{index}"), ""
    except BackendError as e:
        return None, str(e)


def _device_of(op, pinned=None):
    """(kind, index) of the device `pinned` (default: `op`) names, or an error naming the op."""
    try:
        return parse((pinned or op).device)
    except ValueError as e:
        raise InvalidArgumentError(f"operation '{op.name}': {e}", op) from None


def _cannot_place(op, spec, why):
    return InvalidArgumentError(f"Cannot assign a device for operation '{op.name}': could not satisfy explicit device "
                                f"specification '{spec}' because no GPU backend can run it here ({why}). Pass "
                                f"config=tf.ConfigProto(allow_soft_placement=True) to run it on the session's "
                                f"backend, or remove the tf.device block", op)


def backend_for(graph: Graph, config: ConfigProto | None) -> str | None:
    """The backend name a Session on `graph` should use given its ops' devices, or None for the default."""
    from . import plugins
    for op in graph.get_operations():
        kind, index = _device_of(op)
        if kind == "GPU":
            break
    else:
        return None
    found, why = _gpu(index or 0, plugins.get_backend())
    if found is not None and found.name == "cupy":
        return f"cupy:{_index(found)}"
    if found is not None or (config is not None and config.allow_soft_placement):
        return None
    raise _cannot_place(op, op.device, why)


class Placer:
    """The backend instance each op of a Session on `backend` runs on (the rules in the module docstring),
    decided once per op. Raises InvalidArgumentError naming the op for a device it cannot satisfy."""

    def __init__(self, backend: Backend, config: ConfigProto | None = None) -> None:
        self.backend = backend
        self.soft = bool(config is not None and config.allow_soft_placement)
        self._of = {}  # op -> backend
        self._gpus = {}  # index -> (backend or None, why)

    @functools.cached_property
    def host(self) -> Backend:
        return host_for(self.backend)

    def __call__(self, op: Operation) -> Backend:
        found = self._of.get(op)
        if found is None:
            found = self._of[op] = self._place(op)
        return found

    def _place(self, op):
        if op.type in ON_SESSION_BACKEND:
            return self.backend
        pinned = op.attrs["variable"].op if op.type in COLOCATED else op
        kind, index = _device_of(op, pinned)
        if not kind:
            return self.backend
        if kind == "CPU":
            return self.host
        index = index or 0
        if index not in self._gpus:
            self._gpus[index] = _gpu(index, self.backend)
        found, why = self._gpus[index]
        if found is not None:
            return found
        if self.soft:
            return self.backend
        raise _cannot_place(op, pinned.device, why)

    def device_name(self, backend: Backend) -> str:
        """TF1's full name of the device `backend` stands for, as log_device_placement prints it."""
        if backend is self.host:
            return f"{_TASK}/device:CPU:0"
        kind = "GPU" if backend.name == "cupy" else backend.name.upper()
        return f"{_TASK}/device:{kind}:{_index(backend)}"


def device_scope(backend: Backend) -> ContextManager[Any] | None:
    """A context manager that makes `backend`'s device current for the work inside (and the one before
    current again after), or None when it has none: CuPy launches on the current CUDA device, so the steps
    of a plan spanning CUDA devices each run in their device's."""
    if backend.name == "cupy":
        return backend.cupy.cuda.Device(_index(backend))  # type: ignore[attr-defined]  # the CuPy backend's module
    return None


def on_device(backend: Backend) -> ContextManager[Any]:
    """`device_scope(backend)`, or a scope that does nothing."""
    return device_scope(backend) or contextlib.nullcontext()
