"""Plugin discovery with pluggy, backend selection, and the walls that keep one plugin's failure its own.

Every backend, built-in or third-party, arrives the same way: an entry point in the `nnplug` group naming
a module with hook implementations. Each entry point is imported on its own, in a thread the host waits
for at most `NNPLUG_PLUGIN_IMPORT_TIMEOUT` seconds, so one that raises, calls `sys.exit` or hangs is
reported by name and never takes the others (or the program) down; a third-party plugin's discovery hooks
(`nnplug_backends`, `nnplug_ops`, a backend's `is_available`) are bounded the same way. What a hook returns is checked before
it is used; a wrapped kernel or run observer that fails is reported naming its plugin. The built-in
backends come first and keep their names and aliases. `NNPLUG_PLUGINS=a,b` loads only the plugins named.
Plugins are code you installed: this isolates their failures, not their intent (see docs/security.md).
"""
from __future__ import annotations

import collections.abc
import contextlib
import difflib
import functools
import os
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .backend import Backend, KernelSpec
from .errors import BackendError, OpError

if TYPE_CHECKING:
    from .session import Session

ENTRY_POINT_GROUP = "nnplug"
ALIASES = {"cpu": "numpy", "np": "numpy", "cuda": "cupy", "gpu": "cupy", "cl": "opencl"}
BUILTIN_PLUGINS = {"numpy": "nnplug_numpy", "cupy": "nnplug_cupy", "opencl": "nnplug_opencl"}  # entry point -> module
RESERVED_NAMES = frozenset(BUILTIN_PLUGINS) | frozenset(ALIASES)  # never a third-party backend's name or alias
IMPORT_TIMEOUT_ENV = "NNPLUG_PLUGIN_IMPORT_TIMEOUT"
DEFAULT_IMPORT_TIMEOUT = 10.0
# What a plugin's code may raise without ending the host. KeyboardInterrupt is not in it: in the main thread
# it is the user's Ctrl-C. (Inside an import thread, where no Ctrl-C can arrive, every BaseException is caught.)
PLUGIN_FAILURES = (Exception, SystemExit)
_BACKEND_NAME = re.compile(r"[a-z0-9][a-z0-9_.+-]*\Z")  # what parse_name can select: lower case, no ':'
_OP_SETS = ("fresh_ops", "inplace_ops", "out_ops", "fusable_ops")


class PluginError(RuntimeError):
    """A plugin's code failed where nnplug called it; the message names the plugin (and its package)."""


_lock = threading.RLock()  # guards the state below
_load_lock = threading.Lock()  # held by the one thread discovering entry points
_in_import = threading.local()  # .pm inside a plugin's import thread: the plugin manager being built
_state = {}
_selected = threading.local()
_global_choice = [None]


def reset() -> None:
    """Forget every discovered plugin; the next use discovers them again (tests, a newly installed plugin)."""
    with _lock:
        _state.clear()
        _state.update(pm=None, backends={}, aliases={}, sources={}, broken={}, refused={}, instances={},
                      builtin=set(), ops_done=set(), warned=set())


reset()


def plugin_manager() -> pluggy.PluginManager:
    """The one PluginManager, loading entry points on first use."""
    pm = _state["pm"]
    if pm is not None:
        return pm
    building = getattr(_in_import, "pm", None)
    if building is not None:  # a plugin's module asking while it is being imported
        return building
    with _load_lock:
        if _state["pm"] is None:
            pm = pluggy.PluginManager("nnplug")
            pm.add_hookspecs(hookspecs)
            try:
                _load_entry_points(pm)
            except BaseException:  # Ctrl-C while a plugin imported: discover afresh next time
                reset()
                raise
            with _lock:
                _collect(pm)
                _state["pm"] = pm
    return _state["pm"]


# -- naming plugins in messages ---------------------------------------------------------------------------
def plugin_source(plugin_name: str) -> tuple[str, str]:
    """(distribution, version) a plugin came from; (plugin name, '?') for one registered by hand."""
    return _state["sources"].get(plugin_name, (plugin_name, "?"))


