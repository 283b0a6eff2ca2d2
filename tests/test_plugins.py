"""Plugin discovery and isolation: entry points, the example plugins, broken plugins, selection."""
import importlib.util
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest

import nnplug as tf
from nnplug import plugins
from nnplug.errors import BackendError

HAVE_EXAMPLES = all(importlib.util.find_spec(m) for m in ("nnplug_arrayapi", "nnplug_profiler"))
needs_examples = pytest.mark.skipif(not HAVE_EXAMPLES, reason="example plugins not installed: "
                                    "pip install -e plugins/nnplug-arrayapi -e plugins/nnplug-profiler")


def _reset():
    plugins._state.update(pm=None, backends={}, sources={}, broken={}, instances={})
    plugins._state.pop("ops_done", None)


@pytest.fixture
def fresh(monkeypatch):
    """Rediscover plugins inside the test, and again (with the real entry points) after it."""
    monkeypatch.delenv("NNPLUG_PLUGINS", raising=False)
    monkeypatch.delenv("NNPLUG_BACKEND", raising=False)
    _reset()
    yield
    monkeypatch.undo()
    _reset()
    plugins._global_choice[0] = None


def add_entry_points(monkeypatch, *extra):
    real = metadata.entry_points

    def fake(**kw):
        eps = list(real(**kw))
        return eps + [metadata.EntryPoint(n, v, plugins.ENTRY_POINT_GROUP) for n, v in extra]
    monkeypatch.setattr(plugins.metadata, "entry_points", fake)


@needs_examples
def test_example_plugins_found_through_entry_points(fresh):
    found = plugins.backend_classes()
    assert {"numpy", "arrayapi", "cupy"} <= set(found)
    assert found["arrayapi"][1] == "arrayapi" and plugins.plugin_source("arrayapi")[0] == "nnplug-arrayapi"
    assert plugins.plugin_manager().get_plugin("profiler") is not None  # a plugin that provides no backend
    assert plugins.plugin_source("profiler")[0] == "nnplug-profiler"


