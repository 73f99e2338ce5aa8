"""Read castsmith's own imports with ``ast`` and check them against design.md's rooms.

Every form counts: ``import castsmith.db``, ``from castsmith import db``,
``from castsmith.db import models``, relative imports (``from ..db import models``,
``from . import x``), imports inside functions, classes and ``try`` blocks, and
``importlib.import_module("castsmith....")`` with a literal name. Imports under
``if TYPE_CHECKING:`` are read for the room rules (a type is still a dependency) but
not for cycles, since they never run.

A *unit* is a room (a folder under ``src/castsmith``, ``config`` among them) or a
top-level module (``bootstrap``, ``checks``, ``logs``; the package itself is
``castsmith``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "castsmith"

_BELOW_TOP = frozenset(
    {
        "domain",
        "config",
        "logs",
        "imaging",
        "workflows",
        "net",
        "db",
        "storage",
        "providers",
        "jobs",
        "webhooks",
        "pipelines",
    }
)

#: Which units each unit may import (design.md, "Rooms and who may import whom").
#: ``config`` and ``logs`` import nothing of ours; the rooms that build themselves from
#: settings (stores, the provider registry, the engine's limits) may read ``config``.
ALLOWED: Mapping[str, frozenset[str]] = {
    "domain": frozenset(),
    "config": frozenset(),
    "logs": frozenset(),
    "imaging": frozenset({"domain"}),
    "workflows": frozenset({"domain"}),
    "net": frozenset({"domain"}),
    "db": frozenset({"domain"}),
    "storage": frozenset({"domain", "imaging", "net", "config"}),
    "providers": frozenset({"domain", "imaging", "net", "config"}),
    "jobs": frozenset({"domain", "db", "config", "logs"}),
    "webhooks": frozenset({"domain", "db", "jobs", "net", "config", "logs"}),
    "pipelines": _BELOW_TOP - {"pipelines", "webhooks"},
    "bootstrap": _BELOW_TOP,
    "checks": _BELOW_TOP | {"bootstrap"},
    "auth": _BELOW_TOP | {"bootstrap"},
    "web": _BELOW_TOP | {"bootstrap", "checks", "auth", PACKAGE},
    "api": _BELOW_TOP | {"bootstrap", "checks", "auth", "web", PACKAGE},
    "cli": _BELOW_TOP | {"bootstrap", "checks", "auth", "web", "api", PACKAGE},
    PACKAGE: frozenset(),
    "__main__": frozenset({"cli"}),
}


@dataclass(frozen=True)
class Edge:
    """One import of a castsmith module by another, and where it is written."""

    source: str
    target: str
    line: int
    runs: bool  # False for imports only under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_names(src: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package at ``src``."""
    names: dict[str, Path] = {}
    for path in sorted(src.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(src).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def unit_of(module: str) -> str:
    """The room or top-level module that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return hidden


def _targets(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        # ``from castsmith import db`` imports the module castsmith.db, not a name.
        yield from (f"{target}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        called = ast.unparse(node.func)
        if called in {"importlib.import_module", "import_module", "__import__"}:
            yield str(node.args[0].value)


def _known(name: str, modules: Mapping[str, Path]) -> str | None:
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in modules else None


@functools.lru_cache(maxsize=4096)
def _imports_in(module: str, is_package: bool, text: str) -> tuple[tuple[str, int, bool], ...]:
    # Cached on the text: the planted tests read many copies of the same files.
    tree = ast.parse(text)
    hidden = _type_checking_nodes(tree)
    return tuple(
        (name, getattr(node, "lineno", 0), id(node) not in hidden)
        for node in ast.walk(tree)
        for name in _targets(node, module, is_package)
        if name.split(".")[0] == PACKAGE
    )


def import_edges(src: Path) -> list[Edge]:
    """Every import of a castsmith module by a castsmith module under ``src``."""
    modules = module_names(src)
    edges: list[Edge] = []
    for module, path in modules.items():
        found = _imports_in(module, path.name == "__init__.py", path.read_text())
        for name, line, runs in found:
            target = _known(name, modules)
            if target is not None and target != module:
                edges.append(Edge(module, target, line, runs))
    return edges


def unknown_units(src: Path) -> list[str]:
    """Modules whose room or top-level module has no rule."""
    return sorted(m for m in module_names(src) if unit_of(m) not in ALLOWED)


def violations(edges: Iterable[Edge]) -> list[str]:
    """Imports that cross into a unit the importing unit may not see."""
    found = set()
    for edge in edges:
        source, target = unit_of(edge.source), unit_of(edge.target)
        if source != target and target not in ALLOWED.get(source, frozenset()):
            found.add(f"{source} may not import {target}: {edge}")
    return sorted(found)


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    nodes = sorted(set(graph) | {t for ts in graph.values() for t in ts})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(set(graph.get(node, ()))):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return sorted(groups)


def module_cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """Cycles between modules over the imports that run."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.runs:
            graph.setdefault(edge.source, set()).add(edge.target)
    return cycles(graph)


def unit_cycles(edges: Iterable[Edge]) -> list[list[str]]:
    """Cycles between rooms and top-level modules."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        source, target = unit_of(edge.source), unit_of(edge.target)
        if source != target:
            graph.setdefault(source, set()).add(target)
    return cycles(graph)


def problems(src: Path) -> list[str]:
    """Everything wrong with the imports under ``src``, one line each; empty when clean."""
    edges = import_edges(src)
    found = [f"no rule for the room of {m}" for m in unknown_units(src)]
    found += violations(edges)
    found += [f"module cycle: {' -> '.join(c)}" for c in module_cycles(edges)]
    found += [f"room cycle: {' -> '.join(c)}" for c in unit_cycles(edges)]
    return found
