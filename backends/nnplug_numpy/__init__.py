"""The NumPy backend (CPU, the default), registered through the `nnplug` entry point like any plugin."""
from nnplug.hookspecs import hookimpl

from .backend import NumpyBackend


@hookimpl
def nnplug_backends():
    return [NumpyBackend]
