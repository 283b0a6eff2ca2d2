"""Code generation, the last pass: the steps become one Python function of flat kernel calls on locals.

Every name in the executed source is made here from a kind and a number — f0 (feeds), V[3] (variable
slots), c2 (constants), t5 (temporaries), b1 (planned buffers), k4 (kernels) — so no graph name, attribute
or dtype string ever enters executed code. The listing that people read (`Plan.source`) is rendered
separately, with each step's op type and graph name as a comment; it is never executed."""
import itertools

_plan_ids = itertools.count()


def _escape(text):
    return str(text).encode("unicode_escape").decode("ascii")


class _Names:
    def __init__(self):
        self.namespace = {}
        self._n = itertools.count()
        self._names = {}

    def of(self, v):
        name = self._names.get(v)
        if name is None:
            if v.kind == "feed":
                name = f"f{v.index}"
            elif v.kind == "var":
                name = f"V[{v.index}]"
            elif v.kind == "buffer":
                name = f"b{v.index}"
                self.namespace[name] = v.const
            elif v.kind == "const":
                name = f"c{next(self._n)}"
                self.namespace[name] = v.const
            else:
                name = f"t{next(self._n)}"
            self._names[v] = name
        return name

    def kernel(self, kernel):
        name = f"k{next(self._n)}"
        self.namespace[name] = kernel
        return name


def generate(steps, fetched, n_feeds):
    """(function, executed source, listing, [(kernel name, spec)], {buffer name: array})."""
    names = _Names()
    code, listing, kernels, buffers = [], [], [], {}
    for step in steps:
        if step.store is not None:
            line = f"{names.of(step.outs[0])} = {names.of(step.ins[0])}"
        else:
            k = names.kernel(step.kernel)
            if step.spec is not None:
                kernels.append((k, step.spec))
            args = (["V"] if step.with_vars else []) + [names.of(v) for v in step.ins]
            if isinstance(step.out, tuple):  # one entry per output: a buffer to write it into, or None
                args.append(f"out=({''.join(('None' if t is None else names.of(t)) + ', ' for t in step.out)})")
                buffers.update((names.of(t), t.const) for t in step.out if t is not None and t.kind == "buffer")
            elif step.out is not None:
                args.append(f"out={names.of(step.out)}")
                if step.out.kind == "buffer":
                    buffers[names.of(step.out)] = step.out.const
            outs = [names.of(v) for v in step.outs]
            call = f"{k}({', '.join(args)})"
            if not outs:  # an op run for its effect (a host op without outputs, e.g. MakeIterator)
                line = call
            else:
                line = f"{outs[0] if len(outs) == 1 else ', '.join(outs) + ','} = {call}"
        code.append(line)
        what = "Fused " + "+".join(step.members) if step.members else step.op_type
        listing.append(f"{line}  # {what} {_escape(step.name)}")
    n = next(_plan_ids)
    ret = ", ".join(names.of(v) for v in fetched) + ("," if len(fetched) == 1 else "")
    head = f"def plan_{n}(V{''.join(f', f{i}' for i in range(n_feeds))}):\n"
    tail = f"    return ({ret})\n"

    def render(lines):
        return head + "".join(f"    {line}\n" for line in (lines or ["pass"])) + tail
    source = render(code)
    namespace = dict(names.namespace)
    exec(compile(source, f"<nnplug plan {n}>", "exec"), namespace)  # noqa: S102 - identifiers made above only
    return namespace[f"plan_{n}"], source, render(listing), kernels, buffers
