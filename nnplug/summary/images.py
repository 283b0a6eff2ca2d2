"""TF1's image summaries: a batch [n, height, width, channels] (1, 3 or 4 channels) of uint8 or float
images, floats mapped to uint8 as TF1's ImageSummary maps them, each encoded as a PNG."""
import io

import numpy as np

from ..errors import InvalidArgumentError
from . import _tensorboard

BAD_COLOR = (255, 0, 0, 255)  # TF1's default colour for pixels with a non-finite channel


def to_uint8(image):
    """One float image [h, w, c] as uint8, TF1's way: all non-negative -> scaled so the largest is 255;
    some negative -> scaled by the largest magnitude to 127 and centred on 128; non-finite pixels red."""
    x = image.astype(np.float32)
    finite = np.isfinite(x).all(axis=-1)
    values = x[finite]
    lo = values.min() if values.size else np.inf
    hi = values.max() if values.size else -np.inf
    if lo < 0:
        top = max(abs(lo), abs(hi))
        scale, offset = (0.0 if top < 1e-6 else 127.0 / top), 128.0
    else:
        scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
    out = np.zeros(x.shape, np.uint8)
    out[finite] = (x[finite] * scale + offset).astype(np.uint8)  # truncated, as TF casts
    out[~finite] = BAD_COLOR[:x.shape[-1]] if x.shape[-1] > 1 else BAD_COLOR[0]
    return out


def encode_png(image):
    """PNG bytes of one uint8 image [h, w, c]."""
    pil = _tensorboard.pillow_image()
    buf = io.BytesIO()
    pil.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, format="PNG")
    return buf.getvalue()


def check_batch(shape, dtype, where):
    """The image batch's shape and dtype, or a message of what is wrong (for build and run time)."""
    if shape.rank is not None and (shape.rank != 4 or shape[3] not in (1, 3, 4, None)):
        return f"{where} takes images of shape [batch, height, width, channels] with 1, 3 or 4 channels, got {shape}"
    if dtype.name not in ("uint8", "float16", "float32", "float64"):
        return f"{where} takes uint8 or float images, got {dtype.name}"
    return None


def images(batch, max_outputs, name):
    """[(height, width, channels, png bytes)] for the first `max_outputs` images of `batch`."""
    if batch.ndim != 4 or batch.shape[3] not in (1, 3, 4):
        raise InvalidArgumentError(f"image summary '{name}' got a tensor of shape {batch.shape}; it takes "
                                   f"[batch, height, width, channels] with 1, 3 or 4 channels")
    out = []
    for image in batch[:max_outputs]:
        pixels = image if image.dtype == np.uint8 else to_uint8(image)
        out.append((image.shape[0], image.shape[1], image.shape[2], encode_png(pixels)))
    return out
