"""`tf.compat` as TF 1.13-1.15 programs use it: `tf.compat.v1` (nnplug is the TF1 surface, so it is nnplug
itself: `tf.compat.v1.placeholder` is `tf.placeholder`), `dimension_value` for shapes, and the byte/text
conversions."""
import sys

from .shapes import dimension_value  # noqa: F401 - re-exported as tf.compat.dimension_value


def __getattr__(name):
    if name == "v1":  # looked up lazily: nnplug is still importing when this module is
        return sys.modules["nnplug"]
    raise AttributeError(f"module 'nnplug.compat' has no attribute {name!r}")


def as_bytes(text, encoding="utf-8"):
    """bytes as they are, str encoded (TF1's compat.as_bytes); anything else is a TypeError naming its type."""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text)
    if isinstance(text, str):
        return text.encode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {type(text).__name__} {text!r:.60}")


def as_text(text, encoding="utf-8"):
    """str as it is, bytes decoded (TF1's compat.as_text, also as_str)."""
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode(encoding)
    raise TypeError(f"Expected binary or unicode string, got {type(text).__name__} {text!r:.60}")


as_str = as_text
