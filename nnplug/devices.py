"""TF1 device placement on nnplug's backends: `tf.device('/gpu:0')` blocks, `tf.ConfigProto` with
`allow_soft_placement`, `log_device_placement` and `gpu_options.allow_growth`.

A Session runs its whole graph on one backend. Without an explicit `Session(backend=...)`, ops pinned to a
GPU choose the GPU backend (`cupy`, device N for '/gpu:N') when it can run; when it cannot, soft placement
falls back to the default backend, as TF1 places such ops on the CPU, and without soft placement the
Session refuses with an error naming the op and the device, as TF1 does. '/cpu:N' is always satisfied."""
import re

from .errors import BackendError, InvalidArgumentError

_DEVICE = re.compile(r"(?:/job:\w+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?(?P<kind>cpu|gpu|xla_gpu|xla_cpu)"
                     r"(?::(?P<index>\d+|\*))?\Z", re.IGNORECASE)


def parse(spec):
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


def canonical(spec):
    kind, index = parse(spec)
    return "" if not kind else f"/device:{kind}:{0 if index is None else index}"


class GPUOptions:
    """TF1's GPU options: accepted; nnplug's GPU backend grows its memory pool as needed (allow_growth)."""

    def __init__(self, allow_growth=True, per_process_gpu_memory_fraction=1.0, visible_device_list="", **kw):
        self.allow_growth = allow_growth
        self.per_process_gpu_memory_fraction = per_process_gpu_memory_fraction
        self.visible_device_list = visible_device_list


class ConfigProto:
    """TF1's session configuration: the placement options are honoured (see the module docstring); thread
    counts and device counts are accepted and have no effect."""

    def __init__(self, allow_soft_placement=False, log_device_placement=False, gpu_options=None,
                 device_count=None, intra_op_parallelism_threads=0, inter_op_parallelism_threads=0, **kw):
        self.allow_soft_placement = allow_soft_placement
        self.log_device_placement = log_device_placement
        self.gpu_options = gpu_options if gpu_options is not None else GPUOptions()
        self.device_count = dict(device_count or {})
        self.intra_op_parallelism_threads = intra_op_parallelism_threads
        self.inter_op_parallelism_threads = inter_op_parallelism_threads


def backend_for(graph, config):
    """The backend name a Session on `graph` should use given its ops' devices, or None for the default."""
    from . import plugins
    wanted = None
    for op in graph.get_operations():
        kind, index = parse(getattr(op, "device", ""))
        if kind == "GPU":
            wanted = (op, 0 if index is None else index)
            break
    if wanted is None:
        return None
    op, index = wanted
    try:
        plugins.get_backend(f"cupy:{index}")
        return f"cupy:{index}"
    except BackendError as e:
        why = str(e)
    if config is not None and config.allow_soft_placement:
        return None
    raise InvalidArgumentError(f"Cannot assign a device for operation '{op.name}': could not satisfy explicit device "
                               f"specification '{op.device}' because no GPU backend can run here ({why}). Pass "
                               f"config=tf.ConfigProto(allow_soft_placement=True) to run it on the default backend, "
                               f"or remove the tf.device block", op)
