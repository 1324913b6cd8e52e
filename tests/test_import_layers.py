"""The package's imports form no cycle, between modules or between sub-packages.

Every import counts, lazy ones inside functions too (and ``importlib.import_module("literal")``):
a lazy import hides a cycle from Python, not from a reader. ``asr.cli`` is the top: it may import
any stage; nothing imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import asr

ROOT = Path(asr.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The asr modules that module ``name`` imports."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str, names: list[str] | None = None) -> None:
        if not target.startswith("asr"):
            return
        for n in names or []:  # `from asr.decode import beam` imports the module asr.decode.beam
            if f"{target}.{n}" in known:
                found.add(f"{target}.{n}")
                continue
            found.add(target)
        if not names:
            found.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            add(target, [a.name for a in node.names])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            add(node.args[0].value)
    # importing a package's module runs the package's __init__, which is not a dependency edge worth
    # a cycle: drop edges to ancestors of this module
    return {m for m in found if m in known and m != name and not name.startswith(m + ".")}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _package(module: str) -> str:
    """``asr.decode.beam`` -> ``asr.decode``; top-level modules (``asr.cli``) are their own node."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (c := visit(n)):
            return c
    return None


def _all_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component (for a readable failure message)."""
    cycles, g = [], {k: set(v) for k, v in graph.items()}
    while (c := _find_cycle(g)) is not None:
        cycles.append(c)
        g[c[-2]].discard(c[-1])
    return cycles


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    graph = _graph()
    assert "asr.cli" in graph and graph["asr.cli"], "cli imports its stages lazily; the walker must see them"
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_import_cycle():
    cycles = _all_cycles(_graph())
    assert not cycles, "module import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_package_import_cycle():
    graph: dict[str, set[str]] = {}
    for mod, deps in _graph().items():
        graph.setdefault(_package(mod), set()).update(_package(d) for d in deps if _package(d) != _package(mod))
    cycles = _all_cycles(graph)
    assert not cycles, "sub-package import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# The layers of the README's "Layout": a package imports from its own layer (no cycles: see above) and from lower
# layers only. asr/__init__.py's lazy `load_model` (-> transcribe) is the one way up, for users.
LAYERS = (
    ("asr.io", "asr.device", "asr.config"),
    ("asr.text",),
    ("asr.data",),
    ("asr.features", "asr.evaluate"),
    ("asr.model",),
    ("asr.decode",),
    ("asr.train", "asr.transcribe"),
    ("asr.stream",),
    ("asr.release", "asr.serve"),
    ("asr.cli",),
)


def test_imports_point_down_the_layers():
    rank = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
    upward = []
    for mod, deps in _graph().items():
        if mod == "asr":
            continue
        src = _package(mod)
        assert src in rank, f"{src} is in no layer of LAYERS (add it where it belongs, and to the README)"
        upward += [f"{mod} -> {d}" for d in deps if _package(d) != src and rank[_package(d)] > rank[src]]
    assert not upward, "imports that do not point down the layers:\n" + "\n".join(sorted(upward))


def test_nothing_imports_the_cli():
    importers = [m for m, deps in _graph().items() if "asr.cli" in deps]
    assert not importers, f"{importers} import asr.cli, which should only dispatch"
