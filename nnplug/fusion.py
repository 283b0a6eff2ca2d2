"""Fused elementwise chains as backends see them: the `Chain` program the compiler's fusion pass
(nnplug/compiler/fuse.py) hands to `Backend.fuse_elementwise`, and the C source for a chain, shared by the
OpenCL and CUDA (CuPy) backends. The C expressions come from the ops' rows in nnplug/ops/elementwise.py."""
from .ops.elementwise import C_PRELUDE as _C_PRELUDE, ROWS


class Chain:
    """A fused elementwise program.

    inputs: [(shape, dtype)] of the external inputs; nodes: [(op_type, attrs, args)] in order, where each
    arg is ("in", i) or ("node", j); the last node is the result, of out_shape/out_dtype. Every node's
    output has out_shape; inputs broadcast to it by NumPy rules.
    """

    def __init__(self, inputs, nodes, out_shape, out_dtype, names):
        self.inputs, self.nodes = inputs, nodes
        self.out_shape, self.out_dtype = out_shape, out_dtype
        self.names = names

    def key(self):
        """A hashable description, so backends can cache the kernels they generate."""
        ins = tuple((tuple(s), d.name) for s, d in self.inputs)
        nodes = tuple((t, tuple(sorted((k, repr(v)) for k, v in a.items())), tuple(args)) for t, a, args in self.nodes)
        return ins, nodes, tuple(self.out_shape), self.out_dtype.name

    def __repr__(self):
        return f"<Chain {' -> '.join(t for t, _, _ in self.nodes)} {self.out_shape}>"


# -- C source for a chain, shared by the OpenCL and CUDA (CuPy) backends ----------------------
C_TYPES = {"float16": "half", "float32": "float", "float64": "double", "int8": "char", "int16": "short",
           "int32": "int", "int64": "long", "uint8": "uchar", "bool": "uchar"}
C_FUSABLE = frozenset(ROWS)  # every elementwise row has a C expression
C_PRELUDE = _C_PRELUDE


def c_expr(op_type, attrs, operands, in_dtypes, out_ctype):
    """The C expression of one elementwise op (its row's `c`) on operand expressions."""
    return ROWS[op_type].c_expr(operands, out_ctype, in_dtypes, attrs)


def node_inputs(chain, j, node_types):
    """(operand dtypes) of node j, given the dtypes of earlier nodes; a Select's condition left out."""
    op_type, _, args = chain.nodes[j]
    dts = [chain.inputs[i][1] if kind == "in" else node_types[i] for kind, i in args]
    return dts[1:] if op_type == "Select" else dts


def c_statements(chain, input_exprs, types=C_TYPES):
    """C statements computing the chain, one `T nJ = ...;` per node, reading the inputs through
    `input_exprs` (e.g. ["x0[i]", "x1[i % 5]"]). Returns (statements, name of the result)."""
    lines, node_types = [], []
    for j, (op_type, attrs, args) in enumerate(chain.nodes):
        operands = [input_exprs[i] if kind == "in" else f"n{i}" for kind, i in args]
        out = node_dtype(chain, j)
        t = types[out.name]
        lines.append(f"{t} n{j} = ({t})({c_expr(op_type, attrs, operands, node_inputs(chain, j, node_types), t)});")
        node_types.append(out)
    return lines, f"n{len(chain.nodes) - 1}"


def node_dtype(chain, j):
    """The dtype node j produces: comparisons give bool, Cast its target, others their operand's."""
    from . import dtypes
    if j == len(chain.nodes) - 1:
        return chain.out_dtype
    op_type, attrs, args = chain.nodes[j]
    if ROWS[op_type].bool_out:
        return dtypes.bool_
    if op_type == "Cast":
        return attrs["dtype"]
    kind, i = args[-1] if op_type == "Select" else args[0]
    return chain.inputs[i][1] if kind == "in" else node_dtype(chain, i)


def broadcast_index(in_shape, out_shape, flat="i"):
    """C expression for the flat index into an input broadcast (NumPy rules) to `out_shape`, given the
    output's flat index `flat`."""
    out_shape = tuple(out_shape)
    in_shape = (1,) * (len(out_shape) - len(in_shape)) + tuple(in_shape)
    if in_shape == out_shape:
        return flat
    terms, in_stride, out_stride = [], 1, 1
    for d in reversed(range(len(out_shape))):
        if in_shape[d] != 1:
            terms.append(f"(({flat} / {out_stride}) % {out_shape[d]}) * {in_stride}")
        in_stride *= in_shape[d]
        out_stride *= out_shape[d]
    return " + ".join(terms) or "0"
