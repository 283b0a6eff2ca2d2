"""Convolutions: three primitive ops on NHWC tensors and HWIO filters — `Conv2D`, its adjoint in the input
(`Conv2DBackpropInput`, which is also `conv2d_transpose`) and in the filter (`Conv2DBackpropFilter`) — and
every TF1 convolution function composed from them: NCHW by transposes around the op, grouped and depthwise
convolutions as a filter whose input depth divides the input's (groups = input depth / filter depth),
`separable_conv2d` as depthwise then 1x1, `conv1d` on a height-1 image.

The window arithmetic (`ConvGeometry`) is TensorFlow's exactly: SAME pads `max((ceil(in/stride)-1)*stride +
(k-1)*dilation+1 - in, 0)` with the extra pixel at the end; kernels of every backend build on it."""
from __future__ import annotations

from dataclasses import dataclass

from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..shapes import ShapeError, TensorShape, fmt
from .array_ops import expand_dims, reshape, shape as shape_of, squeeze, transpose, zeros
from .registry import register
from .shape_values import shape_argument, shape_hint
from .._types import Ints, Padding, ShapeLike, TensorLike

PADDINGS = ("SAME", "VALID")
NHWC_TO_NCHW, NCHW_TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


# -- the window arithmetic --------------------------------------------------------------------------
def window_1d(size, k, stride, dilation, padding, axis):
    """(output size, pad before, pad after) along one spatial axis; None where `size` is unknown."""
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        if size is None:
            return None, None, None
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2, total - total // 2
    lo, hi = (0, 0) if padding == "VALID" else padding
    if size is None:
        return None, lo, hi
    if size + lo + hi < eff:
        what = "VALID input" if padding == "VALID" else f"input padded by {lo}+{hi}"
        dilated = f" (dilated to {eff})" if dilation > 1 else ""
        raise ShapeError(f"the window of {k}{dilated} along the {axis} is larger than the {what} of {size}")
    return (size + lo + hi - eff) // stride + 1, lo, hi


@dataclass(frozen=True)
class ConvGeometry:
    """Concrete shapes of one convolution or pooling window: input (n, h, w, c), window (kh, kw), output
    (oh, ow, o), `groups` (c and o split into that many independent parts), strides, dilations and pads."""
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    o: int
    groups: int
    sh: int
    sw: int
    dh: int
    dw: int
    oh: int
    ow: int
    pt: int
    pb: int
    pl: int
    pr: int

    @property
    def hp(self):
        return self.h + self.pt + self.pb

    @property
    def wp(self):
        return self.w + self.pl + self.pr

    @property
    def padded(self):
        return bool(self.pt or self.pb or self.pl or self.pr)

    @property
    def cg(self):
        return self.c // self.groups

    @property
    def og(self):
        return self.o // self.groups

    @property
    def x_shape(self):
        return (self.n, self.h, self.w, self.c)

    @property
    def y_shape(self):
        return (self.n, self.oh, self.ow, self.o)

    @property
    def w_shape(self):
        return (self.kh, self.kw, self.cg, self.o)

    def window(self, i, j):
        """(rows, cols) slices of the padded input that kernel offset (i, j) reads for every output pixel."""
        r0, c0 = i * self.dh, j * self.dw
        return (slice(r0, r0 + (self.oh - 1) * self.sh + 1, self.sh),
                slice(c0, c0 + (self.ow - 1) * self.sw + 1, self.sw))

    def interior(self):
        """(rows, cols) slices of the padded input that hold the real input."""
        return slice(self.pt, self.pt + self.h), slice(self.pl, self.pl + self.w)

    def valid(self, i, j):
        """For kernel offset (i, j) without a padded copy: (output rows, output cols, input rows, input cols)
        slices pairing each output pixel whose tap lands inside the input with that input pixel; None when
        no tap of this offset does."""
        rows = _valid_1d(self.oh, self.h, self.sh, i * self.dh - self.pt)
        cols = _valid_1d(self.ow, self.w, self.sw, j * self.dw - self.pl)
        if rows is None or cols is None:
            return None
        return rows[0], cols[0], rows[1], cols[1]

    def offsets(self):
        return [(i, j) for i in range(self.kh) for j in range(self.kw)]