@needs_examples
def test_cli_lists_every_backend_with_status():
    out = subprocess.run([sys.executable, "-m", "nnplug.cli", "backends"], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    for name in ("numpy", "arrayapi", "cupy"):
        assert f"\n{name} (aliases" in "\n" + out
    assert "package: nnplug-arrayapi 0.1.0" in out
    cupy_block = out.split("\ncupy ")[1].split("\n\n")[0]
    if importlib.util.find_spec("cupy") is None:
        assert "unavailable: CuPy is not installed" in cupy_block and "nnplug[cuda]" in cupy_block


def test_broken_plugin_is_reported_by_name_and_spares_the_others(fresh, monkeypatch):
    add_entry_points(monkeypatch, ("brokenplug", "nnplug_no_such_module_for_test"))
    with pytest.warns(RuntimeWarning, match="brokenplug.*failed to load"):
        plugins.plugin_manager()
    assert "brokenplug" in plugins.broken_plugins()
    assert "ModuleNotFoundError" in plugins.broken_plugins()["brokenplug"]
    assert plugins.get_backend("numpy").name == "numpy"  # the others still work
    with pytest.raises(BackendError, match="plugin 'brokenplug' failed to load"):
        plugins.get_backend("brokenplug")
    out = subprocess.run([sys.executable, "-c", "import sys\nfrom nnplug import cli\nsys.exit(cli.main(['backends']))"],
                         capture_output=True, text=True, timeout=120)  # a fresh process: no broken plugin there
    assert out.returncode == 0 and "brokenplug" not in out.stdout


def test_broken_plugin_listed_by_cli(fresh, monkeypatch, capsys):
    add_entry_points(monkeypatch, ("brokenplug", "nnplug_no_such_module_for_test"))
    from nnplug import cli
    with pytest.warns(RuntimeWarning):
        assert cli.main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "brokenplug\n    status:  broken plugin: ModuleNotFoundError" in out and "numpy" in out


def test_plugin_raising_in_its_hook_is_isolated(fresh, monkeypatch, tmp_path):
    (tmp_path / "nnplug_raising_hook.py").write_text(textwrap.dedent("""
        from nnplug import hookimpl
        @hookimpl
        def nnplug_backends():
            raise RuntimeError("driver exploded")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    add_entry_points(monkeypatch, ("raiser", "nnplug_raising_hook"))
    with pytest.warns(RuntimeWarning, match="raiser.*driver exploded"):
        names = set(plugins.backend_classes())
    assert "numpy" in names and "driver exploded" in plugins.broken_plugins()["raiser"]


def test_duplicate_backend_name_warns_and_keeps_the_first(fresh, monkeypatch, tmp_path):
    (tmp_path / "nnplug_dup_backend.py").write_text(textwrap.dedent("""
        from nnplug import hookimpl
        from nnplug.backend import Backend
        class Impostor(Backend):
            name = "numpy"
        @hookimpl
        def nnplug_backends():
            return [Impostor]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    add_entry_points(monkeypatch, ("dup", "nnplug_dup_backend"))
    with pytest.warns(RuntimeWarning, match="backend 'numpy' from plugin '(dup|numpy)' is already provided"):
        classes = plugins.backend_classes()
    assert classes["numpy"][0].__name__ in ("NumpyBackend", "Impostor")
    assert sum(1 for c, _ in classes.values() if c.name == "numpy") == 1


def test_unknown_backend_lists_installed_and_suggests(fresh):
    with pytest.raises(BackendError) as e:
        tf.Session(backend="nump")
    msg = str(e.value)
    assert "unknown backend 'nump'" in msg and "Installed backends:" in msg and "numpy" in msg
    assert "Did you mean 'numpy'?" in msg


def test_allow_list_loads_only_the_named_plugins(fresh, monkeypatch):
    add_entry_points(monkeypatch, ("brokenplug", "nnplug_no_such_module_for_test"))
    monkeypatch.setenv("NNPLUG_PLUGINS", "numpy")
    assert set(plugins.backend_classes()) == {"numpy"}  # the broken plugin was never imported: no warning
    assert plugins.broken_plugins() == {}
    with pytest.raises(BackendError, match="Installed backends: numpy"):
        plugins.get_backend("cupy")


@needs_examples
def test_selection_order(fresh, monkeypatch):
    monkeypatch.setenv("NNPLUG_BACKEND", "arrayapi")
    assert tf.Session().backend.name == "arrayapi"
    tf.set_backend("cpu")
    try:
        assert tf.Session().backend.name == "numpy"
        with tf.backend("xp") as b:
            assert b.name == "arrayapi" and tf.Session().backend.name == "arrayapi"
            assert tf.Session(backend="numpy").backend.name == "numpy"  # Session(backend=) wins
        assert tf.Session().backend.name == "numpy"
    finally:
        tf.set_backend(None)
    assert tf.Session().backend.name == "arrayapi"


def test_aliases_and_device_indices(fresh):
    plugins.plugin_manager()
    assert plugins.parse_name("cuda:1") == ("cupy", 1)
    assert plugins.parse_name("GPU") == ("cupy", None)
    assert plugins.parse_name("cpu") == ("numpy", None)
    assert plugins.parse_name("cl:0") == ("opencl", 0)
    with pytest.raises(BackendError, match="must be a number"):
        plugins.parse_name("cuda:first")
    assert plugins.get_backend("cpu") is plugins.get_backend("numpy")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_known_but_unusable_backend_says_why(fresh):
    with pytest.raises(BackendError, match="backend 'cupy' is installed but cannot run here: CuPy is not installed"):
        tf.set_backend("cuda:1")
    with pytest.raises(BackendError, match="cannot run here"):
        with tf.backend("gpu"):
            pass
