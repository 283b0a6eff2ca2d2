"""The tensorboard package, imported when first needed: its protos (Summary, Event, GraphDef) and its
event-file writer are what nnplug.summary writes with. It is an optional dependency."""
import importlib

_INSTALL = 'pip install "nnplug[tensorboard]" (or pip install -e ".[tensorboard]" in a clone of nnplug)'


def module(name):
    """`tensorboard.<name>`, or an ImportError that says how to install it."""
    try:
        return importlib.import_module(f"tensorboard.{name}")
    except ImportError as e:
        raise ImportError(f"nnplug.summary writes TensorBoard files with the tensorboard package, which is "
                          f"not installed ({e}): {_INSTALL}") from e


def proto(name):
    """A protobuf module of TensorBoard's, e.g. proto('summary_pb2')."""
    return module(f"compat.proto.{name}")


def pillow_image():
    """PIL.Image, for the PNGs of image summaries."""
    try:
        return importlib.import_module("PIL.Image")
    except ImportError as e:
        raise ImportError(f"image summaries are encoded as PNG with Pillow, which is not installed: "
                          f"{_INSTALL}") from e
