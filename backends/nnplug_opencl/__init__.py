"""The PyOpenCL backend (PoCL on the CPU, vendor OpenCL drivers on GPUs), registered through the `nnplug`
entry point like any plugin.

Importing this package never imports PyOpenCL: `nnplug backends` lists it (with the reason it cannot run)
on machines without PyOpenCL or an OpenCL device. Pick a device with `opencl:N` (N indexes the list that
`nnplug backends` prints) or the environment variable NNPLUG_OPENCL_DEVICE.
"""
from nnplug.hookspecs import hookimpl

from .backend import OpenCLBackend


@hookimpl
def nnplug_backends():
    return [OpenCLBackend]
