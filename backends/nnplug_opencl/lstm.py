"""One LSTM step's pointwise part as one OpenCL kernel each way (`LSTMGates`, `LSTMGatesGrad`,
nnplug/ops/lstm_sequence.py): a work-item per (row, unit) computes the four gates, the candidate, c, tanh(c)
and h, or their gradients, where the expansion enqueued 13 and 16 kernels per step. The arithmetic is the
expansion's: sigmoid as 0.5 * (1 + tanh(x / 2)), SigmoidGrad as g * y * (1 - y), TanhGrad as g * (1 - y^2)."""
from nnplug.kernels import Kernels

from .codegen import ctype, header

KERNELS = Kernels()  # merged into the backend's table by kernels.py
register = KERNELS.register


def _layout(spec, state_output):
    """(dtype, batch, units, the offsets of the blocks i, g, f, o within a row of gates) of a step."""
    batch, units = (int(d) for d in spec.out_shapes[state_output])
    return spec.out_dtypes[0], batch, units, [b * units for b in spec.attrs["blocks"]]


def _source(dtype, name, args, body, batch, units):
    """A kernel over the (row, unit) pairs: `e` indexes the [batch, units] arrays, `z` the unit's first
    gate in its row of the [batch, 4 * units] ones."""
    t = ctype(dtype)
    params = ", ".join(f"__global {'const ' if const else ''}{t} *{a}" for a, const in args)
    return header([dtype]) + f"""__kernel void {name}({params}) {{
  const long e = get_global_id(0); if (e >= {batch * units}L) return;
  const long z = (e / {units}L) * {4 * units}L + e % {units}L;
{body}
}}"""


@register("LSTMGates", fresh=True)
def gates(spec):
    be = spec.backend
    dtype, batch, units, (i, g, f, o) = _layout(spec, 0)
    t, n = ctype(dtype), batch * units
    body = f"""  for (long b = 0; b < {4 * units}L; b += {units}L)
    s[z + b] = ({t})0.5 * (tanh((zx[z + b] + zh[z + b]) * ({t})0.5) + ({t})1);
  const {t} cd = tanh(zx[z + {g}L] + zh[z + {g}L]);
  const {t} cn = s[z + {f}L] * cp[e] + s[z + {i}L] * cd;
  const {t} tn = tanh(cn);
  cand[e] = cd; c[e] = cn; tc[e] = tn; h[e] = tn * s[z + {o}L];"""
    args = [("zx", True), ("zh", True), ("cp", True), ("h", False), ("c", False), ("s", False), ("cand", False),
            ("tc", False)]
    knl = be.cl_kernel(_source(dtype, "lstm_gates", args, body, batch, units), "lstm_gates")
    state, wide = (batch, units), (batch, 4 * units)

    def run(z_x, zh, c_prev):
        h, c, s, cand, tc = (be.empty(shape, dtype.np) for shape in (state, state, wide, state, state))
        if n:
            knl(be.queue, be.gsize(n), (be.wg,), be.buf(z_x), be.buf(zh), be.buf(c_prev),
                *(y.base_data for y in (h, c, s, cand, tc)))
        return h, c, s, cand, tc
    return run


@register("LSTMGatesGrad", fresh=True)
def gates_grad(spec):
    be = spec.backend
    dtype, batch, units, (i, g, f, o) = _layout(spec, 1)
    t, n = ctype(dtype), batch * units
    carried = len(spec.in_shapes) == 7
    body = f"""  const {t} d_h = dh[e]{' + carry[e]' if carried else ''};
  const {t} so = s[z + {o}L], si = s[z + {i}L], sf = s[z + {f}L], cd = cand[e], tn = tc[e];
  dz[z + {o}L] = (d_h * tn) * so * (({t})1 - so);
  const {t} d_c = dc[e] + (d_h * so) * (({t})1 - tn * tn);
  dz[z + {i}L] = (d_c * cd) * si * (({t})1 - si);
  dz[z + {g}L] = (d_c * si) * (({t})1 - cd * cd);
  dz[z + {f}L] = (d_c * cp[e]) * sf * (({t})1 - sf);
  dcp[e] = d_c * sf;"""
    args = [(a, True) for a in ("dh", "dc", "s", "cand", "tc", "cp")] + ([("carry", True)] if carried else [])
    knl = be.cl_kernel(_source(dtype, "lstm_gates_grad", args + [("dz", False), ("dcp", False)], body, batch, units),
                       "lstm_gates_grad")

    def run(*ins):
        dz, dc_prev = be.empty((batch, 4 * units), dtype.np), be.empty((batch, units), dtype.np)
        if n:
            knl(be.queue, be.gsize(n), (be.wg,), *(be.buf(x) for x in ins), dz.base_data, dc_prev.base_data)
        return dz, dc_prev
    return run
