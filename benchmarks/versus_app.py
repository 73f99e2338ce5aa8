"""The procrastinate app of ``benchmarks/versus.py``: one no-op task.

Worker processes import it by name (``procrastinate --app benchmarks.versus_app.app``),
so the database comes from an environment variable the benchmark sets.
"""

from __future__ import annotations

import os

import procrastinate

CONNINFO_ENV = "CASTSMITH_VERSUS_CONNINFO"


def make_app(conninfo: str) -> procrastinate.App:
    """An app on ``conninfo`` with the no-op task registered."""
    made = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    made.task(name="noop")(_noop)
    return made


async def _noop() -> None:
    return None


app = make_app(os.environ.get(CONNINFO_ENV, "postgresql://postgres@127.0.0.1:5432/postgres"))
noop = app.tasks["noop"]
