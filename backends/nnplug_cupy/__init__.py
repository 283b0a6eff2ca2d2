"""The CuPy backend (CUDA GPUs), registered through the `nnplug` entry point like any plugin.

Importing this package never imports CuPy: `nnplug backends` lists it (with the reason it cannot run) on
machines without CuPy or a GPU.
"""
from nnplug.hookspecs import hookimpl

from .backend import CupyBackend


@hookimpl
def nnplug_backends():
    return [CupyBackend]
