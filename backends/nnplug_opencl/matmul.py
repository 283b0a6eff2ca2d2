"""OpenCL matrix products, batched with NumPy broadcasting of the leading axes. GPUs get TS x TS output
tiles in local memory, each work-item computing RT x RT outputs (`tiled`); CPU devices (PoCL) get register-
blocked products with explicit float8 vectors (`blocked`, their default) or a work-item per output
(`simple`): `backend.matmul_kind`, NNPLUG_OPENCL_MATMUL."""
from nnplug import fusion
from nnplug.kernels import Kernels

from .codegen import ctype, header, size_of

KERNELS = Kernels()
register = KERNELS.register
PAGE_ROW = 2048  # bytes between rows of B from which blocked products read B packed into column panels


def product(be, knl, out_shape, dtype, grid, local, zeros_if_empty=False):
    """`knl(A, B, C)` over `grid` as a matmul callable returning a new C; `zeros_if_empty`: a product over an
    empty k is zeros, and the kernel is not run."""
    dt = dtype.np

    def matmul(a, b):
        y = be.empty(out_shape, dt)
        if y.size:
            if zeros_if_empty:
                return be.zeros(out_shape, dt)
            knl(be.queue, grid, local, be.buf(a), be.buf(b), y.base_data)
        return y
    return matmul


