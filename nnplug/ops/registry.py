"""The op registry: one definition per op type — its shape/dtype rule, gradient rule and, for
composite ops, an expansion into primitives that the compiler uses when a backend has no fused kernel."""


class OpDef:
    """What the core knows about one op type. No backend code lives here.

    infer(in_shapes, in_dtypes, attrs) -> [(shape, dtype), ...] runs at build time (shapes may hold
    None) and again at compile time with concrete shapes. grad(op, *out_grads) -> [grad or None per
    input] builds graph ops. expand(builder, inputs, attrs) -> outputs lowers a composite op into
    primitives at compile time. Stateful ops are never folded or merged.
    """

    def __init__(self, name, infer, grad=None, expand=None, stateful=False):
        self.name = name
        self.infer = infer
        self.grad = grad
        self.expand = expand
        self.stateful = stateful

    @property
    def composite(self):
        return self.expand is not None

    def __repr__(self):
        return f"<OpDef {self.name}>"


_REGISTRY = {}


def register(name, infer, grad=None, expand=None, stateful=False, replace=False):
    """Add an op type; plugins call this from their `nnplug_ops` hook."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"op type '{name}' is already registered")
    _REGISTRY[name] = OpDef(name, infer, grad, expand, stateful)
    return _REGISTRY[name]


def get(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op type '{name}' is registered") from None


def names():
    return sorted(_REGISTRY)


def primitives():
    """Op types every backend must implement (composites have an expansion to fall back on)."""
    return sorted(n for n, d in _REGISTRY.items() if not d.composite and n not in _SOURCES)


# Ops the Session and compiler handle themselves (feeds, constants, variable storage, grouping, the
# optional Copy): no kernel needed.
_SOURCES = {"Placeholder", "Const", "VariableV2", "Assign", "AssignAdd", "AssignSub", "NoOp", "Identity",
            "StopGradient", "PlaceholderWithDefault", "Copy"}


def is_session_op(name):
    return name in _SOURCES
