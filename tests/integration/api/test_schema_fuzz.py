"""Hostile input: every operation of the OpenAPI spec, fuzzed by schemathesis."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from castsmith.api.app import create_app
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Server-sent event streams never end on their own; they have their own tests below.
STREAMS = r"^/api/(jobs/\{job_id\}/)?events$"


def describe(exc: BaseException) -> str:
    """The failure's message with its sub-failures (status, body, how to reproduce)."""
    if isinstance(exc, BaseExceptionGroup):
        return str(exc) + "".join(f"\n  - {describe(sub)}" for sub in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def fuzz_operation(
    operation: Any, mode: GenerationMode, max_examples: int, headers: dict[str, str] | None
) -> None:
    """Run one operation's generated cases in ``mode``; raise on the first failure."""
    waits = any(parameter.name == "wait" for parameter in operation.query)

    @settings(
        max_examples=max_examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if waits:
            # Nothing runs the queued jobs here: waiting would only sleep.
            case.query = {**(case.query or {}), "wait": 0}
        case.call_and_validate(checks=CHECKS, headers=headers)

    # Unsatisfiable: nothing in this operation can be made invalid (no parameters).
    with contextlib.suppress(Unsatisfiable):
        run()


def fuzz(schema: Any, max_examples: int, headers: dict[str, str] | None = None) -> list[str]:
    """Run every operation in both modes; return one report per failing operation."""
    failures: list[str] = []
    for result in schema.exclude(path_regex=STREAMS).get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, mode, max_examples, headers)
            # schemathesis reports check failures as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode.value}]: {describe(exc)}")
    return failures


@pytest.fixture
def container(tmp_path: Path, sqlite_database_url: str) -> Iterator[Container]:
    built = build_container(Settings(data_dir=tmp_path, database_url=sqlite_database_url))
    yield built
    built.close()


def test_no_server_errors_and_responses_match_the_spec(container: Container) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    failures = fuzz(schema, max_examples=25)
    assert not failures, "\n\n".join(failures)
