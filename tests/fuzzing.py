"""schemathesis over the whole OpenAPI, with the checks castsmith holds itself to.

One runner for the bounded run in ``make test`` (tests/integration/api/test_schema_fuzz.py)
and the long one (benchmarks/fuzz.py). It drives schemathesis' engine, so the coverage
phase runs too (boundary values and the methods a path does not declare), and counts
cases, answers and failures per check.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.engine import events, from_schema
from schemathesis.openapi.checks import RejectedPositiveData

from castsmith.domain.ids import ID_RULE

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "unsupported_method",
]
# Server-sent event streams never end on their own; they have their own tests.
STREAMS = r"^/api/(jobs/\{job_id\}/)?events$"
# A schema-valid request these operations refuse (422, naming the field) for a reason a
# JSON schema cannot state: the bytes must be an image or weights, a cursor must be one
# the server issued, the actor must already have what the request builds on, a URL or
# date must parse, a job payload follows its kind's schema. ``positive_data_acceptance``
# accepts that 422 here and nowhere else.
SEMANTIC_422: dict[str, str] = {
    "GET /api/jobs": "a cursor is one the server issued",
    "GET /api/persona-tasks": "a cursor is one the server issued",
    "GET /api/actors": "a cursor is one the server issued",
    "GET /api/costs": "since is a date, a date-time or 7d/24h",
    "GET /api/actors/{actor_id}/training-data/export": "the actor needs training images",
    "GET /api/actors/{actor_id}/training-data/export.zip": "the actor needs training images",
    "POST /api/jobs": "the payload follows its kind's schema",
    "POST /api/actors": "the name is free and follows the name rule",
    "PATCH /api/actors/{actor_id}": "the name follows the name rule",
    "PUT /api/actors/{actor_id}/base-image": "the file is an image",
    "POST /api/actors/{actor_id}/base-image/from-url": "the URL is a public http(s) URL",
    "POST /api/actors/{actor_id}/base-image/generate": "the actor has a description",
    "POST /api/actors/{actor_id}/lora": "a file or a URL of safetensors weights",
    "POST /api/actors/{actor_id}/lora-trainings": "a trigger word and a ready dataset",
    "POST /api/actors/{actor_id}/regenerate-poster-frame": "the actor has a description",
    "POST /api/poster-frames/regenerate": "actor_ids or a filter",
    "POST /api/actors/{actor_id}/training-data/generate-all-prompts": "the actor has a base image",
    "POST /api/actors/{actor_id}/training-data/generate-single": "the actor has a base image",
    "POST /api/actors/{actor_id}/training-data/upload": "the files are images",
    "POST /api/actors/{actor_id}/training-data/check": "the actor has images",
    "POST /api/mv/generate_character_reference": "the description is not blank",
    "POST /api/persona-tasks": "the locale is a known language_REGION",
    "POST /api/video-jobs/{job_id}/character-references": "the references exist",
    "PUT /api/video-jobs/{job_id}/assets/{path}": "the path is a safe relative path",
    "PUT /api/actors/{actor_id}/poster-defaults": "the values fit the workflow's ranges",
    "POST /api/lora-trainings/{training_id}/strength": "the strength fits the range",
    "POST /api/video-jobs": "the id is a safe key segment",
    "GET /api/video-jobs/{job_id}/assets": "the id is a safe key segment",
    "GET /api/video-jobs/{job_id}/assets.zip": "the id is a safe key segment",
    "GET /api/video-jobs/{job_id}/character-references": "the id is a safe key segment",
}
# JSON Schema calls 1000000000.0 an integer; castsmith's ids have one spelling, digits
# (SECURITY.md), so an id written as a float is refused on every operation.
FLOAT_ID = "an id written as a float"
_FLOAT_TEXT = re.compile(r"-?\d+\.\d*")


@dataclass
class FuzzReport:
    """What one run did: cases sent, answers by status, failures by check."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    semantic: Counter[str] = field(default_factory=Counter)
    """Schema-valid requests refused for a reason in ``SEMANTIC_422``, by operation."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    slowest: Counter[str] = field(default_factory=Counter)
    """Seconds spent on each operation, all phases together."""

    def failure_count(self) -> int:
        """All failures, every check."""
        return sum(len(found) for found in self.failures.values())

    def describe(self) -> str:
        """The failures, one line each, grouped by check."""
        lines = [
            f"[{check}] {item}" for check, found in sorted(self.failures.items()) for item in found
        ]
        return "\n".join(lines + [f"[engine] {error}" for error in self.errors])


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class NoWaiting:
    """The app, with a valid ``?wait=`` on the routes that have one taken out.

    Nothing runs the queued jobs here: waiting would only sleep until the documented
    timeout, so such a request asks for the queued job instead (``wait`` left out, or
    ``wait=0`` where leaving it out means a long wait). Done in front of the app rather
    than by a schemathesis hook, so the coverage phase's boundary values are covered
    too; an invalid ``wait`` passes through untouched and must still be refused.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._waits: list[tuple[re.Pattern[str], float, float, bool]] | None = None

    def _routes(self) -> list[tuple[re.Pattern[str], float, float, bool]]:
        if self._waits is None:
            self._waits = []
            for path, operations in self.app.openapi().get("paths", {}).items():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") != "wait" or parameter.get("in") != "query":
                            continue
                        spec = parameter.get("schema", {})
                        spec = next(iter(spec.get("anyOf", [])), spec) if "anyOf" in spec else spec
                        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
                        low = float(spec.get("minimum", 0))
                        # No maximum: the route caps the wait itself (still minutes).
                        high = float(spec.get("maximum", "inf"))
                        default = parameter.get("schema", {}).get("default")
                        self._waits.append((pattern, low, high, bool(default)))
        return self._waits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope)
            scope["query_string"] = self._rewrite(scope["path"], scope.get("query_string", b""))
        await self.app(scope, receive, send)

    def _rewrite(self, path: str, query: bytes) -> bytes:
        found = next((r for r in self._routes() if r[0].match(path)), None)
        if found is None:
            return query
        _, low, high, long_default = found
        kept: list[bytes] = []
        if long_default and not any(p.startswith(b"wait=") for p in query.split(b"&")):
            kept.append(b"wait=0")  # left out, it would wait the default's long time
        # Other parameters keep their exact bytes: only a valid ``wait`` is changed.
        for part in query.split(b"&") if query else ():
            name, _, value = part.partition(b"=")
            try:
                valid = name == b"wait" and low <= float(unquote_plus(value.decode())) <= high
            except (ValueError, UnicodeDecodeError):
                valid = False
            if not valid:
                kept.append(part)
            elif long_default:
                kept.append(b"wait=0")
        return b"&".join(kept)


