"""TF1's image decoding and encoding as host ops on scalar strings (`tf.image.decode_png`, `decode_jpeg`,
`decode_gif`, `decode_bmp`, `decode_image`, `encode_png`, `encode_jpeg`, `is_jpeg`). The decoders are
source ops, so a decoded image's height and width are known when the plan is compiled. PNG is read and
written with the standard library (`png.py`); JPEG, GIF and BMP need Pillow, imported when first used.
As in TF 2, decode_png, decode_jpeg and decode_gif read any of the formats; decode_bmp only BMP."""
from __future__ import annotations

import io

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor, make, name_scope
from ..ops.registry import register
from ..shapes import ShapeError, TensorShape, fmt
from .._types import DTypeLike, TensorLike
from . import png
from .core import convert_image_dtype


def _pillow(what):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f'{what} needs Pillow: pip install "nnplug[image]"') from None
    return Image


def _format(data):
    if data.startswith(png.SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    return None


def _with_channels(pixels, channels):
    """TF's channel conversions: gray (0.299 R + 0.587 G + 0.114 B, truncated) <-> RGB, alpha added opaque
    or dropped."""
    have = pixels.shape[-1]
    if channels == 0 or channels == have:
        return pixels
    colour = pixels[..., :3] if have >= 3 else np.repeat(pixels[..., :1], 3, axis=-1)
    alpha = pixels[..., -1:] if have in (2, 4) else np.full(pixels.shape[:-1] + (1,), np.iinfo(pixels.dtype).max,
                                                           pixels.dtype)
    if channels == 1:
        if have < 3:
            return pixels[..., :1]
        gray = colour.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.floor(gray + 1e-3)[..., None].astype(pixels.dtype)
    return colour if channels == 3 else np.concatenate([colour, alpha], axis=-1)


def _pillow_frames(data, kind):
    image_mod = _pillow(f"decoding {kind.upper()} images")
    img = image_mod.open(io.BytesIO(data))
    frames = []
    for i in range(getattr(img, "n_frames", 1)):
        img.seek(i)
        mode = "RGB" if kind == "gif" else {"L": "L", "LA": "LA", "RGBA": "RGBA", "1": "L"}.get(img.mode, "RGB")
        frames.append(np.asarray(img.convert(mode), np.uint8).reshape(img.height, img.width, -1))
        if kind != "gif":
            break
    return frames


def _decode_host(spec):
    a, name = spec.attrs, spec.name
    op = {"png": "DecodePng", "jpeg": "DecodeJpeg", "gif": "DecodeGif", "bmp": "DecodeBmp"}.get(a["format"],
                                                                                               "DecodeImage")
    out = spec.out_dtypes[0].np

    def decode(contents):
        data = bytes(np.asarray(contents, object).reshape(-1)[0]) if np.ndim(contents) else bytes(contents.item())
        kind = _format(data)
        if kind is None:
            raise InvalidArgumentError(f"{op} op '{name}': unknown image file format; one of JPEG, PNG, GIF, BMP "
                                       f"required")
        if a["format"] == "bmp" and kind != "bmp":
            raise InvalidArgumentError(f"{op} op '{name}': trying to decode {kind.upper()} format using DecodeBmp; "
                                       f"use decode_{kind} or decode_image instead")
        try:
            frames = [png.decode(data)] if kind == "png" else _pillow_frames(data, kind)
        except ImportError:
            raise
        except Exception as e:  # a corrupt file: name the op and why
            raise InvalidArgumentError(f"{op} op '{name}': invalid {kind.upper()} data ({e})") from None
        allowed = {"jpeg": (0, 1, 3), "bmp": (0, 3, 4), "gif": (0, 3)}.get(kind, (0, 1, 3, 4))
        if a["channels"] not in allowed:
            raise InvalidArgumentError(f"{op} op '{name}': {kind.upper()} images decode to channels "
                                       f"{' or '.join(map(str, allowed))}, not {a['channels']}")
        frames = [_with_channels(f, a["channels"]) for f in frames]
        frames = [(f >> 8).astype(out) if f.dtype == np.uint16 else f.astype(out, copy=False) for f in frames]
        if a["frames"] == "all" or (a["frames"] == "auto" and kind == "gif"):
            return np.stack(frames)
        return frames[0]
    return decode


def _decode_rule(shapes, dtypes, attrs):
    if dtypes[0] != _dt.string or shapes[0].unknown_rank or len(shapes[0]) != 0:
        raise ShapeError(f"image decoding takes one scalar string, got {dtypes[0].name} of shape {fmt(shapes[0])}")
    channels = attrs["channels"] or None
    if attrs["frames"] == "all":
        shape = TensorShape([None, None, None, 3])
    elif attrs["frames"] == "auto":
        shape = TensorShape(None)
    else:
        shape = TensorShape([None, None, channels])
    return [(shape, attrs["dtype"])]


register("DecodeImage", _decode_rule, host=_decode_host, source=True)


def _decode(contents, fmt_, channels, dtype, frames, name, default):
    if channels not in (0, 1, 3, 4):
        raise ValueError(f"{default}: channels must be 0, 1, 3 or 4, got {channels!r}")
    dtype = _dt.as_dtype(dtype)
    if dtype != _dt.uint8:
        raise TypeError(f"{default}: dtype must be uint8 (nnplug has no uint16 dtype: 16-bit PNGs decode to their "
                        f"high bytes), got {dtype.name}")
    return make("DecodeImage", [convert_to_tensor(contents, dtype=_dt.string)],
                {"format": fmt_, "channels": int(channels), "dtype": dtype, "frames": frames}, name=name or default)


def decode_png(contents: TensorLike, channels: int = 0, dtype: DTypeLike = _dt.uint8,
               name: str | None = None) -> Tensor:
    """(height, width, channels) uint8 pixels (channels 0: as in the file; 16-bit files: the high bytes)."""
    return _decode(contents, "png", channels, dtype, "first", name, "DecodePng")


def decode_jpeg(contents: TensorLike, channels: int = 0, ratio: int = 1, fancy_upscaling: bool = True,
                try_recover_truncated: bool = False, acceptable_fraction: float = 1, dct_method: str = "",
                name: str | None = None) -> Tensor:
    """(height, width, channels) uint8 pixels; only ratio=1 (no downscaling while decoding) is supported."""
    if ratio != 1:
        raise NotImplementedError(f"decode_jpeg: ratio={ratio!r} is not supported (only 1)")
    return _decode(contents, "jpeg", channels, _dt.uint8, "first", name, "DecodeJpeg")


def decode_bmp(contents: TensorLike, channels: int = 0, name: str | None = None) -> Tensor:
    return _decode(contents, "bmp", channels, _dt.uint8, "first", name, "DecodeBmp")


def decode_gif(contents: TensorLike, name: str | None = None) -> Tensor:
    """(frames, height, width, 3) uint8: every frame of an animation."""
    return _decode(contents, "gif", 0, _dt.uint8, "all", name, "DecodeGif")


def decode_image(contents: TensorLike, channels: int | None = None, dtype: DTypeLike = _dt.uint8,
                 name: str | None = None, expand_animations: bool = True) -> Tensor:
    """Any of PNG, JPEG, GIF, BMP: 3-D, or 4-D for a GIF when expand_animations (then the rank is unknown
    until it runs); float dtypes are convert_image_dtype of the uint8 pixels."""
    want = _dt.as_dtype(dtype)
    with name_scope(name, "decode_image"):
        raw = _decode(contents, "any", channels or 0, _dt.uint8, "auto" if expand_animations else "first", None,
                      "DecodeImage")
        return raw if want == _dt.uint8 else convert_image_dtype(raw, want)


def _image_pixels(image, fn, dtypes):
    x = convert_to_tensor(image)
    if x.dtype not in dtypes:
        raise TypeError(f"{fn}: '{x.name}' must be {' or '.join(d.name for d in dtypes)}, got {x.dtype.name}")
    if x.shape.unknown_rank or len(x.shape) != 3 or x.shape[-1] not in (None, 1, 2, 3, 4):
        raise ShapeError(f"{fn}: '{x.name}' must be one image (height, width, 1-4 channels), got {fmt(x.shape)}")
    return x


def _encode_png_host(spec):
    level = spec.attrs["compression"]

    def encode(pixels):
        if pixels.shape[-1] not in (1, 2, 3, 4):
            raise InvalidArgumentError(f"EncodePng op '{spec.name}': images need 1 to 4 channels, got "
                                       f"{pixels.shape[-1]}")
        return np.array(png.encode(np.ascontiguousarray(pixels), level), object)
    return encode


def _string_rule(shapes, dtypes, attrs):
    return [(TensorShape(()), _dt.string)]


register("EncodePng", _string_rule, host=_encode_png_host)


def encode_png(image: TensorLike, compression: int = -1, name: str | None = None) -> Tensor:
    """A PNG file (scalar string) of a uint8 image; compression -1 (zlib's default) to 9."""
    x = _image_pixels(image, "encode_png", (_dt.uint8,))
    if not -1 <= int(compression) <= 9:
        raise ValueError(f"encode_png: compression must be in [-1, 9], got {compression!r}")
    return make("EncodePng", [x], {"compression": int(compression)}, name=name or "EncodePng")


def _encode_jpeg_host(spec):
    a = spec.attrs

    def encode(pixels):
        image_mod = _pillow("encode_jpeg")
        c = pixels.shape[-1]
        if c not in (1, 3):
            raise InvalidArgumentError(f"EncodeJpeg op '{spec.name}': images need 1 or 3 channels, got {c}")
        img = image_mod.fromarray(pixels[..., 0] if c == 1 else pixels, "L" if c == 1 else "RGB")
        out = io.BytesIO()
        dpi = (a["x_density"], a["y_density"]) if a["density_unit"] == "in" else \
            (a["x_density"] * 2.54, a["y_density"] * 2.54)
        img.save(out, "JPEG", quality=a["quality"], progressive=a["progressive"], optimize=a["optimize_size"],
                 subsampling=2 if a["chroma_downsampling"] else 0, dpi=dpi)
        return np.array(out.getvalue(), object)
    return encode


register("EncodeJpeg", _string_rule, host=_encode_jpeg_host)


def encode_jpeg(image: TensorLike, format: str = "", quality: int = 95, progressive: bool = False,  # noqa: A002
                optimize_size: bool = False, chroma_downsampling: bool = True, density_unit: str = "in",
                x_density: int = 300, y_density: int = 300, xmp_metadata: str = "",
                name: str | None = None) -> Tensor:
    """A JPEG file (scalar string) of a uint8 image with 1 or 3 channels (`format` '' keeps them)."""
    x = _image_pixels(image, "encode_jpeg", (_dt.uint8,))
    if format not in ("", "grayscale", "rgb"):
        raise ValueError(f"encode_jpeg: format must be '', 'grayscale' or 'rgb', got {format!r}")
    if format:
        want = 1 if format == "grayscale" else 3
        if x.shape[-1] is not None and x.shape[-1] != want:
            raise ShapeError(f"encode_jpeg: format {format!r} needs {want} channel(s), '{x.name}' has {x.shape[-1]}")
    if not 0 <= int(quality) <= 100:
        raise ValueError(f"encode_jpeg: quality must be in [0, 100], got {quality!r}")
    if density_unit not in ("in", "cm"):
        raise ValueError(f"encode_jpeg: density_unit must be 'in' or 'cm', got {density_unit!r}")
    attrs = {"quality": int(quality), "progressive": bool(progressive), "optimize_size": bool(optimize_size),
             "chroma_downsampling": bool(chroma_downsampling), "density_unit": density_unit,
             "x_density": int(x_density), "y_density": int(y_density)}
    return make("EncodeJpeg", [x], attrs, name=name or "EncodeJpeg")


def _is_jpeg_host(spec):
    return lambda contents: np.array(bytes(np.asarray(contents, object).item()).startswith(b"\xff\xd8\xff"))


register("IsJpeg", lambda s, d, a: [(TensorShape(()), _dt.bool_)], host=_is_jpeg_host)


def is_jpeg(contents: TensorLike, name: str | None = None) -> Tensor:
    """Whether the string starts with JPEG's magic bytes."""
    return make("IsJpeg", [convert_to_tensor(contents, dtype=_dt.string)], {}, name=name or "is_jpeg")


def random_jpeg_quality(image: TensorLike, min_jpeg_quality: int, max_jpeg_quality: int,
                        seed: int | None = None) -> Tensor:
    raise NotImplementedError("random_jpeg_quality is not supported: it needs a JPEG round trip inside the plan "
                              "(encode_jpeg then decode_jpeg at a drawn quality)")
