"""Plugin discovery with pluggy, and backend selection.

Every backend, built-in or third-party, arrives the same way: an entry point in the `nnplug` group
naming a module with hook implementations. Entry points load one at a time, so a broken plugin is
reported by name and never takes the others down. `NNPLUG_PLUGINS=a,b` loads only the plugins named.
"""
import contextlib
import difflib
import os
import threading
import warnings
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import BackendError

ENTRY_POINT_GROUP = "nnplug"
ALIASES = {"cpu": "numpy", "np": "numpy", "cuda": "cupy", "gpu": "cupy", "cl": "opencl"}

_lock = threading.RLock()
_state = {"pm": None, "backends": {}, "sources": {}, "broken": {}, "instances": {}}
_selected = threading.local()
_global_choice = [None]


def plugin_manager():
    """The one PluginManager, loading entry points on first use."""
    with _lock:
        if _state["pm"] is None:
            pm = pluggy.PluginManager("nnplug")
            pm.add_hookspecs(hookspecs)
            _state["pm"] = pm
            _load_entry_points(pm)
            _collect(pm)
        return _state["pm"]


def _allowed():
    raw = os.environ.get("NNPLUG_PLUGINS", "").strip()
    return {n.strip() for n in raw.split(",") if n.strip()} or None


def _load_entry_points(pm):
    allowed = _allowed()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None or ep.name in _state["broken"]:
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
            dist = ep.dist
            _state["sources"][ep.name] = (dist.name, dist.version) if dist else (ep.value, "?")
        except Exception as e:  # noqa: BLE001 - a plugin's failure must not break the others
            _state["broken"][ep.name] = f"{type(e).__name__}: {e}"
            warnings.warn(f"nnplug plugin '{ep.name}' ({ep.value}) failed to load and was skipped: "
                          f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=3)


def register_plugin(module, name=None):
    """Register a plugin object by hand (tests, notebooks); returns its name."""
    pm = plugin_manager()
    with _lock:
        name = pm.register(module, name=name)
        _collect(pm)
        return name


def unregister_plugin(name):
    pm = plugin_manager()
    with _lock:
        pm.unregister(name=name)
        _collect(pm)


def _collect(pm):
    from .ops import registry
    backends = {}
    for impl in pm.hook.nnplug_backends.get_hookimpls():
        try:
            classes = impl.function() or []
        except Exception as e:  # noqa: BLE001
            _state["broken"][impl.plugin_name] = f"nnplug_backends() raised {type(e).__name__}: {e}"
            warnings.warn(f"nnplug plugin '{impl.plugin_name}' failed in nnplug_backends(): {e}", RuntimeWarning)
            continue
        for cls in classes:
            if cls.name in backends and backends[cls.name][0] is not cls:
                warnings.warn(f"backend '{cls.name}' from plugin '{impl.plugin_name}' is already provided by "
                              f"'{backends[cls.name][1]}'; the first one is kept", RuntimeWarning)
                continue
            backends[cls.name] = (cls, impl.plugin_name)
    _state["backends"] = backends
    for impl in pm.hook.nnplug_ops.get_hookimpls():
        if impl.plugin_name in _state.setdefault("ops_done", set()):
            continue
        try:
            impl.function(registry=registry)
            _state["ops_done"].add(impl.plugin_name)
        except Exception as e:  # noqa: BLE001
            _state["broken"][impl.plugin_name] = f"nnplug_ops() raised {type(e).__name__}: {e}"
            warnings.warn(f"nnplug plugin '{impl.plugin_name}' failed in nnplug_ops(): {e}", RuntimeWarning)
    _state["instances"].clear()


def backend_classes():
    """{name: (Backend subclass, plugin name)} for every discovered backend."""
    plugin_manager()
    return dict(_state["backends"])


def broken_plugins():
    plugin_manager()
    return dict(_state["broken"])


def plugin_source(plugin_name):
    return _state["sources"].get(plugin_name, (plugin_name, "?"))


def parse_name(spec):
    """'cuda:1' -> ('cupy', 1); 'cpu' -> ('numpy', None)."""
    name, _, dev = str(spec).strip().lower().partition(":")
    name = ALIASES.get(name, name)
    for cls, _plugin in _state["backends"].values():
        if name in getattr(cls, "aliases", ()):
            name = cls.name
    if dev and not dev.isdigit():
        raise BackendError(f"device index in '{spec}' must be a number, e.g. '{name}:0'")
    return name, (int(dev) if dev else None)


def get_backend(spec=None):
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
            installed = ", ".join(sorted(_state["backends"])) or "none"
            close = difflib.get_close_matches(name, list(_state["backends"]) + list(ALIASES), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            broken = "".join(f"\n  plugin '{n}' failed to load: {why}" for n, why in _state["broken"].items())
            raise BackendError(f"unknown backend '{spec}'. Installed backends: {installed}.{hint}{broken}")
        cls = _state["backends"][name][0]
        ok, why = cls.is_available()
        if not ok:
            raise BackendError(f"backend '{name}' is installed but cannot run here: {why}")
        instance = cls(device)
        _state["instances"][key] = instance
        return instance


def current_backend_name():
    """Session(backend=) > set_backend()/`with backend()` > NNPLUG_BACKEND > 'numpy'."""
    local = getattr(_selected, "stack", None)
    if local:
        return local[-1]
    if _global_choice[0] is not None:
        return _global_choice[0]
    return os.environ.get("NNPLUG_BACKEND", "").strip() or "numpy"


def set_backend(name):
    """Choose the backend for Sessions created from now on; validated at once."""
    if name is not None:
        get_backend(name)
    _global_choice[0] = name


@contextlib.contextmanager
def backend(name):
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


def wrappers():
    """The kernel-wrapping hooks installed now (empty almost always: then plans pay nothing)."""
    return plugin_manager().hook.nnplug_wrap_kernel.get_hookimpls()


def run_observers():
    return plugin_manager().hook.nnplug_session_run.get_hookimpls()


def active_backends():
    """The backend instances in use now (for observers that must synchronise them, e.g. a profiler)."""
    return list(_state["instances"].values())


def describe_backends():
    """Rows for `nnplug backends`: name, aliases, package, version, devices, status."""
    rows = []
    for name, (cls, plugin) in sorted(backend_classes().items()):
        dist, version = plugin_source(plugin)
        try:
            ok, why = cls.is_available()
        except Exception as e:  # noqa: BLE001
            ok, why = False, f"is_available() raised {type(e).__name__}: {e}"
        try:
            devices = cls.devices() if ok else []
        except Exception as e:  # noqa: BLE001
            devices, ok, why = [], False, f"devices() raised {type(e).__name__}: {e}"
        aliases = sorted(set(getattr(cls, "aliases", ())) | {a for a, n in ALIASES.items() if n == name})
        rows.append({"name": name, "aliases": aliases, "plugin": plugin, "package": dist, "version": version,
                     "devices": devices, "available": ok, "reason": why})
    return rows
