"""OpenCL convolution and pooling kernels, generated per geometry with every size a literal.

The three convolutions are implicit GEMMs in the register-blocked form of matmul.py's `blocked` product
(explicit float8 vectors, which PoCL's work-item vectoriser cannot make of a reduction): a work-item
computes `rows` rows x up to 16 columns of the result, the reduction loop nested over the window instead of
running over a patch matrix, so no im2col buffer is ever made (a 10,000-image evaluation batch through a
5x5x32 filter would need 2 GB of patches). Taps in the padding are read at a valid address and multiplied
by 0, so the inner loops have no branches.

- Conv2D: rows are output pixels, columns output channels (of one group), reduction over (kh, kw, c);
- Conv2DBackpropFilter: rows are filter taps (i, j, c), columns output channels, reduction over the pixels;
- Conv2DBackpropInput: rows are input pixels, columns input channels, reduction over (kh, kw, o) of the
  outputs whose window holds the pixel (the filter transposed once per call so its channels are rows).

Pooling: a work-item per output (MaxPool, AvgPool, MaxPoolWithArgmax) or per input (their gradients,
gathering from the windows that hold the pixel: no atomics; MaxPoolGradWithArgmax first checks on the host
that each argmax lies in its own window, so gathering sees every one).
"""
from nnplug.backend import KernelSpec
from nnplug.errors import InvalidArgumentError
from nnplug.kernels import Kernels
from nnplug.ops.conv_ops import conv_spec_geometry
from nnplug.ops.pool_ops import argmax_misplaced, misplaced_message, pool_geometry

from . import arrays
from .codegen import ctype, header

KERNELS = Kernels()
register = KERNELS.register
VEC, NVEC = 8, 4  # columns per work-item: up to NVEC vectors of VEC (measured on PoCL, 2-core AVX-512)


