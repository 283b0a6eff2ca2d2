"""ArrayAPIBackend: nnplug's kernels written against the Array API standard, on a namespace chosen at run time.

The kernels are nnplug's shared `nnplug.xp_kernels` factories, so this file only says how data moves and
which namespace to use. Random numbers are drawn on the host with the session's NumPy stream and moved to the
namespace, so a seeded program gives the same numbers as on the numpy backend.
"""
import importlib
import os

import numpy as np

from nnplug.backend import Backend
from nnplug.xp_kernels import XP_KERNELS

ENV = "NNPLUG_ARRAYAPI_NAMESPACE"
DEFAULT = "array_api_strict"


def namespace_name():
    return os.environ.get(ENV, "").strip() or DEFAULT


class ArrayAPIBackend(Backend):
    name = "arrayapi"
    aliases = ("array_api", "xp")
    kernels = XP_KERNELS

    @classmethod
    def is_available(cls):
        name = namespace_name()
        try:
            importlib.import_module(name)
        except ImportError as e:
            return False, (f"array namespace '{name}' (from {ENV}) cannot be imported: {e}. "
                           f"pip install array-api-strict, or set {ENV} to an installed namespace")
        return True, ""

    @classmethod
    def devices(cls):
        return [namespace_name()]

    def __init__(self, device=None):
        super().__init__(device)
        name = namespace_name()
        self.xp = importlib.import_module(name)  # the shared kernels find it as spec.backend.xp

    def to_device(self, array):
        return self.xp.asarray(array)

    def to_host(self, value, persistent=False):
        if isinstance(value, (np.ndarray, np.generic)):  # NumPy as the namespace (reductions give scalars)
            host = np.asarray(value)
        else:
            host = np.from_dlpack(value)
        return np.array(host) if persistent or host.base is not None else host

    def describe(self):
        return f"arrayapi on {self.xp.__name__}"
