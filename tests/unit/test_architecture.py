"""The rooms import only what design.md allows, and no module imports itself in a loop.

The check reads every module under ``src/castsmith`` (see ``architecture.py`` beside
this file); the planted tests copy the tree, write one violation of each kind into the
copy and see the check name it, so the check cannot pass by reading nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.unit import architecture as arch

SRC = Path(__file__).parents[2] / "src" / "castsmith"


def test_the_tree_keeps_the_rules() -> None:
    found = arch.problems(SRC)
    assert found == []


def test_every_module_is_read() -> None:
    modules = arch.module_names(SRC)
    units = {arch.unit_of(m) for m in modules}
    # The top-level modules and the top rooms are read, not only the lower rooms.
    assert {"config", "bootstrap", "checks", "logs", "api", "web", "cli", "auth"} <= units
    assert len(modules) == len(list(SRC.rglob("*.py")))
    assert arch.unknown_units(SRC) == []


def test_the_rules_themselves_have_no_cycle() -> None:
    assert arch.cycles({unit: set(allowed) for unit, allowed in arch.ALLOWED.items()}) == []


def test_domain_imports_nothing_of_ours() -> None:
    assert arch.ALLOWED["domain"] == frozenset()
    assert not [
        e
        for e in arch.import_edges(SRC)
        if arch.unit_of(e.source) == "domain" and arch.unit_of(e.target) != "domain"
    ]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the source tree to plant violations in."""
    copy = tmp_path / "castsmith"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def new_problems(root: Path) -> list[str]:
    """What the check finds in the copy beyond what it finds in the real tree."""
    before = set(arch.problems(SRC))
    return [line for line in arch.problems(root) if line not in before]


def plant(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write("\n" + text + "\n")


PLANTED = {
    "absolute import": (
        "imaging/planted.py",
        "import castsmith.db.models",
        "imaging may not import db",
    ),
    "from the package": (
        "domain/planted.py",
        "from castsmith import db",
        "domain may not import db",
    ),
    "from a module": (
        "providers/planted.py",
        "from castsmith.storage.base import ObjectStore",
        "providers may not import storage",
    ),
    "relative, two levels": (
        "storage/planted.py",
        "from ..providers import base",
        "storage may not import providers",
    ),
    "relative into a sibling room": (
        "net/planted.py",
        "from ..db.models import Asset",
        "net may not import db",
    ),
    "relative from a package": (
        "workflows/__init__.py",
        "from .. import jobs",
        "workflows may not import jobs",
    ),
    "inside a function": (
        "jobs/planted.py",
        "def later():\n    from castsmith.pipelines import register_all\n    return register_all",
        "jobs may not import pipelines",
    ),
    "inside a class and a try": (
        "db/planted.py",
        "class Later:\n    try:\n        import castsmith.providers.base as base\n"
        "    except ImportError:\n        pass",
        "db may not import providers",
    ),
    "by import_module": (
        "jobs/planted.py",
        "import importlib\n\ndef find():\n    return importlib.import_module('castsmith.webhooks')",
        "jobs may not import webhooks",
    ),
    "under TYPE_CHECKING": (
        "imaging/planted.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from castsmith.storage import base",
        "imaging may not import storage",
    ),
    "config, a package of its own": (
        "config/settings.py",
        "from castsmith.db import engine",
        "config may not import db",
    ),
    "logs": ("logs.py", "import castsmith.jobs.queue", "logs may not import jobs"),
    "bootstrap reaching up": (
        "bootstrap.py",
        "import castsmith.api",
        "bootstrap may not import api",
    ),
    "a top room reaching up": (
        "auth/planted.py",
        "from castsmith import cli",
        "auth may not import cli",
    ),
    "web reaching the api": (
        "web/planted.py",
        "from castsmith.api import app",
        "web may not import api",
    ),
}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_violation_is_named(tree: Path, kind: str) -> None:
    relative, text, expected = PLANTED[kind]
    plant(tree, relative, text)
    found = new_problems(tree)
    assert any(line.startswith(expected) for line in found), found


def test_a_planted_module_cycle_is_named(tree: Path) -> None:
    plant(tree, "domain/ring_a.py", "from castsmith.domain import ring_b")
    plant(tree, "domain/ring_b.py", "def later():\n    from . import ring_a\n    return ring_a")
    found = new_problems(tree)
    assert "module cycle: castsmith.domain.ring_a -> castsmith.domain.ring_b" in found


def test_a_cycle_through_three_modules_is_named(tree: Path) -> None:
    plant(tree, "net/one.py", "import castsmith.net.two")
    plant(tree, "net/two.py", "from castsmith.net.three import x")
    plant(tree, "net/three.py", "from .one import y\nx = 1")
    assert "module cycle: castsmith.net.one -> castsmith.net.three -> castsmith.net.two" in (
        new_problems(tree)
    )


def test_an_import_only_for_types_makes_no_cycle(tree: Path) -> None:
    plant(tree, "domain/ring_a.py", "from castsmith.domain import ring_b")
    plant(
        tree,
        "domain/ring_b.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from castsmith.domain import ring_a",
    )
    assert new_problems(tree) == []


def test_a_planted_room_cycle_is_named(tree: Path) -> None:
    # Both directions between two top rooms: each edge alone may be allowed, the loop is not.
    plant(tree, "web/planted.py", "def later():\n    import castsmith.cli.common")
    found = new_problems(tree)
    assert [line for line in found if line.startswith("room cycle:")] == [
        "room cycle: api -> cli -> web"
    ], found


def test_a_new_room_without_a_rule_is_named(tree: Path) -> None:
    plant(tree, "billing/__init__.py", '"""A room nobody placed."""')
    assert "no rule for the room of castsmith.billing" in new_problems(tree)


def test_a_standard_library_name_is_not_ours(tree: Path) -> None:
    plant(tree, "domain/planted.py", "import json\nfrom collections import abc\nimport castsmithx")
    assert new_problems(tree) == []


def test_modules_stay_small() -> None:
    # One job per module: none over 400 lines, and the typical one well under 200.
    sizes = {path: len(path.read_text().splitlines()) for path in SRC.rglob("*.py")}
    assert [str(path) for path, size in sizes.items() if size > 400] == []
    ordered = sorted(sizes.values())
    assert ordered[len(ordered) // 2] < 200