def column_blocks(width, vec=VEC, nvec=NVEC):
    """(block width, blocks) covering `width` columns with blocks of at most `nvec` vectors."""
    n_blocks = -(-width // (nvec * vec))
    cb = -(-width // n_blocks)
    cb = -(-cb // vec) * vec if cb > vec else cb
    return cb, -(-width // cb)


class Blocked:
    """The accumulator part of a register-blocked kernel: `rows` x `width` outputs in vectors of `vec` (and
    scalars for a remainder); rows read their A value into `a{r}` before `fma`."""

    def __init__(self, t, rows, width, vec=VEC):
        self.t, self.rows, self.width, self.vec = t, rows, width, vec
        self.nv, self.ns = divmod(width, vec)

    def declare(self):
        vt = f"{self.t}{self.vec}"
        return [f"{vt} acc{r}_{v} = ({vt})(0);" for r in range(self.rows) for v in range(self.nv)] + \
               [f"{self.t} s{r}_{q} = 0;" for r in range(self.rows) for q in range(self.ns)]

    def load_b(self, ptr):
        return [f"const {self.t}{self.vec} b{v} = vload{self.vec}({v}, {ptr});" for v in range(self.nv)] + \
               [f"const {self.t} bs{q} = ({ptr})[{self.nv * self.vec + q}];" for q in range(self.ns)]

    def fma(self):
        return [f"acc{r}_{v} += a{r} * b{v};" for r in range(self.rows) for v in range(self.nv)] + \
               [f"s{r}_{q} += a{r} * bs{q};" for r in range(self.rows) for q in range(self.ns)]

    def reduce_loop(self, var, length, a_of_row, f_of_row, b_ptr):
        """`for var < length: acc += A[row][var] * B[var]`, where a_of_row(r) + var addresses row r's A (a
        contiguous run over var), f_of_row(r) is 0 or 1 (a tap in the padding) and b_ptr(var) the B row.
        Lengths that are a multiple of `vec` read each row's A as vectors, `vec` steps per iteration."""
        t, vt = self.t, f"{self.t}{self.vec}"
        rows = range(self.rows)
        if length % self.vec:
            lines = [f"for (int {var} = 0; {var} < {length}; ++{var}) {{"]
            lines += ["  " + s for s in self.load_b(b_ptr(var))]
            lines += [f"  const {t} a{r} = ({a_of_row(r)})[{var}] * {f_of_row(r)};" for r in rows]
            return lines + ["  " + s for s in self.fma()] + ["}"]
        lines = [f"for (int {var}0 = 0; {var}0 < {length}; {var}0 += {self.vec}) {{"]
        lines += [f"  const {vt} av{r} = vload{self.vec}(0, {a_of_row(r)} + {var}0) * {f_of_row(r)};" for r in rows]
        for u in range(self.vec):
            lines.append("  {")
            lines += ["    " + s for s in self.load_b(b_ptr(f"({var}0 + {u})"))]
            lines += [f"    const {t} a{r} = av{r}.s{u:x};" for r in rows]
            lines += ["    " + s for s in self.fma()] + ["  }"]
        return lines + ["}"]

    def store(self, ptr_of_row, valid_of_row):
        lines = []
        for r in range(self.rows):
            lines.append(f"if ({valid_of_row(r)}) {{ __global {self.t} *c = {ptr_of_row(r)};")
            lines += [f"  vstore{self.vec}(acc{r}_{v}, {v}, c);" for v in range(self.nv)]
            lines += [f"  c[{self.nv * self.vec + q}] = s{r}_{q};" for q in range(self.ns)]
            lines.append("}")
        return lines


def blocked_kernel(dtype, rows, cols, body, args="X, W, Y", vec=VEC, nvec=NVEC):
    """A kernel over (row blocks, groups x column blocks): `body(blocked)` gives its statements for one
    block width; the last (narrower) block of each group gets its own branch, its width a literal too.
    In the body: `m0` (first row), `grp` (group), `j0` (first column within the group)."""
    t = ctype(dtype)
    cb, n_blocks = column_blocks(cols, vec, nvec)
    rem = cols - (n_blocks - 1) * cb

    def block(width):
        return "{\n" + "\n".join(body(Blocked(t, rows, width, vec))) + "\n}"
    inner = block(rem) if n_blocks == 1 else f"if (j0 + {cb} <= {cols}) {block(cb)} else {block(rem)}"
    a, b, c = args.split(", ")
    src = header([dtype]) + f"""__kernel void conv(__global const {t} *restrict {a}, __global const {t} *restrict {b},
    __global {t} *restrict {c}) {{
  const long m0 = get_global_id(0) * {rows}L;
  const int grp = get_global_id(1) / {n_blocks}, j0 = (get_global_id(1) % {n_blocks}) * {cb};
{inner}
}}"""
    return src, n_blocks


def _launcher(be, knl, grid, out_shape, dtype, prepare=None):
    def run(*xs):
        a, b = xs[0], xs[1]
        if prepare is not None:
            a, b = prepare(a, b)
        y = be.empty(out_shape, dtype)
        if y.size:
            knl(be.queue, grid, (1, 1, 1) if len(grid) == 3 else (1, 1), be.buf(a), be.buf(b), y.base_data)
        return y
    return run


def _rows_for(m, big=16):
    return big if m >= 64 else 2


@register("Conv2D", fresh=True)
def conv2d(spec):
    g = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    be, t = spec.backend, ctype(spec.out_dtype)
    m, rows = g.n * g.oh * g.ow, _rows_for(g.n * g.oh * g.ow)

    def body(blk):
        r_ = range(rows)
        lines = [f"const long p{r} = min(m0 + {r}L, {m - 1}L), n{r} = p{r} / {g.oh * g.ow}L;" for r in r_]
        lines += [f"const int iy{r} = (int)((p{r} / {g.ow}) % {g.oh}) * {g.sh} - {g.pt}, "
                  f"ix{r} = (int)(p{r} % {g.ow}) * {g.sw} - {g.pl};" for r in r_]
        lines += blk.declare()
        lines.append(f"for (int i = 0; i < {g.kh}; ++i) {{")
        lines += [f"  const int y{r} = iy{r} + i * {g.dh}, vy{r} = y{r} >= 0 && y{r} < {g.h};" for r in r_]
        lines.append(f"  for (int j = 0; j < {g.kw}; ++j) {{")
        for r in r_:
            lines.append(f"    const int x{r} = ix{r} + j * {g.dw}, v{r} = vy{r} && x{r} >= 0 && x{r} < {g.w};")
            lines.append(f"    const long xo{r} = v{r} ? ((n{r} * {g.h} + y{r}) * {g.w} + x{r}) * {g.c} + grp * "
                         f"{g.cg} : 0; const {t} f{r} = v{r} ? 1 : 0;")
        lines.append(f"    __global const {t} *w = W + (i * {g.kw} + j) * {g.cg * g.o}L + grp * {g.og} + j0;")
        lines += ["    " + s for s in blk.reduce_loop("c", g.cg, lambda r: f"X + xo{r}", lambda r: f"f{r}",
                                                     lambda c: f"w + {c} * {g.o}")]
        lines.append("  }\n}")
        return lines + blk.store(lambda r: f"Y + (m0 + {r}L) * {g.o} + grp * {g.og} + j0", lambda r: f"m0 + {r}L < {m}L")
    src, n_blocks = blocked_kernel(spec.out_dtype, rows, g.og, body)
    grid = (-(-m // rows), g.groups * n_blocks)
    return _launcher(be, be.cl_kernel(src, "conv"), grid, g.y_shape, spec.out_dtype.np)


@register("Conv2DBackpropFilter", fresh=True)
def conv2d_backprop_filter(spec):
    g = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    be, t = spec.backend, ctype(spec.out_dtype)
    k = g.kh * g.kw * g.cg
    # float16 when channels allow: the CNN's 5x5x32x64 filter by 25 work-items of 32 taps x 64 columns,
    # each reading the input and gradient once (24 ms of CPU, 85 with float8 and 16 x 16 blocks)
    vec = 16 if g.cg % 16 == 0 and g.og % 16 == 0 else VEC
    vector = g.cg % vec == 0  # a block of rows is consecutive channels of one tap: vector loads
    rows = (2 * vec if g.cg % (2 * vec) == 0 else vec) if vector else _rows_for(k)

    def body(blk):
        r_ = range(rows)
        if vector:
            lines = [f"const int dy0 = (int)(m0 / {g.kw * g.cg}) * {g.dh} - {g.pt}, dx0 = (int)((m0 / {g.cg}) % {g.kw}) "
                     f"* {g.dw} - {g.pl}, c0 = (int)(m0 % {g.cg}) + grp * {g.cg};"]
        else:
            lines = [f"const long k{r} = min(m0 + {r}L, {k - 1}L);" for r in r_]
            lines += [f"const int dy{r} = (int)(k{r} / {g.kw * g.cg}) * {g.dh} - {g.pt}, dx{r} = (int)((k{r} / {g.cg}) "
                      f"% {g.kw}) * {g.dw} - {g.pl}, c{r} = (int)(k{r} % {g.cg}) + grp * {g.cg};" for r in r_]
        taps = [0] if vector else list(r_)
        lines += blk.declare()
        lines.append(f"for (long n = 0; n < {g.n}L; ++n) for (int oy = 0; oy < {g.oh}; ++oy) {{")
        lines += [f"  const int y{r} = oy * {g.sh} + dy{r}, vy{r} = y{r} >= 0 && y{r} < {g.h}; const long row{r} = "
                  f"((n * {g.h} + (vy{r} ? y{r} : 0)) * {g.w}) * {g.c} + c{r};" for r in taps]
        lines.append(f"  __global const {t} *gp = G + ((n * {g.oh} + oy) * {g.ow}) * {g.o}L + grp * {g.og} + j0;")
        lines.append(f"  for (int ox = 0; ox < {g.ow}; ++ox, gp += {g.o}) {{")
        lines += ["    " + s for s in blk.load_b("gp")]
        for r in taps:
            lines.append(f"    const int x{r} = ox * {g.sw} + dx{r}, v{r} = vy{r} && x{r} >= 0 && x{r} < {g.w};")
            lines.append(f"    const {t} f{r} = v{r} ? 1 : 0; const long at{r} = row{r} + (v{r} ? x{r} : 0) * {g.c};")
        if vector:
            lines += [f"    const {t}{vec} av{q} = vload{vec}({q}, X + at0) * f0;" for q in range(rows // vec)]
            lines += [f"    const {t} a{r} = av{r // vec}.s{r % vec:x};" for r in r_]
        else:
            lines += [f"    const {t} a{r} = X[at{r}] * f{r};" for r in r_]
        lines += ["    " + s for s in blk.fma()]
        lines.append("  }\n}")
        return lines + blk.store(lambda r: f"DW + (m0 + {r}L) * {g.o} + grp * {g.og} + j0",
                                 lambda r: f"m0 + {r}L < {k}L")
    src, n_blocks = blocked_kernel(spec.out_dtype, rows, g.og, body, args="X, G, DW", vec=vec)
    grid = (-(-k // rows), g.groups * n_blocks)
    knl = be.cl_kernel(src, "conv")
    run = _launcher(be, knl, grid, g.w_shape, spec.out_dtype.np)
    return lambda x, w_like, grad: run(x, grad)


@register("Conv2DBackpropInput", fresh=True)
def conv2d_backprop_input(spec):
    g = conv_spec_geometry(spec.op_type, spec.in_shapes, spec.out_shapes, spec.attrs)
    be, t = spec.backend, ctype(spec.out_dtype)
    p, rows = g.n * g.h * g.w, _rows_for(g.n * g.h * g.w, big=8)  # 8 x 32: 36 ms for the CNN's, 46 at 16 x 16
    # the filter with its channels as rows: (kh, kw, o, cg), so a row of input channels is contiguous
    wt_shape = (g.kh, g.kw, g.o, g.cg)
    flip = arrays.transpose(KernelSpec("Transpose", spec.name, {"perm": (0, 1, 3, 2)}, [g.w_shape],
                                       [spec.out_dtype], [wt_shape], [spec.out_dtype], backend=be))

    def body(blk):
        r_ = range(rows)
        lines = [f"const long q{r} = min(m0 + {r}L, {p - 1}L), n{r} = q{r} / {g.h * g.w}L;" for r in r_]
        lines += [f"const int ty{r} = (int)((q{r} / {g.w}) % {g.h}) + {g.pt}, tx{r} = (int)(q{r} % {g.w}) + {g.pl};"
                  for r in r_]
        lines += blk.declare()
        lines.append(f"for (int i = 0; i < {g.kh}; ++i) {{")
        lines += [f"  const int sy{r} = ty{r} - i * {g.dh}, vy{r} = sy{r} >= 0 && sy{r} % {g.sh} == 0 && "
                  f"sy{r} / {g.sh} < {g.oh};" for r in r_]
        lines.append(f"  for (int j = 0; j < {g.kw}; ++j) {{")
        for r in r_:
            lines.append(f"    const int sx{r} = tx{r} - j * {g.dw}, v{r} = vy{r} && sx{r} >= 0 && sx{r} % {g.sw} == 0 "
                         f"&& sx{r} / {g.sw} < {g.ow};")
            lines.append(f"    const long go{r} = v{r} ? ((n{r} * {g.oh} + sy{r} / {g.sh}) * {g.ow} + sx{r} / {g.sw}) "
                         f"* {g.o} + grp * {g.og} : 0; const {t} f{r} = v{r} ? 1 : 0;")
        lines.append(f"    __global const {t} *w = WT + ((i * {g.kw} + j) * {g.o}L + grp * {g.og}) * {g.cg} + j0;")
        lines += ["    " + s for s in blk.reduce_loop("o", g.og, lambda r: f"G + go{r}", lambda r: f"f{r}",
                                                     lambda o: f"w + {o} * {g.cg}")]
        lines.append("  }\n}")
        return lines + blk.store(lambda r: f"DX + (m0 + {r}L) * {g.c} + grp * {g.cg} + j0",
                                 lambda r: f"m0 + {r}L < {p}L")
    src, n_blocks = blocked_kernel(spec.out_dtype, rows, g.cg, body, args="G, WT, DX")
    grid = (-(-p // rows), g.groups * n_blocks)
    run = _launcher(be, be.cl_kernel(src, "conv"), grid, g.x_shape, spec.out_dtype.np)
    return lambda w, grad, *shape_value: run(grad, flip(w))


# -- pooling ---------------------------------------------------------------------------------------------
def _pool_kernel(spec, x_shape, source, n, out_shape):
    """A work-item per element `i < n`: `source(t, geometry)` is the statements computing y[i]."""
    be, dtype = spec.backend, spec.out_dtype
    g = pool_geometry(tuple(x_shape), spec.attrs)[1]
    t = ctype(dtype)
    n = n(g)
    args = ", ".join(f"__global const {t} *restrict {a}" for a in source.args)
    src = header([dtype]) + f"""__kernel void pool({args}, __global {t} *restrict Y) {{
  const long i = get_global_id(0);
  if (i >= {n}L) return;
{source(t, g)}
}}"""
    knl = be.cl_kernel(src, "pool")
    shape = out_shape(g)
    return lambda *xs, out=None: be.launch(knl, n, xs[:len(source.args)], shape, dtype.np, out=out)


def _source(*args):
    def deco(fn):
        fn.args = args
        return fn
    return deco


def _output_coords(g):
    """C: this work-item's output pixel (b, oy, ox, c) and its window's first row and column."""
    return (f"  const long c = i % {g.c}, ox = (i / {g.c}) % {g.ow}, oy = (i / {g.c * g.ow}) % {g.oh}, "
            f"b = i / {g.c * g.ow * g.oh};\n"
            f"  const int y0 = (int)oy * {g.sh} - {g.pt}, x0 = (int)ox * {g.sw} - {g.pl};\n"
            f"  const int ya = max(y0, 0), yb = min(y0 + {g.kh}, {g.h}), xa = max(x0, 0), xb = min(x0 + {g.kw}, {g.w});\n")


def _windows_of_input(g):
    """C: this work-item's input pixel (b, y, x, c) and the range of outputs whose window holds it."""
    return (f"  const long c = i % {g.c}, b = i / {g.c * g.w * g.h};\n"
            f"  const int x = (int)((i / {g.c}) % {g.w}), y = (int)((i / {g.c * g.w}) % {g.h});\n"
            f"  const int oya = max(0, (y + {g.pt} - {g.kh} + {g.sh}) / {g.sh}), oyb = min({g.oh - 1}, (y + {g.pt}) / {g.sh});\n"
            f"  const int oxa = max(0, (x + {g.pl} - {g.kw} + {g.sw}) / {g.sw}), oxb = min({g.ow - 1}, (x + {g.pl}) / {g.sw});\n")


def _lowest(t):
    return "-INFINITY" if t in ("float", "double") else {"int": "INT_MIN", "long": "LONG_MIN"}.get(t, "0")


@_source("X")
def _max_source(t, g):
    return _output_coords(g) + f"""  {t} m = {_lowest(t)};
  for (int yy = ya; yy < yb; ++yy) for (int xx = xa; xx < xb; ++xx) {{
    const {t} v = X[((b * {g.h} + yy) * {g.w} + xx) * {g.c} + c];
    m = v > m ? v : m;
  }}
  Y[i] = m;"""


@_source("X")
def _avg_source(t, g):
    return _output_coords(g) + f"""  {t} s = 0;
  for (int yy = ya; yy < yb; ++yy) for (int xx = xa; xx < xb; ++xx) s += X[((b * {g.h} + yy) * {g.w} + xx) * {g.c} + c];
  Y[i] = s / ({t})((yb - ya) * (xb - xa));"""


@_source("X", "P", "G")
def _max_grad_source(t, g):
    """The gradients of the windows whose first maximum (rows, then columns) is this pixel."""
    return _windows_of_input(g) + f"""  {t} s = 0;
  for (int oy = oya; oy <= oyb; ++oy) for (int ox = oxa; ox <= oxb; ++ox) {{
    const long o = ((b * {g.oh} + oy) * {g.ow} + ox) * {g.c} + c;
    const {t} m = P[o];
    const int y0 = oy * {g.sh} - {g.pt}, x0 = ox * {g.sw} - {g.pl};
    int first = -1;
    for (int yy = max(y0, 0); yy < min(y0 + {g.kh}, {g.h}) && first < 0; ++yy)
      for (int xx = max(x0, 0); xx < min(x0 + {g.kw}, {g.w}); ++xx)
        if (X[((b * {g.h} + yy) * {g.w} + xx) * {g.c} + c] == m) {{ first = yy * {g.w} + xx; break; }}
    if (first == y * {g.w} + x) s += G[o];
  }}
  Y[i] = s;"""


@_source("G")
def _avg_grad_source(t, g):
    return _windows_of_input(g) + f"""  {t} s = 0;
  for (int oy = oya; oy <= oyb; ++oy) for (int ox = oxa; ox <= oxb; ++ox) {{
    const int y0 = oy * {g.sh} - {g.pt}, x0 = ox * {g.sw} - {g.pl};
    const int taps = (min(y0 + {g.kh}, {g.h}) - max(y0, 0)) * (min(x0 + {g.kw}, {g.w}) - max(x0, 0));
    s += G[((b * {g.oh} + oy) * {g.ow} + ox) * {g.c} + c] / ({t})taps;
  }}
  Y[i] = s;"""


def _outputs(g):
    return g.n * g.oh * g.ow * g.c


def _inputs(g):
    return g.n * g.h * g.w * g.c


@register("MaxPool", fresh=True)
def max_pool(spec):
    return _pool_kernel(spec, spec.in_shapes[0], _max_source, _outputs, lambda g: g.y_shape)


@register("AvgPool", fresh=True)
def avg_pool(spec):
    return _pool_kernel(spec, spec.in_shapes[0], _avg_source, _outputs, lambda g: g.y_shape)


@_source("X", "P", "G")
def _max_grad_scatter_source(t, g):
    """Disjoint windows: this output's gradient written to its first maximum, 0 to the rest of its window
    (unrolled over the taps)."""
    lines = [_output_coords(g), f"  const {t} m = P[i], gi = G[i]; int found = 0;"]
    for a in range(g.kh):
        for b in range(g.kw):
            lines.append(f"  {{ const int yy = y0 + {a}, xx = x0 + {b};")
            lines.append(f"    if (yy >= 0 && yy < {g.h} && xx >= 0 && xx < {g.w}) {{ const long at = ((b * {g.h} + yy) * "
                         f"{g.w} + xx) * {g.c} + c; const int hit = !found && X[at] == m; Y[at] = hit ? gi : 0; "
                         f"found |= hit; }} }}")
    return "\n".join(lines)


@register("MaxPoolGrad", fresh=True)
def max_pool_grad(spec):
    g = pool_geometry(tuple(spec.in_shapes[0]), spec.attrs)[1]
    if g.kh > g.sh or g.kw > g.sw:  # overlapping windows: each input gathers from the windows holding it
        return _pool_kernel(spec, spec.in_shapes[0], _max_grad_source, _inputs, lambda g: g.x_shape)
    # disjoint windows: a work-item per output scatters into its own window; inputs no window reads are 0
    tiled = (g.kh, g.kw) == (g.sh, g.sw) and g.oh * g.sh - g.pt >= g.h and g.ow * g.sw - g.pl >= g.w
    knl = _pool_kernel(spec, spec.in_shapes[0], _max_grad_scatter_source, _outputs, lambda g: g.x_shape)
    if tiled:
        return knl
    be, dtype = spec.backend, spec.out_dtype.np
    return lambda x, y, grad: knl(x, y, grad, out=be.zeros(g.x_shape, dtype))


@register("AvgPoolGrad", fresh=True)
def avg_pool_grad(spec):
    knl = _pool_kernel(spec, spec.in_shapes[1], _avg_grad_source, _inputs, lambda g: g.x_shape)
    return lambda grad, x_like: knl(grad)


@register("MaxPoolWithArgmax", fresh=True)
def max_pool_with_argmax(spec):
    """The first tap of the window, then each strictly greater one (TF1's CPU kernel)."""
    be, dtype, index = spec.backend, spec.out_dtype, spec.out_dtypes[1]
    g = pool_geometry(tuple(spec.in_shapes[0]), spec.attrs)[1]
    t, it, n, per_image = ctype(dtype), ctype(index), _outputs(g), g.h * g.w * g.c
    batch = f"b * {per_image}L + " if spec.attrs["include_batch_in_index"] else ""
    src = header([dtype]) + f"""__kernel void pool(__global const {t} *restrict X, __global {t} *restrict Y,
    __global {it} *restrict A) {{
  const long i = get_global_id(0);
  if (i >= {n}L) return;
{_output_coords(g)}  {t} m = 0; long at = -1;
  for (int yy = ya; yy < yb; ++yy) for (int xx = xa; xx < xb; ++xx) {{
    const long k = (yy * {g.w} + xx) * {g.c} + c;
    const {t} v = X[b * {per_image}L + k];
    if (at < 0 || v > m) {{ m = v; at = k; }}
  }}
  Y[i] = m; A[i] = ({it})({batch}at);
}}"""
    knl = be.cl_kernel(src, "pool")

    def run(x):
        y, idx = be.empty(g.y_shape, dtype.np), be.empty(g.y_shape, index.np)
        if n:
            knl(be.queue, be.gsize(n), (be.wg,), be.buf(x), y.base_data, idx.base_data)
        return y, idx
    return run


@register("MaxPoolGradWithArgmax", fresh=True)
def max_pool_grad_with_argmax(spec):
    """A work-item per input pixel sums the gradients of the windows holding it whose argmax names it."""
    be, dtype = spec.backend, spec.out_dtype
    g = pool_geometry(tuple(spec.in_shapes[0]), spec.attrs)[1]
    include_batch = spec.attrs["include_batch_in_index"]
    t, n = ctype(dtype), _inputs(g)
    me = "i" if include_batch else f"i - b * {g.h * g.w * g.c}L"
    src = header([dtype]) + f"""__kernel void pool(__global const {t} *restrict G,
    __global const {ctype(spec.in_dtypes[2])} *restrict A, __global {t} *restrict Y) {{
  const long i = get_global_id(0);
  if (i >= {n}L) return;
{_windows_of_input(g)}  const long me = {me};
  {t} s = 0;
  for (int oy = oya; oy <= oyb; ++oy) for (int ox = oxa; ox <= oxb; ++ox) {{
    const long o = ((b * {g.oh} + oy) * {g.ow} + ox) * {g.c} + c;
    if ((long)A[o] == me) s += G[o];
  }}
  Y[i] = s;
}}"""
    knl = be.cl_kernel(src, "pool")

    def check(argmax):
        bad = argmax_misplaced(g, argmax, include_batch)
        if bad is not None:
            raise InvalidArgumentError(misplaced_message(spec, argmax, bad))

    def run(x_like, grad, argmax):
        if argmax.size:
            be.host_check(check, argmax)
        return be.launch(knl, n, [grad, argmax], g.x_shape, dtype.np)
    return run
