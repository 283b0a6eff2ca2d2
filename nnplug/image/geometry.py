"""TF1's rotations and transposes of images (reverses and transposes) and `extract_image_patches` (strided
slices of the padded images, concatenated along the channels in TF's (row, column, channel) order), so
every backend runs them and gradients follow."""
from __future__ import annotations

from collections.abc import Sequence

from ..graph import Tensor, name_scope
from ..ops.array_ops import concat, transpose as _transpose
from ..ops.manip_ops import pad, reverse
from ..shapes import ShapeError, fmt
from .._types import TensorLike
from .core import _image, _ints


def rot90(image: TensorLike, k: int | TensorLike = 1, name: str | None = None) -> Tensor:
    """The image(s) rotated counter-clockwise by k quarter turns (k known when the graph is built)."""
    x = _image(image, "rot90", known_size=False)
    (turns,) = _ints(k, 1, "k", "rot90")
    turns %= 4
    h, w = len(x.shape) - 3, len(x.shape) - 2
    swap = list(range(len(x.shape)))
    swap[h], swap[w] = w, h
    with name_scope(name, "rot90"):
        if turns == 1:
            return _transpose(reverse(x, [w]), swap)
        if turns == 2:
            return reverse(x, [h, w])
        if turns == 3:
            return reverse(_transpose(x, swap), [w])
        return x


def transpose(image: TensorLike, name: str | None = None) -> Tensor:
    """Height and width swapped."""
    x = _image(image, "transpose", known_size=False)
    perm = [1, 0, 2] if len(x.shape) == 3 else [0, 2, 1, 3]
    return _transpose(x, perm, name=name or "transpose")


transpose_image = transpose


def _four(values, what):
    out = _ints(values, 4, what, "extract_image_patches")
    if out[0] != 1 or out[3] != 1 or min(out) < 1:
        raise ValueError(f"extract_image_patches: {what} must be [1, rows, cols, 1] with positive entries, got {out}")
    return out[1], out[2]


def extract_image_patches(images: TensorLike, ksizes: Sequence[int] | None = None, strides: Sequence[int] | None = None,
                          rates: Sequence[int] | None = None, padding: str | None = None, name: str | None = None,
                          sizes: Sequence[int] | None = None) -> Tensor:
    """Each output pixel the ksize_rows x ksize_cols patch (dilated by `rates`) around it, flattened into the
    channels: (batch, out_rows, out_cols, ksize_rows * ksize_cols * depth)."""
    x = _image(images, "extract_image_patches", ranks=(4,))
    if (ksizes is None) == (sizes is None):
        raise ValueError("extract_image_patches: give exactly one of ksizes and sizes")
    if strides is None or rates is None or padding is None:
        raise ValueError("extract_image_patches: strides, rates and padding are required")
    (kh, kw), (sh, sw), (rh, rw) = _four(ksizes or sizes, "ksizes"), _four(strides, "strides"), _four(rates, "rates")
    mode = str(padding).upper()
    if mode not in ("SAME", "VALID"):
        raise ValueError(f"extract_image_patches: padding must be 'SAME' or 'VALID', got {padding!r}")
    h, w = x.shape[1], x.shape[2]
    if x.shape[3] is None:
        raise ShapeError(f"extract_image_patches: '{x.name}' needs known channels, got {fmt(x.shape)}")
    spans = (kh - 1) * rh + 1, (kw - 1) * rw + 1
    if mode == "VALID":
        outs = [(size - span) // step + 1 for size, span, step in zip((h, w), spans, (sh, sw))]
        before = [0, 0]
    else:
        outs = [-(-size // step) for size, step in zip((h, w), (sh, sw))]
        before = [max((o - 1) * step + span - size, 0) // 2
                  for o, step, span, size in zip(outs, (sh, sw), spans, (h, w))]
    if min(outs) <= 0:
        raise ValueError(f"extract_image_patches: patches of {spans[0]}x{spans[1]} pixels do not fit in "
                         f"'{x.name}' of shape {fmt(x.shape)} with padding VALID")
    with name_scope(name, "ExtractImagePatches"):
        after = [max((o - 1) * step + span - size - b, 0)
                 for o, step, span, size, b in zip(outs, (sh, sw), spans, (h, w), before)]
        if any(before) or any(after):
            x = pad(x, [[0, 0], [before[0], after[0]], [before[1], after[1]], [0, 0]])
        parts = []
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * rh, j * rw
                parts.append(x[:, r0:r0 + (outs[0] - 1) * sh + 1:sh, c0:c0 + (outs[1] - 1) * sw + 1:sw, :])
        return parts[0] if len(parts) == 1 else concat(parts, axis=3)


def extract_patches(images: TensorLike, sizes: Sequence[int], strides: Sequence[int], rates: Sequence[int],
                    padding: str, name: str | None = None) -> Tensor:
    """`extract_image_patches` under its TF 1.14+ name (`sizes` for `ksizes`)."""
    return extract_image_patches(images, strides=strides, rates=rates, padding=padding, name=name, sizes=sizes)