def run_fuzz(
    app: Any,
    *,
    max_examples: int,
    headers: dict[str, str] | None = None,
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing"),
    checks: list[str] | None = None,
    max_seconds: int | None = None,
    only: str | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``app`` (positive and negative data) and report.

    Nothing runs the queued jobs: a route that can wait for its job is asked not to
    (``wait=0``), so it answers with the queued job instead of sleeping until its 504.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", NoWaiting(app), headers=headers or {})
    schema = schema.exclude(path_regex=STREAMS)
    if only is not None:  # a path regex, to look at one operation's findings
        schema = schema.include(path_regex=only)
    # Generous, for a busy machine; a route that hangs still shows up as an engine error.
    schema.config.update(headers=headers or {}, request_timeout=30)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=max_examples,
        deterministic=True,
        database="none",
    )
    schema.config.checks.update(included_check_names=checks or CHECKS)
    schema.config.phases.update(phases=list(phases))
    if max_seconds is not None:
        # A hard bound for ``make test``: the engine stops starting new cases after it.
        schema.config.max_time = max_seconds

    report = FuzzReport()

    @schema.hook
    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        # Dropped rather than reported, so the operation's fuzzing goes on past it.
        label = case.operation.label
        if isinstance(failure, RejectedPositiveData) and response.status_code == 422:
            reason = (
                label if label in SEMANTIC_422 else FLOAT_ID if _float_id(case, response) else None
            )
            if reason is not None:
                report.semantic[reason] += 1
                return False
        # A multipart body whose file part is "null" is sent as an (empty) file: the
        # request the server got was valid; only schemathesis' record of it is not.
        return not (
            isinstance(failure, AcceptedNegativeData)
            and str(case.media_type or "").startswith("multipart/")
            and isinstance(case.body, dict)
            and any(case.body.get(name, ...) is None for name in ("file", "files"))
        )

    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _record(report, event)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            report.errors.append(_error_text(event))
    report.seconds = time.monotonic() - started
    return report


def _float_id(case: Any, response: Any) -> bool:
    """Whether the 422 refuses an id the case wrote as a float (``8.0``, ``1e9``)."""
    try:
        answer = response.json()
    except ValueError:
        return False
    field = answer.get("field") if isinstance(answer, dict) else None
    if not field or ID_RULE not in str(answer.get("detail", "")):
        return False
    name = str(field).split(".")[0]  # ``job_id.0``: an item of a repeated parameter
    for values in (case.query, case.path_parameters):
        given = (values or {}).get(name)
        for value in given if isinstance(given, list) else [given]:
            if isinstance(value, float) or (
                isinstance(value, str) and _FLOAT_TEXT.fullmatch(value)
            ):
                return True
    return False


def _record(report: FuzzReport, event: Any) -> None:
    recorder = event.recorder
    report.cases += len(recorder.cases)
    report.slowest[event.label or "?"] += event.elapsed_time
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            report.statuses[interaction.response.status_code] += 1
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.status.value != "failure" or node.failure_info is None:
                continue
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            status = response.status_code if response is not None else None
            label = event.label or "?"
            case = recorder.cases[case_id].value
            failure = node.failure_info.failure
            report.failures[node.name].append(
                f"{label}: {failure.title} (answered {status}) - {case.method} "
                f"{case.formatted_path} query={case.query!r} body={str(case.body)[:300]}"
            )


def _error_text(event: Any) -> str:
    info = getattr(event, "info", None)
    message = getattr(info, "message", None) or str(getattr(event, "exception", event))
    return f"{getattr(event, 'label', '')}: {message}".strip()