@register("MatMul", fresh=True)
def matmul(spec):
    be = spec.backend
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    a_shape, b_shape = (tuple(s) for s in spec.in_shapes)
    out_shape = tuple(spec.out_shape)
    m, n = out_shape[-2], out_shape[-1]
    k = a_shape[-2] if ta else a_shape[-1]
    batch = out_shape[:-2]
    nb = size_of(batch)
    a_off = f"({fusion.broadcast_index(a_shape[:-2], batch, 'bt')}) * {m * k}L" if batch else "0"
    b_off = f"({fusion.broadcast_index(b_shape[:-2], batch, 'bt')}) * {k * n}L" if batch else "0"
    dtype = spec.out_dtype
    t = ctype(dtype)
    if be.matmul_kind == "blocked" and not tb and k:
        # 16 rows x 2 float8 columns per work-item measured fastest for the chapter MLP's products on
        # PoCL (2-core AVX-512): ~66 us for 64x784 @ 784x50 vs ~85 us at 4 x 4 and 160 us 'simple'; 4
        # vectors for wide products (the CNN's 64x3136 @ 3136x1024: 38 vs 55 ms of CPU, 14 vs 17 packed)
        nvec = 4 if n >= 256 else 2
        packed = nb == 1 and n * dtype.np.itemsize >= PAGE_ROW and k >= 64 and m >= 16
        return blocked_matmul(be, spec, m, n, k, nb, a_off, b_off, rows=16 if m >= 32 else 4, nvec=nvec,
                              local=None, packed=packed)
    if be.matmul_kind == "blocked" and tb and not ta and k:
        # 8 x 4 dot products per work-item: the CNN's 64x1024 @ (3136x1024).T in 18 ms of CPU, 25 at 2 x 4
        return blocked_matmul_nt(be, spec, m, n, k, nb, a_off, b_off, rows=8 if m >= 8 else 2)
    if be.matmul_kind in ("simple", "blocked"):
        return simple_matmul(be, spec, m, n, k, nb, a_off, b_off)
    ls, rt = be.mm_local, 2
    ts, tk = ls * rt, 16
    a_idx = f"(gk) * {m}L + (gi)" if ta else f"(gi) * {k}L + (gk)"
    b_idx = f"(gj) * {k}L + (gk)" if tb else f"(gk) * {n}L + (gj)"
    src = header([dtype]) + f"""
__kernel __attribute__((reqd_work_group_size({ls}, {ls}, 1)))
void mm(__global const {t} *A, __global const {t} *B, __global {t} *C) {{
  __local {t} As[{ts}][{tk + 1}];
  __local {t} Bs[{tk}][{ts + 1}];
  const int li = get_local_id(0), lj = get_local_id(1), tid = lj * {ls} + li;
  const long row0 = get_group_id(0) * {ts}L, col0 = get_group_id(1) * {ts}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
  {t} acc[{rt}][{rt}];
  for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) acc[a][b] = 0;
  for (long k0 = 0; k0 < {k}L; k0 += {tk}) {{
    for (int e = tid; e < {ts * tk}; e += {ls * ls}) {{
      const int i = e / {tk}, kk = e % {tk};
      const long gi = row0 + i, gk = k0 + kk;
      As[i][kk] = (gi < {m}L && gk < {k}L) ? A[ao + {a_idx}] : ({t})0;
    }}
    for (int e = tid; e < {ts * tk}; e += {ls * ls}) {{
      const int kk = e / {ts}, j = e % {ts};
      const long gj = col0 + j, gk = k0 + kk;
      Bs[kk][j] = (gj < {n}L && gk < {k}L) ? B[bo + {b_idx}] : ({t})0;
    }}
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < {tk}; ++kk) {{
      {t} av[{rt}], bv[{rt}];
      for (int a = 0; a < {rt}; ++a) av[a] = As[li + a * {ls}][kk];
      for (int b = 0; b < {rt}; ++b) bv[b] = Bs[kk][lj + b * {ls}];
      for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) acc[a][b] += av[a] * bv[b];
    }}
    barrier(CLK_LOCAL_MEM_FENCE);
  }}
  for (int a = 0; a < {rt}; ++a) for (int b = 0; b < {rt}; ++b) {{
    const long i = row0 + li + a * {ls}, j = col0 + lj + b * {ls};
    if (i < {m}L && j < {n}L) C[co + i * {n}L + j] = acc[a][b];
  }}
}}"""
    grid = (-(-m // ts) * ls, -(-n // ts) * ls, nb)
    return product(be, be.cl_kernel(src, "mm"), out_shape, dtype, grid, (ls, ls, 1), zeros_if_empty=not k)


def simple_matmul(be, spec, m, n, k, nb, a_off, b_off):
    """For CPU devices (PoCL): a work-item per output, consecutive work-items along a row of C, so the
    compiler vectorises across work-items over contiguous B and C; no local memory or barriers, which
    CPU OpenCL runs poorly."""
    ta, tb = spec.attrs["transpose_a"], spec.attrs["transpose_b"]
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    a_idx = f"kk * {m}L + i" if ta else f"i * {k}L + kk"
    b_idx = f"j * {k}L + kk" if tb else f"kk * {n}L + j"
    if not tb:  # a work-item per row of C: the inner loop runs along contiguous rows of B and C
        src = header([dtype]) + f"""__kernel void mm(__global const {t} *A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i = get_global_id(0), bt = get_global_id(1);
  if (i >= {m}L) return;
  const long ao = {a_off}, bo = {b_off};
  __global {t} *c = C + bt * {m * n}L + i * {n}L;
  for (long j = 0; j < {n}L; ++j) c[j] = 0;
  for (long kk = 0; kk < {k}L; ++kk) {{
    const {t} a = A[ao + {a_idx}];
    __global const {t} *b = B + bo + kk * {n}L;
    for (long j = 0; j < {n}L; ++j) c[j] += a * b[j];
  }}
}}"""
        knl = be.cl_kernel(src, "mm")
        return lambda a, b: be.launch(knl, m * 1, [a, b], out_shape, dtype.np, grid=(m, nb))
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *A, __global const {t} *B, __global {t} *C) {{
  const long j = get_global_id(0), i = get_global_id(1), bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off};
  {t} acc = 0;
  for (long kk = 0; kk < {k}L; ++kk) acc += A[ao + {a_idx}] * B[bo + {b_idx}];
  C[bt * {m * n}L + i * {n}L + j] = acc;
}}"""
    return product(be, be.cl_kernel(src, "mm"), out_shape, dtype, (n, m, nb), None)


def blocked_matmul(be, spec, m, n, k, nb, a_off, b_off, rows=4, vec=8, nvec=4, local=(1, 1, 1), packed=False):
    """For CPU devices (PoCL), C = A @ B or A.T @ B: a work-item per block of `rows` rows x up to
    `nvec` float8 columns of C, accumulating in registers over all of k. Each k step broadcasts one A
    value per row against contiguous vector loads of a row of B, so the loop is explicit SIMD (PoCL's
    own work-item vectoriser cannot do that for a reduction); the last column block's width is a
    compile-time constant too, handled by its own branch.

    `packed`: B is first copied into column panels (each work-item's strip of columns contiguous over k),
    for B whose rows are a memory page or more apart, where a strip read row by row touches a new page
    every step (3.8x faster for the CNN's 3136x1024 weights). `local` None: for 1024 work-items or more,
    work-groups of up to 16 column blocks (PoCL then schedules fewer: 14 vs 22 ms for 3136x64 @ 64x1024)."""
    ta = spec.attrs["transpose_a"]
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    vt = f"{t}{vec}"
    n_blocks = -(-n // (nvec * vec))
    cb = -(-n // n_blocks)
    cb = -(-cb // vec) * vec  # a whole number of vectors per full block
    n_blocks = -(-n // cb)
    rem = n - (n_blocks - 1) * cb

    def block(width):
        nv, ns = divmod(width, vec)
        lines = ["{"]
        for r in range(rows):
            lines.append(f"  const long r{r} = min(i0 + {r}L, {m - 1}L);")
            lines += [f"  {vt} acc{r}_{v} = ({vt})(0);" for v in range(nv)]
            lines += [f"  {t} s{r}_{q} = 0;" for q in range(ns)]
        lines.append(f"  for (long kk = 0; kk < {k}L; ++kk) {{")
        if packed:
            lines.append(f"    __global const {t} *b = B + (get_global_id(1) * {k}L + kk) * {cb};")
        else:
            lines.append(f"    __global const {t} *b = B + bo + kk * {n}L + j0;")
        lines += [f"    const {vt} b{v} = vload{vec}({v}, b);" for v in range(nv)]
        lines += [f"    const {t} bs{q} = b[{nv * vec + q}];" for q in range(ns)]
        for r in range(rows):
            a_idx = f"kk * {m}L + r{r}" if ta else f"r{r} * {k}L + kk"
            lines.append(f"    const {t} a{r} = A[ao + {a_idx}];")
            lines += [f"    acc{r}_{v} += a{r} * b{v};" for v in range(nv)]
            lines += [f"    s{r}_{q} += a{r} * bs{q};" for q in range(ns)]
        lines.append("  }")
        for r in range(rows):
            lines.append(f"  if (i0 + {r}L < {m}L) {{ __global {t} *c = C + co + (i0 + {r}L) * {n}L + j0;")
            lines += [f"    vstore{vec}(acc{r}_{v}, {v}, c);" for v in range(nv)]
            lines += [f"    c[{nv * vec + q}] = s{r}_{q};" for q in range(ns)]
            lines.append("  }")
        return "\n".join(lines) + "\n}"

    if local is None:
        many = -(-m // rows) * n_blocks >= 1024
        local = (1, next(w for w in (16, 8, 4, 2, 1) if n_blocks % w == 0) if many else 1, 1)
    body = block(rem) if n_blocks == 1 else f"if (j0 + {cb}L <= {n}L) {block(cb)} else {block(rem)}"
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *restrict A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i0 = get_global_id(0) * {rows}L, j0 = get_global_id(1) * {cb}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
{body}
}}"""
    run = product(be, be.cl_kernel(src, "mm"), out_shape, dtype, (-(-m // rows), n_blocks, nb), local)
    if not packed:
        return run
    pack = be.cl_kernel(header([dtype]) + f"""__kernel void pack(__global const {t} *restrict B, __global {t} *restrict P) {{
  const long i = get_global_id(0); if (i >= {k * n}L) return;
  const long kk = i / {n}L, j = i % {n}L;
  P[((j / {cb}) * {k}L + kk) * {cb} + j % {cb}] = B[i];
}}""", "pack")
    panels = be.empty((n_blocks * k * cb,), dtype.np)

    def run_packed(a, b):
        be.launch(pack, k * n, [b], panels.shape, dtype.np, out=panels)
        return run(a, panels)
    return run_packed


def blocked_matmul_nt(be, spec, m, n, k, nb, a_off, b_off, rows=2, cols=4, vec=8):
    """For CPU devices, C = A @ B.T (the input gradient of a dense layer): both operands are read along
    contiguous rows of length k, so a work-item computes `rows` x `cols` dot products with vector
    accumulators over k and one horizontal sum each at the end."""
    dtype, out_shape = spec.out_dtype, tuple(spec.out_shape)
    t = ctype(dtype)
    vt = f"{t}{vec}"
    kv, ks = divmod(k, vec)
    lines = []
    for r in range(rows):
        lines.append(f"  __global const {t} *a{r} = A + ao + min(i0 + {r}L, {m - 1}L) * {k}L;")
    for c in range(cols):
        lines.append(f"  __global const {t} *b{c} = B + bo + min(j0 + {c}L, {n - 1}L) * {k}L;")
    for r in range(rows):
        for c in range(cols):
            lines.append(f"  {vt} v{r}_{c} = ({vt})(0); {t} s{r}_{c} = 0;")
    if kv:
        lines.append(f"  for (long q = 0; q < {kv}L; ++q) {{")
        lines += [f"    const {vt} av{r} = vload{vec}(q, a{r});" for r in range(rows)]
        lines += [f"    const {vt} bv{c} = vload{vec}(q, b{c});" for c in range(cols)]
        lines += [f"    v{r}_{c} += av{r} * bv{c};" for r in range(rows) for c in range(cols)]
        lines.append("  }")
    for q in range(kv * vec, k):
        lines += [f"  s{r}_{c} += a{r}[{q}] * b{c}[{q}];" for r in range(rows) for c in range(cols)]
    hsum = " + ".join(f"v{{r}}_{{c}}.s{i:x}" for i in range(vec))
    for r in range(rows):
        for c in range(cols):
            lines.append(f"  if (i0 + {r}L < {m}L && j0 + {c}L < {n}L) C[co + (i0 + {r}L) * {n}L + j0 + {c}L] = "
                         f"s{r}_{c} + " + hsum.format(r=r, c=c) + ";")
    src = header([dtype]) + f"""__kernel void mm(__global const {t} *restrict A, __global const {t} *restrict B,
    __global {t} *restrict C) {{
  const long i0 = get_global_id(0) * {rows}L, j0 = get_global_id(1) * {cols}L, bt = get_global_id(2);
  const long ao = {a_off}, bo = {b_off}, co = bt * {m * n}L;
""" + "\n".join(lines) + "\n}"
    grid = (-(-m // rows), -(-n // cols), nb)
    return product(be, be.cl_kernel(src, "mm"), out_shape, dtype, grid, (1, 1, 1))
