"""The plugin contract. A plugin is a module (found through the `nnplug` entry-point group) that
implements any of these hooks with `@nnplug.hookimpl`."""
import pluggy

hookspec = pluggy.HookspecMarker("nnplug")
hookimpl = pluggy.HookimplMarker("nnplug")


@hookspec
def nnplug_backends():
    """Return a list of `nnplug.backend.Backend` subclasses this plugin provides."""


@hookspec
def nnplug_ops(registry):
    """Register extra op types: `registry.register(name, infer, grad=..., expand=...)`."""


@hookspec
def nnplug_wrap_kernel(spec, kernel):
    """Observe kernels as plans are compiled: return a callable to run in place of `kernel`
    (e.g. one that times it), or None to leave it. Plans compiled with no such hook pay nothing."""


@hookspec
def nnplug_session_run(session, fetches, seconds):
    """Called after each Session.run when implemented (seconds: wall time of the run, synchronised)."""
