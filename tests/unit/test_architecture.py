"""The rooms import only what the architecture allows (see the README's Development)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "castsmith"

# Which of castsmith's own rooms each lower room may import. Rooms not listed here
# (api, web, cli, auth, checks, bootstrap) sit on top and compose the rest.
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "imaging": {"domain"},
    "workflows": {"domain"},
    "net": {"domain"},
    "webhooks": {"domain"},
    "db": {"domain"},
    "storage": {"domain", "config"},
    "providers": {"domain", "imaging", "net", "config"},
    "jobs": {"domain", "db", "net", "webhooks", "config"},
    "pipelines": {
        "domain",
        "imaging",
        "workflows",
        "providers",
        "storage",
        "db",
        "jobs",
        "net",
        "config",
    },
}


def imported_rooms(room: str) -> dict[str, set[str]]:
    """castsmith rooms imported by the modules of ``room``, with the modules doing it."""
    found: dict[str, set[str]] = {}
    for path in (SRC / room).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "castsmith" and len(parts) > 1 and parts[1] != room:
                    found.setdefault(parts[1], set()).add(str(path.relative_to(SRC)))
    return found


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_only_what_it_may(room: str) -> None:
    forbidden = {
        target: modules
        for target, modules in imported_rooms(room).items()
        if target not in ALLOWED[room]
    }
    assert forbidden == {}, f"{room} must not import {sorted(forbidden)}: {forbidden}"


def test_every_room_is_known() -> None:
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("_")}
    top = {"api", "web", "cli", "auth"}
    assert rooms - top - set(ALLOWED) == set()
