"""Memory passes over a plan's steps: liveness, in-place reuse of dying buffers and of variables' own
buffers, and the static buffer plan that gives every other temporary a buffer allocated once.

A plan spanning devices (place.py) runs each pass once per device with that device's backend's contracts
and memory: `only(step)` says which steps are on it (None: every step); liveness stays the whole plan's."""
from .ir import Value


def _is_store(step):
    return step.store is not None


def liveness(steps, live_out):
    """Buffers and when they die. Returns (owned, root, last_use): `owned` are temporaries a fresh-output
    kernel made and no variable keeps; `root` maps a possible view to the buffers it may alias; `last_use`
    gives each buffer's last reading step (len(steps) for fetched ones), views included."""
    owned, root = set(), {}
    for step in steps:
        if _is_store(step):
            owned.discard(root.get(step.ins[0], step.ins[0]))  # stored into a variable: now session state
        elif step.fresh:
            owned.update(step.outs)
        else:  # the outputs may be views of any input: they keep those buffers alive
            parents = [root.get(v, v) for v in step.ins]
            for o in step.outs:
                root[o] = parents[0] if len(parents) == 1 else tuple(parents)
    last_use = {}

    def touch(value, i):
        r = root.get(value, value)
        for b in (r if isinstance(r, tuple) else (r,)):
            last_use[b] = max(last_use.get(b, -1), i)

    for i, step in enumerate(steps):
        for v in step.ins:
            touch(v, i)
    for v in live_out:
        touch(v, len(steps))
    return owned, root, last_use


def _fits(v, out):
    # rank 0 never: a kernel may return a 0-d result as a NumPy scalar, which cannot be written into
    return v.shape == out.shape and v.dtype == out.dtype and len(out.shape) > 0


def _skip(step, only):
    return _is_store(step) or (only is not None and not only(step))


def reuse_dying_buffers(steps, live_out, inplace_ops, only=None):
    """Let an elementwise kernel write into an input buffer that dies at that step (liveness), so a
    training step allocates far less. Only buffers a fresh-output kernel made, never state or feeds."""
    owned, root, last_use = liveness(steps, live_out)
    for i, step in enumerate(steps):
        if _skip(step, only) or step.op_type not in inplace_ops or len(step.outs) != 1:
            continue
        for v in step.ins:
            if (v in owned and v not in root and last_use.get(v) == i and step.ins.count(v) == 1
                    and _fits(v, step.outs[0])):
                step.out = v
                break


def update_variables_in_place(steps, live_out, inplace_ops, only=None):
    """`V[k] = f(V[k], ...)` becomes an in-place update of V[k]'s buffer when nothing reads V[k] (or a
    view of it) after that step and the result ends up stored in V[k] — as optimizer updates do. A
    multi-output step (a fused update of a variable and its slots) gets `out=` a tuple, one entry per
    output: the variable it updates in place, or None (a new buffer)."""
    dest = {}  # temporary -> the variable Value it is finally stored into, following in-place writes back
    for step in reversed(steps):
        if _is_store(step):
            dest.setdefault(step.ins[0], step.outs[0])
        elif isinstance(step.out, Value) and step.outs[0] in dest:
            dest.setdefault(step.out, dest[step.outs[0]])
    _, _, last_use = liveness(steps, live_out)
    for i, step in enumerate(steps):
        if _skip(step, only) or step.op_type not in inplace_ops:
            continue
        targets = []
        for o in step.outs:
            var = dest.get(o)
            ok = (var is not None and var in step.ins and step.ins.count(var) == 1 and last_use.get(var) == i
                  and _fits(var, o) and var not in targets)
            targets.append(var if ok else None)
        _write_into(step, targets)


def _write_into(step, targets):
    """Give `step` the buffers its outputs go into (`targets`, None: a new buffer): a single output's
    buffer itself, a multi-output kernel a tuple (nnplug/kernels.py); nothing when every entry is None."""
    if any(t is not None for t in targets):
        step.out = targets[0] if len(targets) == 1 else tuple(targets)


