"""The house rules of issue #13, read from the source with ``ast``.

Every import counts, including the lazy ones inside functions: a lazy import
still makes a circle (whichever module is imported first decides what breaks)
and still pulls torch into a process that asked for numpy only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "flarecast"
MAX_LINES = 400

# Modules that must stay importable, and usable, without torch.
TORCH_FREE = (
    "flarecast.evaluation.metrics",
    "flarecast.labels",
    "flarecast.splits",
    "flarecast.goes",
    "flarecast.time",
    "flarecast.forecast.engine",
)
SCALEOUT = ("flarecast.scaleout", "distributed", "dask")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` (annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield child
                yield from _runtime_nodes(child)
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Yield (imported name, line) for every import in one module, lazy ones included.

    Relative imports are resolved against the module's package, and
    ``from pkg import mod`` yields ``pkg.mod`` when ``mod`` is a module of ours.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(name) else name.rpartition(".")[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base, node.lineno
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in MODULES:
                    yield candidate, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    """Module -> {imported module: first line}; imports outside flarecast are kept by top name."""
    graph: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        edges: dict[str, int] = {}
        for target, line in _imports(name, path):
            if target.startswith("flarecast"):
                # ``import flarecast.a.b`` also runs the packages above it; the
                # nearest module of ours is the edge (an unknown name is a typo
                # the import itself would catch).
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]
                if not target or target == name:
                    continue
            else:
                target = target.split(".")[0]
            edges.setdefault(target, line)
        graph[name] = edges
    return graph


GRAPH = _graph()


def _where(module: str, target: str) -> str:
    path = MODULES[module].relative_to(PACKAGE.parent)
    return f"{path}:{GRAPH[module][target]} imports {target}"


def _strongly_connected() -> list[list[str]]:
    """Tarjan's algorithm over the flarecast modules; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in MODULES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return found


def _cycle_in(component: list[str]) -> list[str]:
    """One concrete circle inside a strongly connected component, for the message."""
    members = set(component)
    start = component[0]
    # Breadth-first from start back to start inside the component.
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in GRAPH[v]:
                if w not in members:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return component


def _path_to(source: str, wanted: tuple[str, ...]) -> list[str] | None:
    """The shortest import chain from ``source`` to any name in ``wanted`` (or one below it)."""

    def hit(name: str) -> bool:
        return any(name == w or name.startswith(w + ".") for w in wanted)

    parents: dict[str, str | None] = {source: None}
    frontier = [source]
    while frontier:
        nxt = []
        for v in frontier:
            for w in GRAPH.get(v, {}):
                if w in parents:
                    continue
                parents[w] = v
                if hit(w):
                    chain = [w]
                    while parents[chain[-1]] is not None:
                        chain.append(parents[chain[-1]])
                    return list(reversed(chain))
                if w in MODULES:
                    nxt.append(w)
        frontier = nxt
    return None


def _describe(chain: list[str]) -> str:
    return "\n    ".join(_where(a, b) for a, b in zip(chain, chain[1:], strict=False))


def test_graph_sees_lazy_and_relative_imports() -> None:
    # The reader itself must find the lazy import in the CLI group and the
    # `from pkg import module` form; otherwise every rule below passes vacuously.
    assert "flarecast.errors" in GRAPH["flarecast.cli._common"]
    assert "click" in GRAPH["flarecast.cli"]
    lazy = [m for m in GRAPH if "torch" in GRAPH[m]]
    assert lazy, "no module imports torch: the import reader is broken"


def test_reader_resolves_relative_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    source = tmp_path / "fake.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from .metrics import tss\n"
        "from .. import goes\n"
        "if TYPE_CHECKING:\n"
        "    import torch\n"
        "def f():\n"
        "    from flarecast.data import schema\n"
    )
    found = {name for name, _ in _imports("flarecast.evaluation.fake", source)}
    assert {"flarecast.evaluation.metrics", "flarecast.goes", "flarecast.data.schema"} <= found
    assert "torch" not in found


def test_no_import_circles() -> None:
    circles = _strongly_connected()
    messages = []
    for component in circles:
        cycle = _cycle_in(component)
        messages.append(" -> ".join(cycle) + "\n    " + _describe(cycle))
    assert not circles, "import circles (lazy imports count):\n  " + "\n  ".join(messages)


def test_nothing_below_the_cli_imports_it() -> None:
    offenders = [
        _where(m, t)
        for m, edges in GRAPH.items()
        if not (m == "flarecast.cli" or m.startswith("flarecast.cli."))
        for t in edges
        if t == "flarecast.cli" or t.startswith("flarecast.cli.")
    ]
    assert not offenders, "flarecast.cli imported from below:\n  " + "\n  ".join(offenders)


def test_science_modules_do_not_import_scaleout() -> None:
    offenders = [
        _where(m, t)
        for m, edges in GRAPH.items()
        if not any(m == p or m.startswith(p + ".") for p in ("flarecast.cli", "flarecast.scaleout"))
        for t in edges
        if any(t == s or t.startswith(s + ".") for s in SCALEOUT)
    ]
    assert not offenders, "science modules importing scale-out code:\n  " + "\n  ".join(offenders)


@pytest.mark.parametrize("module", TORCH_FREE)
def test_torch_free_modules(module: str) -> None:
    if module not in MODULES:
        pytest.skip(f"{module} does not exist (yet)")
    chain = _path_to(module, ("torch",))
    assert chain is None, f"{module} imports torch:\n    " + _describe(chain or [])


def test_modules_stay_small() -> None:
    over = []
    for path in MODULES.values():
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "one piece" not in doc:
            over.append(f"{path.relative_to(PACKAGE.parent)}: {lines} lines")
    assert not over, (
        f"modules over {MAX_LINES} lines whose docstring does not say why they are one piece:\n  "
        + "\n  ".join(over)
    )