def _who(plugin_name):
    """'name' or 'name' (package version): how every message names a plugin."""
    dist, version = plugin_source(plugin_name)
    if dist == plugin_name and version == "?":
        return f"'{plugin_name}'"
    return f"'{plugin_name}' ({dist} {version})"


def _show(obj, limit=60, text=repr):
    """A short repr (or str) of something a plugin handed over, even when its __repr__ fails."""
    try:
        shown = text(obj)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        shown = f"<{type(obj).__name__} object>"
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _describe(exc):
    if isinstance(exc, SystemExit):
        return f"SystemExit({_show(exc.code)}): the plugin called sys.exit()"
    return f"{type(exc).__name__}: {_show(exc, 300, str)}"


def _warn_once(key, message):
    """One warning per (kind, plugin) per discovery: a plugin failing on every kernel says so once."""
    if key in _state["warned"]:
        return
    _state["warned"].add(key)
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _mark_broken(plugin_name, why, message):
    _state["broken"][plugin_name] = why
    _warn_once(("broken", plugin_name), message)


# -- entry points ------------------------------------------------------------------------------------------
def _allowed():
    raw = os.environ.get("NNPLUG_PLUGINS", "").strip()
    return {n.strip() for n in raw.split(",") if n.strip()} or None


def import_timeout() -> float:
    """Seconds to wait for one plugin's import (`NNPLUG_PLUGIN_IMPORT_TIMEOUT`, default 10)."""
    raw = os.environ.get(IMPORT_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_IMPORT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        _warn_once(("env", IMPORT_TIMEOUT_ENV), f"{IMPORT_TIMEOUT_ENV}={raw!r} is not a positive number of "
                                                f"seconds; using {DEFAULT_IMPORT_TIMEOUT:g}")
        return DEFAULT_IMPORT_TIMEOUT
    return value


def _entry_points():
    """(entry point, distribution name, version) of the `nnplug` group, built-ins first. Read per
    distribution, so one package with a malformed entry_points.txt spoils only itself."""
    found, seen = [], set()
    for dist in metadata.distributions():
        try:
            eps = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
            if not eps:
                continue
            name, version = dist.metadata["Name"] or "?", dist.version or "?"
            key = name.lower().replace("-", "_").replace(".", "_")
            if key in seen:  # the same package twice on sys.path: the first one is the one Python imports
                continue
            seen.add(key)
        except Exception as e:  # noqa: BLE001
            _warn_once(("dist", str(getattr(dist, "_path", id(dist)))),
                       f"the metadata of an installed package could not be read and its nnplug plugins (if any) "
                       f"were skipped: {_describe(e)}")
            continue
        found.extend((ep, name, version) for ep in eps)
    return sorted(found, key=lambda item: BUILTIN_PLUGINS.get(item[0].name) != item[0].value)


def _in_thread(fn, timeout, what):
    """fn() in a daemon thread, waited for `timeout` s: (result, exception or None), or raises PluginError when
    it did not finish in time. A plugin's import or hook that hangs is then abandoned, not the host."""
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - SystemExit too; a real Ctrl-C goes to the main thread
            box["error"] = e

    thread = threading.Thread(target=target, name=f"nnplug-plugin-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise PluginError(f"its {what} did not finish within {timeout:g} s and was abandoned "
                          f"(set {IMPORT_TIMEOUT_ENV} to wait longer)")
    return box.get("result"), box.get("error")


def _import(ep, pm, timeout):
    """ep.load() bounded by `timeout` s: (module, None) or (None, why it failed)."""
    def load():
        _in_import.pm = pm
        return ep.load()
    try:
        module, error = _in_thread(load, timeout, "import")
    except PluginError as e:
        return None, str(e)
    return (None, _describe(error)) if error is not None else (module, None)


def _call_hook(fn, plugin_name, what, **kwargs):
    """fn(**kwargs) of a plugin: built-ins are called directly, a third-party plugin's call is bounded as its
    import is (PluginError when it hangs); what it raises is raised here."""
    if plugin_name in _state["builtin"]:
        return fn(**kwargs)
    result, error = _in_thread(lambda: fn(**kwargs), import_timeout(), what)
    if error is not None:
        raise error
    return result


def _load_entry_points(pm):
    allowed, timeout, seen = _allowed(), import_timeout(), set()
    for ep, dist, version in _entry_points():
        if allowed is not None and ep.name not in allowed:
            continue
        builtin = BUILTIN_PLUGINS.get(ep.name) == ep.value
        label = f"nnplug plugin '{ep.name}' (module '{ep.value}' of {dist} {version})"
        if ep.name in seen or (ep.name in BUILTIN_PLUGINS and not builtin):
            taken = "a built-in plugin's" if ep.name in BUILTIN_PLUGINS else "another plugin's"
            _warn_once(("name", ep.name, dist), f"{label} has {taken} entry-point name '{ep.name}' and was not loaded")
            continue
        seen.add(ep.name)
        _state["sources"][ep.name] = (dist, version)
        module, why = _import(ep, pm, timeout)
        if module is None:
            _mark_broken(ep.name, why, f"{label} failed to load and was skipped: {why}")
            continue
        try:
            with _lock:
                pm.register(module, name=ep.name)
        except PLUGIN_FAILURES as e:  # pluggy refuses malformed hook implementations
            _mark_broken(ep.name, _describe(e), f"{label} could not be registered: {_describe(e)}")
            continue
        if builtin:
            _state["builtin"].add(ep.name)


def register_plugin(module: object, name: str | None = None) -> str | None:
    """Register a plugin object by hand (tests, notebooks); returns its name (None if pluggy blocks it)."""
    pm = plugin_manager()
    with _lock:
        name = pm.register(module, name=name)
        _collect(pm)
        return name


def unregister_plugin(name: str) -> None:
    pm = plugin_manager()
    with _lock:
        pm.unregister(name=name)
        _collect(pm)


# -- what hooks return -------------------------------------------------------------------------------------
def _is_name_set(value):
    return (isinstance(value, (tuple, list, set, frozenset))
            and all(isinstance(v, str) for v in value))


def _backend_problem(cls):
    """Why `cls` cannot be used as a backend class, or None."""
    if not isinstance(cls, type) or not issubclass(cls, Backend):
        return f"{_show(cls)} is not a subclass of nnplug.backend.Backend"
    name, aliases = getattr(cls, "name", None), getattr(cls, "aliases", ())
    if not isinstance(name, str) or not _BACKEND_NAME.match(name):
        return f"class {cls.__qualname__} has name {_show(name)}: a backend name is a lower-case string without ':'"
    if not _is_name_set(aliases) or not all(_BACKEND_NAME.match(a) for a in aliases):
        return f"backend '{name}' has aliases {_show(aliases)}: aliases are a tuple of lower-case names"
    if not isinstance(getattr(cls, "kernels", None), collections.abc.Mapping):
        return f"backend '{name}' has kernels {_show(getattr(cls, 'kernels', None))}, not a dict"
    for attr in _OP_SETS:
        if not _is_name_set(getattr(cls, attr, frozenset())):
            return f"backend '{name}' has {attr} {_show(getattr(cls, attr))}, not a set of op type names"
    return None


def _backend_list(impl):
    """The Backend classes one plugin's nnplug_backends() offers, each checked; None when the hook failed."""
    who = _who(impl.plugin_name)
    try:
        classes = _call_hook(impl.function, impl.plugin_name, "nnplug_backends()")
    except PluginError as e:  # it hung
        _mark_broken(impl.plugin_name, str(e), f"nnplug plugin {who} failed in nnplug_backends(): {e}")
        return None
    except PLUGIN_FAILURES as e:
        _mark_broken(impl.plugin_name, f"nnplug_backends() raised {_describe(e)}",
                     f"nnplug plugin {who} failed in nnplug_backends(): {_describe(e)}")
        return None
    if classes is None:
        return []
    if not isinstance(classes, (list, tuple)):
        why = f"nnplug_backends() returned {_show(classes)}, not a list of Backend subclasses"
        _mark_broken(impl.plugin_name, why, f"nnplug plugin {who}: {why}; it provides no backend")
        return None
    good = []
    for cls in classes:
        try:
            problem = _backend_problem(cls)
        except Exception as e:  # noqa: BLE001 - a hostile metaclass
            problem = f"{_show(cls)} could not be inspected: {_describe(e)}"
        if problem is None:
            good.append(cls)
        else:
            _warn_once(("class", impl.plugin_name, problem),
                       f"nnplug plugin {who}: nnplug_backends() returned a bad entry, skipped: {problem}")
    return good


def _backend_impls(pm):
    """nnplug_backends implementations, built-ins first, then the others in the order they registered."""
    order = {name: i for i, (name, _plugin) in enumerate(pm.list_name_plugin())}
    impls = pm.hook.nnplug_backends.get_hookimpls()
    return sorted(impls, key=lambda impl: (impl.plugin_name not in _state["builtin"], order.get(impl.plugin_name, 0)))


def _claim(cls, plugin_name, reserved, names, backends):
    """Why `cls` may not take its name and aliases, or None: a third-party backend never takes a built-in's
    name or alias (`reserved`), and among the others the first to claim a name keeps it."""
    for claimed in (cls.name, *cls.aliases):
        if plugin_name not in _state["builtin"] and claimed in reserved:
            kind = "name" if claimed == cls.name else "alias"
            return f"was refused: it claims the {kind} '{claimed}', which belongs to a built-in backend"
        if claimed in names:
            return f"is already provided by {_who(backends[names[claimed]][1])}; the first one is kept"
    return None


def _collect(pm):
    from .ops import registry
    backends, names, refused, reserved = {}, {}, {}, set(RESERVED_NAMES)
    for impl in _backend_impls(pm):
        for cls in _backend_list(impl) or ():
            if cls.name in backends and backends[cls.name][0] is cls:
                continue  # the same class offered twice (one plugin registered under two names)
            why = _claim(cls, impl.plugin_name, reserved, names, backends)
            if why is not None:
                refused[cls.name] = f"backend '{cls.name}' from plugin {_who(impl.plugin_name)} {why}"
                _warn_once(("claim", impl.plugin_name, cls.name), refused[cls.name])
                continue
            backends[cls.name] = (cls, impl.plugin_name)
            names.update({n: cls.name for n in (cls.name, *cls.aliases)})
            if impl.plugin_name in _state["builtin"]:
                reserved.update((cls.name, *cls.aliases))
    _state["backends"], _state["refused"] = backends, {n: w for n, w in refused.items() if n not in backends}
    _state["aliases"] = {n: b for n, b in names.items() if n != b}
    for impl in pm.hook.nnplug_ops.get_hookimpls():
        if impl.plugin_name in _state["ops_done"]:
            continue
        try:
            _call_hook(impl.function, impl.plugin_name, "nnplug_ops()", registry=registry)
            _state["ops_done"].add(impl.plugin_name)
        except PluginError as e:
            _mark_broken(impl.plugin_name, str(e), f"nnplug plugin {_who(impl.plugin_name)} failed in nnplug_ops(): {e}")
        except PLUGIN_FAILURES as e:
            _mark_broken(impl.plugin_name, f"nnplug_ops() raised {_describe(e)}",
                         f"nnplug plugin {_who(impl.plugin_name)} failed in nnplug_ops(): {_describe(e)}")
    _state["instances"].clear()


def backend_classes() -> dict[str, tuple[type[Backend], str]]:
    """{name: (Backend subclass, plugin name)} for every discovered backend."""
    plugin_manager()
    return dict(_state["backends"])


def broken_plugins() -> dict[str, str]:
    """{plugin name: why} for plugins that failed to load or whose hooks failed."""
    plugin_manager()
    return dict(_state["broken"])


def refused_backends() -> dict[str, str]:
    """{backend name: why} for backends a plugin offered that nnplug did not take."""
    plugin_manager()
    return dict(_state["refused"])


# -- selection ---------------------------------------------------------------------------------------------
def parse_name(spec: str) -> tuple[str, int | None]:
    """'cuda:1' -> ('cupy', 1); 'cpu' -> ('numpy', None)."""
    name, _, dev = str(spec).strip().lower().partition(":")
    name = ALIASES.get(name, name)
    name = _state["aliases"].get(name, name)
    if dev and not dev.isdigit():
        raise BackendError(f"device index in '{spec}' must be a number, e.g. '{name}:0'")
    return name, (int(dev) if dev else None)


def availability(name: str) -> tuple[bool, str]:
    """(ok, reason) of a discovered backend, never raising: a plugin's is_available() may misbehave."""
    cls, plugin = _state["backends"][name]
    try:
        result = _call_hook(cls.is_available, plugin, "is_available()")
    except PluginError as e:  # it hung
        return False, f"plugin {_who(plugin)}: {e}"
    except PLUGIN_FAILURES as e:
        return False, f"is_available() of plugin {_who(plugin)} raised {_describe(e)}"
    try:
        ok, why = result
        return bool(ok), str(why)
    except Exception:  # noqa: BLE001
        return False, f"is_available() of plugin {_who(plugin)} returned {_show(result)}, not (ok, reason)"


def _unknown(spec, name):
    installed = ", ".join(sorted(_state["backends"])) or "none"
    close = difflib.get_close_matches(name, list(_state["backends"]) + list(ALIASES), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    refused = f"\n  {_state['refused'][name]}" if name in _state["refused"] else ""
    broken = "".join(f"\n  plugin {_who(n)} failed to load: {why}" for n, why in _state["broken"].items())
    return BackendError(f"unknown backend '{spec}'. Installed backends: {installed}.{hint}{refused}{broken}")


def get_backend(spec: str | Backend | None = None) -> Backend:
    """A backend instance by name (or the current choice), cached per (name, device)."""
    plugin_manager()
    if spec is None:
        spec = current_backend_name()
    if not isinstance(spec, str):
        return spec  # already an instance
    name, device = parse_name(spec)
    with _lock:
        key = (name, device)
        if key in _state["instances"]:
            return _state["instances"][key]
        if name not in _state["backends"]:
            raise _unknown(spec, name)
        cls, plugin = _state["backends"][name]
        ok, why = availability(name)
        if not ok:
            raise BackendError(f"backend '{name}' is installed but cannot run here: {why}")
        try:
            instance = cls(device)
        except PLUGIN_FAILURES as e:
            where = f" on device {device}" if device is not None else ""
            raise BackendError(f"backend '{name}' of plugin {_who(plugin)} failed to start{where}: "
                               f"{_describe(e)}") from e
        _state["instances"][key] = instance
        return instance


def current_backend_name() -> str:
    """Session(backend=) > set_backend()/`with backend()` > NNPLUG_BACKEND > 'numpy'."""
    local = getattr(_selected, "stack", None)
    if local:
        return local[-1]
    if _global_choice[0] is not None:
        return _global_choice[0]
    return os.environ.get("NNPLUG_BACKEND", "").strip() or "numpy"


def set_backend(name: str | None) -> None:
    """Choose the backend for Sessions created from now on; validated at once."""
    if name is not None:
        get_backend(name)
    _global_choice[0] = name


@contextlib.contextmanager
def backend(name: str) -> Iterator[Backend]:
    """`with nnplug.backend('opencl'):` — Sessions created inside use this backend."""
    get_backend(name)
    stack = getattr(_selected, "stack", None)
    if stack is None:
        stack = _selected.stack = []
    stack.append(name)
    try:
        yield get_backend(name)
    finally:
        stack.pop()


# -- kernel wrappers and run observers ---------------------------------------------------------------------
def wrappers() -> list[pluggy.HookImpl]:
    """The kernel-wrapping hooks installed now (empty almost always: then plans pay nothing)."""
    return plugin_manager().hook.nnplug_wrap_kernel.get_hookimpls()


def run_observers() -> list[pluggy.HookImpl]:
    return plugin_manager().hook.nnplug_session_run.get_hookimpls()


def wrap_kernel(spec: KernelSpec, kernel: Callable[..., Any],
                impls: Sequence[pluggy.HookImpl] | None = None) -> tuple[Callable[..., Any], bool]:
    """Apply every `nnplug_wrap_kernel` hook (or those in `impls`, e.g. `wrappers()` taken once per plan) to
    one kernel: returns (kernel, whether some plugin wrapped it). A hook that raises or returns something
    other than None or a callable is skipped, with one warning per plugin. What a plugin returns runs with
    `blame`: its failures at run time are raised as PluginError naming the plugin and the op."""
    wrapped = False
    for impl in wrappers() if impls is None else impls:
        who = _who(impl.plugin_name)
        try:
            result = impl.function(spec=spec, kernel=kernel)
        except PLUGIN_FAILURES as e:
            _warn_once(("wrap", impl.plugin_name), f"nnplug plugin {who} raised in nnplug_wrap_kernel "
                       f"({spec.op_type} op '{spec.name}'): {_describe(e)}; its kernel wrappers are skipped")
            continue
        if result is None:
            continue
        if not callable(result):
            _warn_once(("wrap", impl.plugin_name), f"nnplug plugin {who} returned {_show(result)} from "
                       f"nnplug_wrap_kernel ({spec.op_type} op '{spec.name}'), not a callable or None; "
                       f"its kernel wrappers are skipped")
            continue
        kernel, wrapped = blame(impl.plugin_name, spec, result), True
    return kernel, wrapped


def blame(plugin_name: str, spec: KernelSpec, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` (a plugin's wrapped kernel), re-raising what it raises as PluginError naming the plugin and the op.
    nnplug's own errors (OpError: e.g. check_numerics' report) and another wrapper's PluginError pass as
    they are; so does KeyboardInterrupt."""
    where = f"{spec.op_type} op '{spec.name}'"

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (OpError, PluginError):
            raise
        except PLUGIN_FAILURES as e:
            raise PluginError(f"the kernel of {where}, as wrapped by nnplug plugin {_who(plugin_name)}, raised "
                              f"{_describe(e)} (NNPLUG_PLUGINS can leave the plugin out)") from e
    guarded.__wrapped__ = fn
    return guarded


def notify_session_run(session: Session, fetches: Any, seconds: float,
                       observers: Sequence[pluggy.HookImpl] | None = None) -> None:
    """Call every `nnplug_session_run` observer (or those in `observers`); never raises into the run: an
    observer that fails is reported once, naming its plugin."""
    for impl in run_observers() if observers is None else observers:
        try:
            impl.function(session=session, fetches=fetches, seconds=seconds)
        except PLUGIN_FAILURES as e:
            _warn_once(("observer", impl.plugin_name), f"nnplug plugin {_who(impl.plugin_name)} raised in "
                       f"nnplug_session_run and was ignored (shown once): {_describe(e)}")


def active_backends() -> list[Backend]:
    """The backend instances in use now (for observers that must synchronise them, e.g. a profiler)."""
    return list(_state["instances"].values())


def _devices(cls, plugin):
    try:
        devices = cls.devices()
    except PLUGIN_FAILURES as e:
        return None, f"devices() of plugin {_who(plugin)} raised {_describe(e)}"
    if not _is_name_set(devices):
        return None, f"devices() of plugin {_who(plugin)} returned {_show(devices)}, not a list of names"
    return list(devices), ""


def describe_backends() -> list[dict[str, Any]]:
    """Rows for `nnplug backends`: name, aliases, package, version, devices, status."""
    rows = []
    for name, (cls, plugin) in sorted(backend_classes().items()):
        dist, version = plugin_source(plugin)
        ok, why = availability(name)
        devices = []
        if ok:
            devices, why = _devices(cls, plugin)
            ok, devices = devices is not None, devices or []
        aliases = sorted(set(cls.aliases) | {a for a, n in ALIASES.items() if n == name})
        rows.append({"name": name, "aliases": aliases, "plugin": plugin, "package": dist, "version": version,
                     "devices": devices, "available": ok, "reason": why})
    return rows