def _storages(steps):
    """Which physical buffers each value may live in: an in-place write (`out=`) continues its target's
    buffer; a fresh kernel starts one (keyed by its output); a view-returning kernel may alias all its
    inputs'. Returns (of(value) -> tuple of storages, {storage: index of the step that starts it})."""
    home, views, born = {}, {}, {}

    def of(v):
        return views.get(v) or (home.get(v, v),)

    for i, step in enumerate(steps):
        if _is_store(step):
            continue
        if isinstance(step.out, tuple):  # a multi-output in-place update: None entries are new buffers
            for o, t in zip(step.outs, step.out):
                home[o] = o if t is None else home.get(t, t)
                if t is None:
                    born[o] = i
        elif step.out is not None:
            home[step.outs[0]] = home.get(step.out, step.out)
        elif step.fresh:
            for o in step.outs:
                home[o] = o
                born[o] = i
        else:
            parents = tuple(s for v in step.ins for s in of(v))
            for o in step.outs:
                views[o] = parents
    return of, born


def _homed(steps, live_out, homes, only):
    """{value: array} for values whose only reader is a step whose kernel wants them computed into that
    array (`homes[step]`: OpDef.input_homes), as nothing else may write there."""
    readers = {}
    for step in steps:
        for v in step.ins:
            readers[v] = readers.get(v, 0) + 1
    found = {}
    for step in steps:
        if _skip(step, only):
            continue
        for v, home in zip(step.ins, homes.get(step) or ()):
            if (home is not None and readers[v] == 1 and v not in live_out and v.shape == home.shape
                    and home.dtype == v.dtype.np):
                found[v] = home
    return found


def plan_buffers(steps, live_out, out_ops, allocate, only=None, homes=None):
    """Static buffer plan by liveness: every temporary a kernel in `out_ops` makes is written (`out=`) into
    a buffer allocated here, once, and shared with later temporaries of the same shape and dtype once it is
    dead — so a step allocates nothing after its first run. Never for fetched values, nor anything stored
    into a variable. A value whose only reader wants it elsewhere (`homes`, see _homed) is written there,
    into a buffer of its own. Returns the buffer Values (kind 'buffer', the array in `const`)."""
    if not out_ops:
        return []
    homed = _homed(steps, live_out, homes, only) if homes else {}
    of, born = _storages(steps)
    end, barred = {}, set()
    for i, step in enumerate(steps):
        for v in step.ins:
            for s in of(v):
                end[s] = max(end.get(s, -1), i)
                if _is_store(step):  # stored into a variable: session state from now on
                    barred.add(s)
    for v in live_out:
        barred.update(of(v))
    free, buffers, dying, held = {}, [], {}, {}
    for s, i in born.items():
        dying.setdefault(max(end.get(s, i), i), []).append(s)

    def take(v):
        """A dead buffer of v's shape and dtype, or a new one; None for values that must not get one."""
        if v in barred or len(v.shape) == 0:
            return None
        if v in homed:  # never freed for another value: its reader's kernel owns that memory
            buffers.append(Value(v.shape, v.dtype, "buffer", index=len(buffers), const=homed[v]))
            return buffers[-1]
        key = (v.shape, v.dtype)
        pool = free.get(key)
        if pool:
            buf = pool.pop()
        else:
            buf = Value(v.shape, v.dtype, "buffer", index=len(buffers), const=allocate(v.shape, v.dtype.np))
            buffers.append(buf)
        held[v] = (key, buf)
        return buf

    for i, step in enumerate(steps):
        if not _skip(step, only) and step.out is None and step.op_type in out_ops and not step.keep:
            _write_into(step, [take(v) for v in step.outs])
        for s in dying.get(i, ()):
            if s in held:
                key, buf = held.pop(s)
                free.setdefault(key, []).append(buf)
    return buffers
