"""OpenCL C source generation: elementwise expression trees (one op or a fused chain from nnplug.fusion)
and the index arithmetic for broadcasting and reductions, with the concrete shapes baked in as literals
(plans are compiled per feed shape, so every index map is known when a kernel is made)."""
import math

from nnplug import fusion
from nnplug.ops.elementwise import ROWS

TYPES = dict(fusion.C_TYPES)  # bool is uchar: 0 or 1
FLOATS = ("float32", "float64")  # reductions accumulate these in their own type; softmax needs one of them

PRELUDE = fusion.C_PRELUDE


def header(dtypes):
    """Pragmas and helpers a source needs: fp64 when any dtype is float64."""
    fp64 = any(getattr(d, "name", d) == "float64" for d in dtypes)
    return ("#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" if fp64 else "") + PRELUDE


def ctype(dtype):
    return TYPES[getattr(dtype, "name", dtype)]


def statements(chain, input_exprs, width=1):
    """`T nJ = ...;` per node of a fusion.Chain, reading inputs via `input_exprs`; returns (lines, result).
    width > 1: every node is a `T<width>` vector (see `vector_width`)."""
    vec = str(width) if width > 1 else ""
    lines, node_types = [], []
    for j, (op_type, attrs, args) in enumerate(chain.nodes):
        operands = [input_exprs[i] if kind == "in" else f"n{i}" for kind, i in args]
        in_dtypes = fusion.node_inputs(chain, j, node_types)
        out = fusion.node_dtype(chain, j)
        node_types.append(out)
        t = ctype(out) + vec
        lines.append(f"{t} n{j} = ({t})({fusion.c_expr(op_type, attrs, operands, in_dtypes, ctype(out))});")
    return lines, f"n{len(chain.nodes) - 1}"


# float32 ops whose C expressions mean the same on float8 vectors (no comparisons, selects or casts)
VECTOR_OPS = frozenset(name for name, row in ROWS.items() if row.vector)
VEC = 8


def vector_width(chain):
    """8 when `chain` can run as float8 vectors, one work-item per 8 outputs, else 1. PoCL does not
    vectorise calls such as tanh across work-items: the chapter MLP's 64x50 Add+Tanh took 3-4x longer
    as scalar code than with explicit float8."""
    n = 1
    for d in chain.out_shape:
        n *= d
    floats = all(getattr(d, "name", d) == "float32" for d in
                 [d for _, d in chain.inputs] + [chain.out_dtype] + [fusion.node_dtype(chain, j)
                                                                     for j in range(len(chain.nodes))])
    ok = floats and n and n % VEC == 0 and all(op in VECTOR_OPS for op, _, _ in chain.nodes)
    return VEC if ok else 1


def _vector_source(chain, n, name):
    """float8 version of elementwise_source: full-shape inputs are vload8-ed, scalars read once and
    other broadcast inputs gathered lane by lane."""
    params, loads, reads = [], [], []
    for i, (s, _) in enumerate(chain.inputs):
        params.append(f"__global const float *restrict x{i}")
        size = 1
        for d in s:
            size *= d
        if size == 1:
            loads.append(f"const float a{i} = x{i}[0];")
        elif size == n:
            loads.append(f"const float{VEC} a{i} = vload{VEC}(i, x{i});")
        else:
            lanes = ", ".join(f"x{i}[{fusion.broadcast_index(s, chain.out_shape, f'(j + {k})')}]" for k in range(VEC))
            loads.append(f"const float{VEC} a{i} = (float{VEC})({lanes});")
        reads.append(f"a{i}")
    body, result = statements(chain, reads, VEC)
    first = f", j = i * {VEC}L" if any("(j + " in line for line in loads) else ""  # j: the first lane's index
    return (header([]) + f"__kernel void {name}({', '.join(params + ['__global float *y'])})"
            f" {{\n  const long i = get_global_id(0){first};\n  if (i >= {n // VEC}L) return;\n  "
            + "\n  ".join(loads + body) + f"\n  vstore{VEC}({result}, i, y);\n}}\n")


def elementwise_source(chain, name="ew"):
    """A kernel computing `chain` with one work-item per output element (per 8 where `vector_width` says
    so); inputs broadcast by NumPy rules."""
    n = 1
    for d in chain.out_shape:
        n *= d
    if vector_width(chain) > 1:
        return _vector_source(chain, n, name)
    params = [f"__global const {ctype(d)} *restrict x{i}" for i, (_, d) in enumerate(chain.inputs)]
    reads = [f"x{i}[{fusion.broadcast_index(s, chain.out_shape, 'i')}]" for i, (s, _) in enumerate(chain.inputs)]
    body, result = statements(chain, reads)
    dtypes = [d for _, d in chain.inputs] + [chain.out_dtype] + [fusion.node_dtype(chain, j)
                                                                 for j in range(len(chain.nodes))]
    return (header(dtypes) + f"__kernel void {name}({', '.join(params + [f'__global {ctype(chain.out_dtype)} *y'])})"
            f" {{\n  const long i = get_global_id(0);\n  if (i >= {n}L) return;\n  "
            + "\n  ".join(body) + f"\n  y[i] = {result};\n}}\n")


def offset_expr(var, shape, strides):
    """C expression: the memory offset of flat (row-major over `shape`) index `var`, given element strides."""
    terms, div = [], 1
    for size, stride in reversed(list(zip(shape, strides))):
        if size > 1 and stride != 0:  # a dimension of 0 has no element to index (and no % 0)
            coord = f"({var} / {div}L)" if div != 1 else f"{var}"
            terms.append(f"(({coord} % {size}L) * {stride}L)")
        div *= size
    return " + ".join(terms) or "0"


def size_of(shape):
    """The number of elements of a shape (any iterable of ints)."""
    return math.prod(tuple(shape))


def contiguous_strides(shape):
    strides, s = [], 1
    for d in reversed(shape):
        strides.append(s)
        s *= d
    return strides[::-1]
