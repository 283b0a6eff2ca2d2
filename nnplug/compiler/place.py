"""Plans spanning devices: a copy step wherever a value crosses from one backend to another.

Lowering gives each op the kernel of the backend it is placed on (nnplug/devices.py decides which) and
moves the constants it reads there while compiling. This pass, after dead-step elimination, finishes the
job as TensorFlow's graph partitioner does with its send/receive pairs: each step runs on its kernel's
backend, a variable store on its variable's; an input that lives elsewhere is copied just before its first
reader on each device, once per destination (a variable's copy is made again after the variable is
assigned). Inputs a kernel reads only for their shape (`OpDef.shape_inputs`: the embedding table a
GatherGrad is shaped like) are never copied. Feeds arrive on the host and go to whichever device reads
them; fetches are read back from the device that made them (a nested plan's, a cond branch's, come back to
the plan's own backend, where the outer step reads them). Strings stay on the host.

A plan whose steps all run on its own backend is left exactly as it was. One that spans devices runs with
a plain runner (`runner`): never recorded and replayed (`Plan.replay_obstacle`), since its host steps
must really run."""
from ..backend import KernelSpec
from ..devices import device_scope
from ..ops import registry
from ..ops.registry import register
from .ir import Step, Value

COPY = "DeviceCopy"
register(COPY, lambda s, d, a: [(s[0], d[0])], session_op=True)  # compiler-internal, as Snapshot


def _is_string(v):
    return v.dtype.name == "string"


def move_constant(v, backend, main, moved):
    """Constant `v` as a constant on `backend` (copied once, while compiling); any other Value unchanged."""
    src = v.device or main
    if v.const is None or src is backend or _is_string(v):
        return v
    got = moved.get((v, backend))
    if got is None:
        arr = backend.to_device(src.to_host(v.const))
        got = moved[v, backend] = Value(v.shape, v.dtype, "const", const=arr, persistent=True,
                                        device=None if backend is main else backend)
    return got


def step_device(step, main):
    """The backend a step runs on: its kernel's; a store's variable's; a snapshot's variable's."""
    if step.spec is not None and step.spec.backend is not None:
        return step.spec.backend
    v = step.outs[0] if step.store is not None else (step.ins[0] if step.ins else None)
    return (v.device if v is not None else None) or main


def _shape_only(step):
    """Indices of the step's inputs its kernel reads only for their shape."""
    opdef = registry.find(step.op_type) if step.spec is not None else None
    return opdef.shape_inputs if opdef is not None else ()


def _copier(src, dst):
    """One copy step's kernel. Its result is a buffer nobody else holds (the step is `fresh`, so later steps
    may write into it): the host leg is a copy the caller owns, whether or not `to_device` copies again."""
    to_host, to_device = src.to_host, dst.to_device
    return lambda x: to_device(to_host(x, persistent=True))


def place_steps(steps, fetched, main, host, nested):
    """(steps, fetched Values, the backends the plan runs on) with copy steps where values cross devices,
    or None when every step runs on `main` and reads only values there (the plan stays as it is)."""
    devices = [step_device(s, main) for s in steps]
    if all(d is main for d in devices) and all(v.device is None for s in steps for v in s.ins):
        return None
    feed_device = None if nested or host is main else host  # a nested plan is fed by its outer step
    for v in [v for s in steps for v in s.ins] + list(fetched):
        if v.kind == "feed":
            v.device = feed_device
    out, copies, moved = [], {}, {}

    def on(v, dst, name):
        """`v` on backend `dst`: copied there by a step (once per destination), or moved if constant."""
        src = v.device or main
        if src is dst or _is_string(v):
            return v
        if v.const is not None:
            return move_constant(v, dst, main, moved)
        got = copies.get((v, dst))
        if got is None:
            got = copies[v, dst] = Value(v.shape, v.dtype, device=None if dst is main else dst)
            spec = KernelSpec(COPY, name, {}, [v.shape], [v.dtype], [v.shape], [v.dtype], backend=dst)
            out.append(Step(COPY, _copier(src, dst), [v], [got], name, spec=spec, fresh=True))
        return got

    for step, device in zip(steps, devices):
        shape_only = _shape_only(step)
        step.ins = [v if i in shape_only else on(v, device, f"{step.name}/to_{device.name}")
                    for i, v in enumerate(step.ins)]
        out.append(step)
        if step.store is not None:  # later readers on other devices see the new value: copy it again
            var = step.outs[0]
            step.ins[0].persistent = True  # now also the variable's buffer
            for key in [k for k in copies if k[0] is var]:
                del copies[key]
        else:
            for o in step.outs:
                o.device = None if device is main else device
    if nested:
        fetched = [on(v, main, "fetch/to_" + main.name) for v in fetched]
    used = {}  # in order of first use
    for step in out:
        used.update((v.device or main, None) for v in step.ins)
        used[step_device(step, main)] = None
    return out, fetched, list(used) or [main]


def device_groups(devices, main):
    """(backend, only(step)) per device of a plan spanning `devices`, for the memory passes (buffers.py)."""
    return [(d, lambda step, d=d: step_device(step, main) is d) for d in devices]


def enter_device_scopes(steps, devices, main):
    """Where a plan spans CUDA devices, each step runs with its device current (CuPy launches there)."""
    scopes = {d: device_scope(d) for d in devices}
    if not any(s is not None for d, s in scopes.items() if d is not main):
        return
    for step in steps:
        scope = scopes.get(step_device(step, main))
        if scope is not None and step.kernel is not None:
            step.kernel = _in_scope(step.kernel, scope)


def _in_scope(kernel, scope):
    def run(*args, **kw):
        with scope:
            return kernel(*args, **kw)
    return run


def runner(plan, main):
    """How a plan spanning devices runs: feeds go to the host (a device array fed to it comes back first),
    then the plan's own copy steps take each where it is read."""
    fn, is_device, to_host = plan.fn, main.is_device_array, main.to_host
    return lambda V, feeds: fn(V, *[to_host(a) if is_device(a) else a for a in feeds])
