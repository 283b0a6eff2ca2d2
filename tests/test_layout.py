"""The shape of the code: no import circles among nnplug's and the built-in backends' modules (lazy
imports inside functions count too; imports under `if TYPE_CHECKING:`, which never run, do not), and every
elementwise op defined in one place."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "nnplug", ROOT / "backends"]


def _module_name(path):
    rel = path.relative_to(ROOT / "backends" if "backends" in path.parts else ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_only(node):
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`): imports for annotations, never run."""
    return isinstance(node, ast.If) and "TYPE_CHECKING" in (getattr(node.test, "id", None),
                                                            getattr(node.test, "attr", None))


def _runtime_nodes(tree):
    """Every node of `tree` but those inside `if TYPE_CHECKING:` blocks (their `else:` runs, so it counts)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if _type_checking_only(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _imports(path, name, is_package):
    tree = ast.parse(path.read_text())
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)  # `from . import x` may name a module
    return found


def module_graph():
    paths = {_module_name(p): p for pkg in PACKAGES for p in pkg.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        deps = _imports(path, name, path.name == "__init__.py")
        # importing a.b.c also runs a and a.b, but those are parents, not cycles of their own
        graph[name] = {d for d in deps if d in paths and d != name and not name.startswith(d + ".")}
    return graph


def _cycles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def test_no_import_circles():
    cycles = _cycles(module_graph())
    assert not cycles, f"import circles: {cycles}"


def test_imports_for_type_checkers_only_are_not_counted():
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
                     "if typing.TYPE_CHECKING:\n    import d\ndef f():\n    import e\n")
    names = {a.name for n in _runtime_nodes(tree) if isinstance(n, ast.Import) for a in n.names}
    assert names == {"a", "c", "e"}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
