"""The plan IR: values and steps as objects. Passes rewrite lists of steps; only code generation turns
them into text, naming every value by its kind and a number (never by a user's name)."""


class Value:
    """A value in a plan: its concrete shape and dtype, and where it lives.

    kind: 'feed' (index = feed position), 'var' (index = variable slot; one Value per slot and plan),
    'const' (a backend array known when compiling, in `const`), 'temp' (a step's output) or 'buffer' (a
    planned temporary, allocated once, in `const`). persistent: it aliases session state, a feed or a
    constant, so it must be copied before it is handed out. device: the backend instance it lives on when
    that is not the plan's own (a plan spanning devices, compiler/place.py), else None.
    """

    __slots__ = ("shape", "dtype", "kind", "index", "const", "persistent", "producer", "device")

    def __init__(self, shape, dtype, kind="temp", index=None, const=None, persistent=False, device=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.kind, self.index = kind, index
        self.const = const
        self.persistent = persistent
        self.producer = None  # (op type, input Values, attrs) of the single-output step that made it
        self.device = device

    def __repr__(self):
        return f"<Value {self.kind}{'' if self.index is None else self.index} {self.shape} {self.dtype.name}>"


class Step:
    """One line of a plan: `outs = kernel(*ins)` (out= `out` when set: a Value, or for a multi-output
    in-place update a tuple of Values or None, one per output), or a variable store
    `V[store] = ins[0]` (kernel None).

    spec: the KernelSpec (None for stores and fused chains); name: the graph op it comes from, for
    listings and errors only; fresh: the outputs are new buffers nobody else holds; keep: it has effects
    beyond its outputs (stores, random streams).
    """

    __slots__ = ("op_type", "kernel", "ins", "outs", "spec", "name", "fresh", "keep", "out", "store", "members",
                 "with_vars")

    def __init__(self, op_type, kernel, ins, outs, name, spec=None, fresh=False, keep=False, store=None):
        self.op_type, self.kernel = op_type, kernel
        self.ins, self.outs = list(ins), list(outs)
        self.spec, self.name = spec, name
        self.fresh, self.keep = fresh, keep
        self.out = None
        self.store = store
        self.members = None  # the op types a fused step computes
        self.with_vars = False  # the kernel takes the variable slots V first (a cond running a sub-plan)

    def __repr__(self):
        return f"<Step {self.op_type} {self.name!r}>"