def _valid_1d(n_out, size, stride, shift):
    """Outputs o in [0, n_out) with 0 <= o*stride + shift < size, as (output slice, input slice)."""
    first = max(0, -(shift // stride))  # ceil(-shift / stride) when shift < 0
    last = min(n_out - 1, (size - 1 - shift) // stride)
    if last < first:
        return None
    start = first * stride + shift
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


def geometry(x_shape, window, out_channels, groups, attrs):
    """The output shape of a window op, and its ConvGeometry when every shape is known (else None)."""
    n, h, w, c = x_shape
    kh, kw = window
    sh, sw = attrs["strides"]
    dh, dw = attrs.get("dilations", (1, 1))
    padding = attrs["padding"]
    pads = (padding, padding) if isinstance(padding, str) else padding
    oh, pt, pb = window_1d(h, kh, sh, dh, pads[0], "height")
    ow, pl, pr = window_1d(w, kw, sw, dw, pads[1], "width")
    out = TensorShape((n, oh, ow, out_channels))
    known = all(v is not None for v in (n, h, w, c, out_channels, groups))
    geo = ConvGeometry(n, h, w, c, kh, kw, out_channels, groups, sh, sw, dh, dw, oh, ow, pt, pb, pl, pr) \
        if known else None
    return out, geo


def _rank4(shape, what):
    if len(shape) != 4:
        raise ShapeError(f"{what} must have rank 4, got shape {fmt(shape)}")
    return tuple(shape)


def conv_geometry(x_shape, w_shape):
    """Output channels and groups of a Conv2D of these shapes, checked: the filter's input depth must divide
    the input's depth, and the number of groups its output depth."""
    x_shape, w_shape = _rank4(x_shape, "the input (NHWC)"), _rank4(w_shape, "the filter (height, width, in, out)")
    c, (kh, kw, ci, o) = x_shape[3], w_shape
    if None in (kh, kw, ci):
        raise ShapeError(f"the filter's height, width and input depth must be known, got {fmt(w_shape)}")
    groups = None
    if c is not None:
        if c % ci:
            raise ShapeError(f"the input has {c} channels, which the filter's input depth {ci} does not divide "
                             f"(input {fmt(x_shape)}, filter {fmt(w_shape)})")
        groups = c // ci
        if o is not None and o % groups:
            raise ShapeError(f"{groups} groups (input depth {c} / filter depth {ci}) do not divide the filter's "
                             f"{o} output channels")
    return x_shape, (kh, kw), o, groups


def conv_output_shape(x_shape, w_shape, attrs):
    """The NHWC output shape of Conv2D on these shapes (a ShapeError if they cannot work)."""
    x_shape, window, o, groups = conv_geometry(x_shape, w_shape)
    return geometry(x_shape, window, o, groups, attrs)[0]


def transposed_length(size, k, stride, padding):
    """The output length of a transposed convolution layer (TF1 and Keras): in*stride, plus
    max(k - stride, 0) for VALID; None when `size` is unknown."""
    if size is None:
        return None
    return size * stride + max(k - stride, 0) if padding == "VALID" else size * stride


def conv_spec_geometry(op_type, in_shapes, out_shapes, attrs):
    """The ConvGeometry of a concrete Conv2D, Conv2DBackpropInput or Conv2DBackpropFilter (kernels use it)."""
    if op_type == "Conv2DBackpropInput":
        x_shape, w_shape = out_shapes[0], in_shapes[0]
    else:
        x_shape, w_shape = in_shapes[0], in_shapes[1]
    x_shape, window, o, groups = conv_geometry(x_shape, w_shape)
    return geometry(x_shape, window, o, groups, attrs)[1]


def _check_dtypes(dtypes, what):
    if not dtypes[0].is_floating:
        raise ShapeError(f"{what} must be floating-point, got {dtypes[0].name}")
    if any(d != dtypes[0] for d in dtypes):
        raise ShapeError("the input, filter and gradient must share one dtype, got "
                         + ", ".join(d.name for d in dtypes))


def _same_shape(got, want, what):
    if len(got) != len(want) or any(a is not None and b is not None and a != b for a, b in zip(got, want)):
        raise ShapeError(f"{what} has shape {fmt(got)}, but the convolution gives {fmt(want)}")


# -- the three primitive ops ------------------------------------------------------------------------
def _conv2d_rule(shapes, dtypes, attrs):
    _check_dtypes(dtypes, "conv2d's input")
    x_shape, window, o, groups = conv_geometry(shapes[0], shapes[1])
    return [(geometry(x_shape, window, o, groups, attrs)[0], dtypes[0])]


def _backprop_input_rule(shapes, dtypes, attrs):
    w_shape, g_shape = shapes[0], shapes[1]
    _check_dtypes(dtypes[:2], "the filter")
    x_shape = TensorShape(attrs["input_shape"])
    x_shape, window, o, groups = conv_geometry(x_shape, w_shape)
    _same_shape(_rank4(g_shape, "the gradient (output)"), geometry(x_shape, window, o, groups, attrs)[0],
                f"the gradient of the output (input of shape {fmt(x_shape)})")
    return [(x_shape, dtypes[0])]


def _backprop_filter_rule(shapes, dtypes, attrs):
    _check_dtypes([dtypes[0], dtypes[2]], "conv2d's input")
    x_shape, window, o, groups = conv_geometry(shapes[0], shapes[1])
    _same_shape(_rank4(shapes[2], "the gradient (output)"), geometry(x_shape, window, o, groups, attrs)[0],
                "the gradient of the output")
    return [(TensorShape(shapes[1]), dtypes[0])]


def _window_attrs(attrs):
    return {k: attrs[k] for k in ("strides", "dilations", "padding")}


def backprop_input(w, g, attrs, like=None, shape=None):
    """d(conv2d)/d(input) for an input shaped like the tensor `like`, or of `shape` (ints, or an int32
    tensor such as `[tf.shape(x)[0], 14, 14, 32]`, read when the plan is compiled)."""
    if like is not None:
        shape = tuple(like.shape) if like.shape.is_fully_defined() else shape_of(like)
    else:
        shape = shape_argument(shape)
    attrs = _window_attrs(attrs)
    if isinstance(shape, Tensor):
        hint = shape_hint(shape)
        attrs["input_shape"] = TensorShape(hint if hint is not None else (None,) * 4)
        return make("Conv2DBackpropInput", [w, g, shape], attrs)
    attrs["input_shape"] = tuple(shape)
    return make("Conv2DBackpropInput", [w, g], attrs)


def _conv(x, w, attrs):
    return make("Conv2D", [x, w], _window_attrs(attrs))


def _backprop_filter(x, w, g, attrs):
    return make("Conv2DBackpropFilter", [x, w, g], _window_attrs(attrs))


def _grad_conv2d(op, g):
    x, w = op.inputs
    return [backprop_input(w, g, op.attrs, like=x), _backprop_filter(x, w, g, op.attrs)]


def _grad_backprop_input(op, gg):
    w, g = op.inputs[:2]
    return [_backprop_filter(gg, w, g, op.attrs), _conv(gg, w, op.attrs)] + [None] * (len(op.inputs) - 2)


def _grad_backprop_filter(op, gg):
    x, _, g = op.inputs
    return [backprop_input(gg, g, op.attrs, like=x), None, _conv(x, gg, op.attrs)]


register("Conv2D", _conv2d_rule, grad=_grad_conv2d)
register("Conv2DBackpropInput", _backprop_input_rule, grad=_grad_backprop_input, value_inputs={2: "input_shape"})
register("Conv2DBackpropFilter", _backprop_filter_rule, grad=_grad_backprop_filter, shape_inputs={1})


# -- argument checks shared with the pooling functions -------------------------------------------------
def data_format_of(data_format, fn, rank=4):
    """'NHWC' or 'NCHW' (NWC/NCW for rank 3); anything else is refused, naming the function."""
    channels_last, channels_first = ("NWC", "NCW") if rank == 3 else ("NHWC", "NCHW")
    value = channels_last if data_format is None else data_format
    if value not in (channels_last, channels_first):
        raise ValueError(f"{fn}: unknown data_format {data_format!r}; expected '{channels_last}' or "
                         f"'{channels_first}'")
    return value


def spatial_pair(value, what, fn, data_format="NHWC", default=1):
    """Strides, dilations or window sizes given as an int, 2 ints, or 4 ints (TF1: [1, h, w, 1] for NHWC,
    [1, 1, h, w] for NCHW, batch and channel entries 1) -> (h, w), each a positive int."""
    if value is None:
        value = default
    vals = [value] if isinstance(value, int) or hasattr(value, "__index__") else list(value)
    try:
        vals = [int(v) for v in vals]
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: {what} must be ints, got {value!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    elif len(vals) == 4:
        outer = (vals[0], vals[1]) if data_format == "NCHW" else (vals[0], vals[3])
        if outer != (1, 1):
            raise ValueError(f"{fn}: {what} {value!r} must be 1 in the batch and channel dimensions "
                             f"(data_format {data_format})")
        vals = vals[2:] if data_format == "NCHW" else vals[1:3]
    elif len(vals) != 2:
        raise ValueError(f"{fn}: {what} must be 1, 2 or 4 ints, got {value!r}")
    if any(v < 1 for v in vals):
        raise ValueError(f"{fn}: {what} must be positive, got {value!r}")
    return tuple(vals)


def padding_of(padding, fn, data_format="NHWC", explicit=True):
    """'SAME', 'VALID', or (conv only) explicit [[0, 0], [top, bottom], [left, right], [0, 0]] pads."""
    if isinstance(padding, str):
        if padding.upper() not in PADDINGS:
            raise ValueError(f"{fn}: unknown padding {padding!r}; expected 'SAME' or 'VALID'"
                             + (" or explicit [[top, bottom], [left, right]] pads" if explicit else ""))
        return padding.upper()
    if not explicit:
        raise ValueError(f"{fn}: padding must be 'SAME' or 'VALID', got {padding!r}")
    try:
        pairs = [tuple(int(p) for p in pair) for pair in padding]
    except (TypeError, ValueError):
        raise ValueError(f"{fn}: padding must be 'SAME', 'VALID' or pairs of ints, got {padding!r}") from None
    if len(pairs) == 4:
        outer = (pairs[0], pairs[1]) if data_format == "NCHW" else (pairs[0], pairs[3])
        if outer != ((0, 0), (0, 0)):
            raise ValueError(f"{fn}: explicit padding {padding!r} must be 0 in the batch and channel dimensions")
        pairs = pairs[2:] if data_format == "NCHW" else pairs[1:3]
    if len(pairs) != 2 or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(f"{fn}: explicit padding must be [[top, bottom], [left, right]] of non-negative ints "
                         f"(or 4 pairs), got {padding!r}")
    return tuple(pairs)


def to_nhwc(x, data_format):
    return x if data_format == "NHWC" else transpose(x, NCHW_TO_NHWC)


def from_nhwc(y, data_format):
    return y if data_format == "NHWC" else transpose(y, NHWC_TO_NCHW)


def _check_rank(t, rank, fn, what="input"):
    if not t.shape.unknown_rank and len(t.shape) != rank:
        raise ShapeError(f"{fn}: the {what} '{t.name}' must have rank {rank}, got shape {fmt(t.shape)}")


def _inputs(fn, input, filter, rank=4):  # noqa: A002
    x = convert_to_tensor(input)
    symbolic = isinstance(filter, Tensor) or hasattr(filter, "_as_tensor")
    w = convert_to_tensor(filter) if symbolic else convert_to_tensor(filter, dtype=x.dtype)  # arrays: x's dtype
    _check_rank(x, rank, fn)
    _check_rank(w, rank, fn, "filter")
    return x, w


def _attrs(fn, strides, padding, dilations, data_format):
    return {"strides": spatial_pair(strides, "strides", fn, data_format),
            "dilations": spatial_pair(dilations, "dilations", fn, data_format),
            "padding": padding_of(padding, fn, data_format)}


def _channels(x, data_format):
    return x.shape[1 if data_format == "NCHW" else 3]


# -- the TF1 functions ------------------------------------------------------------------------------
def conv2d(input: TensorLike, filter: TensorLike | None = None, strides: Ints = None,  # noqa: A002
           padding: Padding = None, use_cudnn_on_gpu: bool = True, data_format: str = "NHWC",
           dilations: Ints = None, name: str | None = None, filters: TensorLike | None = None) -> Tensor:
    """2-D convolution (cross-correlation, as TF) of NHWC (or NCHW) `input` with a (height, width, in, out)
    filter; a filter depth that divides the input depth makes a grouped convolution."""
    filter = filters if filter is None else filter  # noqa: A001
    if filter is None or strides is None or padding is None:
        raise TypeError("conv2d needs input, filter, strides and padding")
    data_format = data_format_of(data_format, "conv2d")
    x, w = _inputs("conv2d", input, filter)
    attrs = _attrs("conv2d", strides, padding, dilations, data_format)
    if data_format == "NHWC":
        return make("Conv2D", [x, w], attrs, name=name)
    with name_scope(name, "Conv2D"):
        return from_nhwc(make("Conv2D", [to_nhwc(x, data_format), w], attrs), data_format)


def conv2d_transpose(value: TensorLike | None = None, filter: TensorLike | None = None,  # noqa: A002
                     output_shape: ShapeLike | None = None, strides: Ints = None, padding: Padding = "SAME",
                     data_format: str = "NHWC", name: str | None = None, input: TensorLike | None = None,  # noqa: A002
                     filters: TensorLike | None = None, dilations: Ints = None) -> Tensor:
    """The adjoint of conv2d in its input ("deconvolution"): `filter` is (height, width, out, in) and
    `output_shape` the NHWC (or NCHW) shape of the result — ints, or a tensor such as
    `[tf.shape(x)[0], 14, 14, 32]`."""
    value = input if value is None else value
    filter = filters if filter is None else filter  # noqa: A001
    if value is None or filter is None or output_shape is None or strides is None:
        raise TypeError("conv2d_transpose needs value, filter, output_shape and strides")
    data_format = data_format_of(data_format, "conv2d_transpose")
    g, w = _inputs("conv2d_transpose", value, filter)
    attrs = _attrs("conv2d_transpose", strides, padding, dilations, data_format)
    shape = shape_argument(output_shape)
    with name_scope(name, "conv2d_transpose"):
        if data_format == "NCHW":
            if isinstance(shape, Tensor):
                shape = make("Gather", [shape, convert_to_tensor([0, 2, 3, 1])], {"axis": 0})
            else:
                shape = tuple(shape[i] for i in NCHW_TO_NHWC) if len(shape) == 4 else shape
        if not isinstance(shape, Tensor) and len(shape) != 4:
            raise ValueError(f"conv2d_transpose: output_shape must have 4 entries, got {output_shape!r}")
        y = backprop_input(w, to_nhwc(g, data_format), attrs, shape=shape)
        return from_nhwc(y, data_format)


def depthwise_conv2d(input: TensorLike, filter: TensorLike, strides: Ints, padding: Padding,  # noqa: A002
                     rate: Ints = None, name: str | None = None, data_format: str | None = None,
                     dilations: Ints = None) -> Tensor:
    """Each input channel convolved with its own `channel_multiplier` filters: filter (height, width, in,
    multiplier), output depth in * multiplier (channel c*multiplier + m), as TF."""
    data_format = data_format_of(data_format, "depthwise_conv2d")
    x, w = _inputs("depthwise_conv2d", input, filter)
    attrs = _attrs("depthwise_conv2d", strides, padding, dilations if dilations is not None else rate, data_format)
    kh, kw, ci, mult = w.shape
    c = _channels(x, data_format)
    if None in (kh, kw, ci, mult):
        raise ShapeError(f"depthwise_conv2d: the filter '{w.name}' must have a known shape, got {fmt(w.shape)}")
    if c is not None and c != ci:
        raise ShapeError(f"depthwise_conv2d: the input '{x.name}' has {c} channels but the filter '{w.name}' "
                         f"{fmt(w.shape)} expects {ci}")
    with name_scope(name, "depthwise"):
        grouped = reshape(w, (kh, kw, 1, ci * mult))
        return from_nhwc(make("Conv2D", [to_nhwc(x, data_format), grouped], attrs), data_format)


def separable_conv2d(input: TensorLike, depthwise_filter: TensorLike, pointwise_filter: TensorLike,  # noqa: A002
                     strides: Ints, padding: Padding, rate: Ints = None, name: str | None = None,
                     data_format: str | None = None, dilations: Ints = None) -> Tensor:
    """depthwise_conv2d, then a 1x1 conv2d with `pointwise_filter` (1, 1, in * multiplier, out)."""
    with name_scope(name, "separable_conv2d"):
        depth = depthwise_conv2d(input, depthwise_filter, strides, padding, rate=rate, data_format=data_format,
                                 dilations=dilations)
        return conv2d(depth, pointwise_filter, [1, 1, 1, 1], "VALID", data_format=data_format or "NHWC")


def conv1d(value: TensorLike | None = None, filters: TensorLike | None = None, stride: Ints = None,
           padding: Padding = None, use_cudnn_on_gpu: bool | None = None, data_format: str | None = None,
           name: str | None = None, input: TensorLike | None = None, dilations: Ints = None) -> Tensor:  # noqa: A002
    """1-D convolution of (batch, width, in) `value` with (width, in, out) `filters`, as a height-1 conv2d."""
    value = input if value is None else value
    if value is None or filters is None or stride is None or padding is None:
        raise TypeError("conv1d needs value, filters, stride and padding")
    data_format = data_format_of(data_format, "conv1d", rank=3)
    x, w = _inputs("conv1d", value, filters, rank=3)
    (stride,) = _one("stride", stride, data_format)
    (dilation,) = _one("dilations", dilations if dilations is not None else 1, data_format)
    with name_scope(name, "conv1d"):
        x4 = expand_dims(x, 1 if data_format == "NWC" else 2)  # (n, 1, w, c) or (n, c, 1, w)
        y = conv2d(x4, expand_dims(w, 0), [1, stride], padding, data_format="NHWC" if data_format == "NWC" else "NCHW",
                   dilations=[1, dilation])
        return squeeze(y, [1 if data_format == "NWC" else 2])


def _one(what, value, data_format):
    vals = [value] if isinstance(value, int) or hasattr(value, "__index__") else list(value)
    if len(vals) == 3:
        outer = (vals[0], vals[1]) if data_format == "NCW" else (vals[0], vals[2])
        if outer != (1, 1):
            raise ValueError(f"conv1d: {what} {value!r} must be 1 in the batch and channel dimensions")
        vals = [vals[2] if data_format == "NCW" else vals[1]]
    if len(vals) != 1 or int(vals[0]) < 1:
        raise ValueError(f"conv1d: {what} must be a positive int (or 3 ints), got {value!r}")
    return (int(vals[0]),)


def atrous_conv2d(value: TensorLike, filters: TensorLike, rate: int, padding: Padding,
                  name: str | None = None) -> Tensor:
    """conv2d with the filter dilated by `rate` (TF1's atrous convolution), stride 1."""
    return conv2d(value, filters, [1, 1, 1, 1], padding, dilations=[1, rate, rate, 1], name=name)


def conv2d_backprop_input(input_sizes: ShapeLike, filter: TensorLike | None = None,  # noqa: A002
                          out_backprop: TensorLike | None = None, strides: Ints = None, padding: Padding = None,
                          use_cudnn_on_gpu: bool = True, data_format: str = "NHWC", dilations: Ints = None,
                          name: str | None = None, filters: TensorLike | None = None) -> Tensor:
    """The gradient of conv2d with respect to an input of shape `input_sizes`, as TF1's."""
    filter = filters if filter is None else filter  # noqa: A001
    return conv2d_transpose(out_backprop, filter, input_sizes, strides, padding, data_format=data_format,
                            dilations=dilations, name=name or "Conv2DBackpropInput")


def conv2d_backprop_filter(input: TensorLike, filter_sizes: ShapeLike, out_backprop: TensorLike,  # noqa: A002
                           strides: Ints, padding: Padding, use_cudnn_on_gpu: bool = True,
                           data_format: str = "NHWC", dilations: Ints = None, name: str | None = None) -> Tensor:
    """The gradient of conv2d with respect to a filter of shape `filter_sizes` (ints), as TF1's."""
    data_format = data_format_of(data_format, "conv2d_backprop_filter")
    x, g = _inputs("conv2d_backprop_filter", input, out_backprop)
    sizes = shape_argument(filter_sizes)
    if isinstance(sizes, Tensor) or len(sizes) != 4:
        raise ValueError(f"conv2d_backprop_filter: filter_sizes must be 4 ints known when the graph is built, got "
                         f"{filter_sizes!r}")
    attrs = _attrs("conv2d_backprop_filter", strides, padding, dilations, data_format)
    with name_scope(name, "Conv2DBackpropFilter"):
        like = zeros(sizes, dtype=x.dtype)  # read for its shape only
        return _backprop_filter(to_nhwc(x, data_format), like, to_nhwc(g, data_format), attrs)
