"""The op registry: one definition per op type. Everything the core knows about an op sits in its OpDef:
the shape/dtype rule, the gradient, a composite's expansion into primitives, which inputs are read only for
their shape, whether the Session handles it itself, its simplification rule, a host kernel, and for
elementwise ops the expression the kernel generators and the conformance suite derive from
(`nnplug/ops/elementwise.py`)."""


class OpDef:
    """What the core knows about one op type. No backend code lives here.

    infer(in_shapes, in_dtypes, attrs) -> [(shape, dtype), ...] runs at build time (shapes may hold
    None) and again at compile time with concrete shapes. grad(op, *out_grads) -> [grad or None per
    input] builds graph ops. expand(builder, inputs, attrs) -> outputs lowers a composite op into
    primitives at compile time. Stateful ops are never folded or merged. host(spec) -> fn(*numpy arrays)
    -> array (or a tuple of arrays) is a kernel that runs on the host for every backend without one of its
    own: inputs are copied to the host and results back (strings, collectives over MPI, summaries).
    shape_inputs: indices of inputs whose values the kernel never reads, only their shapes (the op folds
    when every other input is constant; kernels accept None there). session_op: the Session and compiler
    handle it (feeds, constants, variables, grouping): no kernel. simplify(low, inputs, attrs, out_shape,
    out_dtype) -> a Value needing no kernel, or None. elementwise: an `elementwise.Elementwise` row.
    value_inputs: {input index: attr name} for inputs whose *value* sets the output shape (a shape given as
    a tensor): the compiler reads it once per plan into that attr (it must be a constant by then, which
    `tf.shape(x)` of a fed x is), and kernels ignore the input.
    source: a stateful host op whose output shapes are known only when it runs (a dataset iterator's next
    element, a queue's dequeue, a decode_raw): the Session runs its host kernel before the plan (when its
    inputs are fed, made by an earlier source, or constants; otherwise the plan runs it) and feeds the
    results, so the plan is specialised to their shapes.
    schedule: 'early' — the compiler runs the step as soon as its inputs exist; 'late' — only just before
    a step reads its outputs (a collective's start and its wait, so the work between them overlaps with
    the communication: nnplug/compiler/schedule.py).
    input_homes(spec) -> [array or None per input] or None: host arrays the kernel would like its inputs
    computed into (a collective's shared memory, so it need not copy them there); the static buffer plan
    has an input's producer write there when nothing else reads that input.
    reuses_outputs: the kernel's outputs live in memory it writes again on a later run (a collective's
    shared result), so the compiler copies them before they are fetched or stored in a variable.
    backend_kernels: {backend name: factory(spec) -> kernel or None}: kernels another package provides for
    one backend's arrays (the distributed package's NCCL allreduce for cupy); None falls back to `host`.
    """

    def __init__(self, name, infer, grad=None, expand=None, stateful=False, host=None, shape_inputs=(),
                 session_op=False, simplify=None, elementwise=None, value_inputs=None, source=False,
                 schedule=None, input_homes=None, reuses_outputs=False, backend_kernels=None):
        self.name = name
        self.infer = infer
        self.grad = grad
        self.expand = expand
        self.stateful = stateful
        self.host = host
        self.value_inputs = dict(value_inputs or {})
        self.shape_inputs = frozenset(shape_inputs) | frozenset(self.value_inputs)
        self.session_op = session_op
        self.simplify = simplify
        self.elementwise = elementwise
        self.source = source
        self.input_homes = input_homes
        self.reuses_outputs = reuses_outputs
        self.backend_kernels = dict(backend_kernels or {})
        if schedule not in (None, "early", "late"):
            raise ValueError(f"op type '{name}': schedule must be 'early', 'late' or None, got {schedule!r}")
        self.schedule = schedule

    @property
    def composite(self):
        return self.expand is not None

    def __repr__(self):
        return f"<OpDef {self.name}>"


_REGISTRY = {}


def register(name, infer, grad=None, expand=None, stateful=False, replace=False, **fields):
    """Add an op type (fields as OpDef takes them); plugins call this from their `nnplug_ops` hook."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"op type '{name}' is already registered")
    _REGISTRY[name] = OpDef(name, infer, grad, expand, stateful, **fields)
    return _REGISTRY[name]


def get(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op type '{name}' is registered") from None


def find(name):
    """The OpDef, or None (for names outside the registry)."""
    return _REGISTRY.get(name)


def names():
    return sorted(_REGISTRY)


def defs():
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def primitives():
    """Op types every backend must implement (composites expand, host ops and session ops need none)."""
    return sorted(d.name for d in defs() if not d.composite and d.host is None and not d.session_op)


def is_session_op(name):
    d = _REGISTRY.get(name)
    return d is not None and d.session_op
