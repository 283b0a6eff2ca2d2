"""The plugin contract. A plugin is a module (found through the `nnplug` entry-point group) that
implements any of these hooks with `@nnplug.hookimpl`.

nnplug checks what each hook returns and keeps one plugin's failure its own: a hook that raises (SystemExit
included) or returns something else than documented is skipped with a RuntimeWarning naming the plugin and
its package, and the other plugins keep working (see nnplug/plugins.py and docs/security.md)."""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .backend import Backend, KernelSpec
    from .session import Session

hookspec = pluggy.HookspecMarker("nnplug")
hookimpl = pluggy.HookimplMarker("nnplug")


@hookspec
def nnplug_backends() -> list[type[Backend]]:  # type: ignore[empty-body]  # a declaration
    """Return a list of `nnplug.backend.Backend` subclasses this plugin provides. Each needs a lower-case
    string `name` without ':', `aliases` a tuple of such names and `kernels` a dict; the built-in backends'
    names and aliases (numpy, cpu, np, cupy, cuda, gpu, opencl, cl) are reserved, and among other plugins the
    first to claim a name keeps it. A class that breaks these rules is refused with a warning."""


@hookspec
def nnplug_ops(registry: ModuleType) -> None:
    """Register extra op types: `registry.register(name, infer, grad=..., expand=...)`."""


@hookspec
def nnplug_wrap_kernel(spec: KernelSpec, kernel: Callable[..., Any]) -> Callable[..., Any] | None:
    """Observe kernels as plans are compiled: return a callable to run in place of `kernel`
    (e.g. one that times it), or None to leave it. Plans compiled with no such hook pay nothing.
    A hook that raises or returns a non-callable is skipped (one warning per plugin). What the returned
    callable raises at run time reaches the caller as nnplug.plugins.PluginError naming the plugin and the op
    (nnplug's own errors, e.g. InvalidArgumentError, pass unchanged)."""


@hookspec
def nnplug_session_run(session: Session, fetches: Any, seconds: float) -> None:
    """Called after each Session.run when implemented (seconds: wall time of the run, synchronised).
    What it raises is reported once and never reaches the run."""
