"""nnplug-arrayapi: a third-party nnplug backend for any Array-API-standard namespace.

`NNPLUG_BACKEND=arrayapi` selects it; `NNPLUG_ARRAYAPI_NAMESPACE` names the namespace module
(default `array_api_strict`, which checks that only standard calls are made).
"""
from nnplug import hookimpl

from .backend import ArrayAPIBackend

__version__ = "0.1.0"


@hookimpl
def nnplug_backends():
    return [ArrayAPIBackend]
