"""Map castsmith's errors onto HTTP answers with messages a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from castsmith.domain.errors import (
    CastsmithError,
    ConfigurationError,
    Conflict,
    ContentFiltered,
    Forbidden,
    ImageError,
    InvalidRequest,
    NotFound,
    ProviderError,
    ValidationError,
)

STATUS_BY_ERROR: list[tuple[type[CastsmithError], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (ValidationError, 422),
    (ImageError, 422),
    (Conflict, 409),
    (ContentFiltered, 422),
    (InvalidRequest, 422),
    (ConfigurationError, 503),
    (ProviderError, 502),
]


class ErrorOut(BaseModel):
    """Every error answer: ``detail`` says what went wrong, ``field`` names the input."""

    model_config = ConfigDict(extra="allow")

    detail: str
    error: str
    field: str | None = None
    report: dict[str, Any] | None = Field(
        None, description="A dataset's readiness report, when a training was refused for it."
    )


# What any API route may answer besides its own successes: 400 for a body that is not
# JSON at all, 401/403 without a valid login or CSRF token, 404 for an unknown (or
# someone else's) id, 409 for a clash with current state, 413 for a body too large,
# 422 for a value that does not pass validation.
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422)


def status_for(error: CastsmithError) -> int:
    """The HTTP status for a castsmith error (500 only for the unexpected)."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def error_body(error: CastsmithError) -> dict[str, object]:
    """The JSON body: ``detail`` is the message; ``field`` names the input at fault."""
    body: dict[str, object] = {"detail": str(error), "error": type(error).__name__}
    field = getattr(error, "field", None)
    if field:
        body["field"] = field
    # Some errors carry more for a client to show (a dataset's readiness report); they
    # add keys, never replace the three above.
    details = getattr(error, "details", None)
    if isinstance(details, dict):
        body.update({k: v for k, v in details.items() if k not in body})
    return body


def field_of(location: tuple[Any, ...] | list[Any]) -> str:
    """A dotted field name from a pydantic location: ``("body", "lora", "name")`` ->
    ``lora.name``, ``("query", "limit")`` -> ``limit``; the bare body is ``body``."""
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_body(exc: RequestValidationError) -> dict[str, object]:
    """castsmith's 422 body for FastAPI's request validation: the first bad field."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = field_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "extra_forbidden":
        message = "unknown field; check its spelling"
    return {"detail": f"{field}: {message}", "error": "ValidationError", "field": field}


def methods_elsewhere(request: Request, value: str) -> set[str]:
    """Methods of other routes whose path has a literal where this one had ``value``.

    ``DELETE /api/actors/1/training-data/export`` reaches the item route with
    ``item_id="export"``, but the path names the export, which does not allow DELETE:
    that is a 405 with ``Allow``, not a bad id.
    """
    path = request.scope["path"]
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        found = route.path_regex.match(path)
        if found is not None and value not in found.groupdict().values():
            methods |= set(route.methods or ()) - {"HEAD"}
    return methods


def _routes(items: list[Any]) -> Iterator[Any]:
    """Every route with a path pattern, those of included routers too."""
    for route in items:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        elif getattr(route, "methods", None) and getattr(route, "path_regex", None):
            yield route


def document(app: FastAPI) -> None:
    """Declare the error answers (``ErrorOut``) in the OpenAPI spec of every operation."""
    build_spec = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build_spec()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        answer = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                # FastAPI's own 422 (a list of pydantic errors) is replaced by castsmith's.
                responses.pop("422", None)
                for status in ERROR_STATUSES:
                    responses.setdefault(
                        str(status),
                        {"description": HTTPStatus(status).phrase, "content": answer},
                    )
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CastsmithError)
        return JSONResponse(error_body(exc), status_code=status_for(exc))

    async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        location = tuple(errors[0].get("loc", ())) if errors else ()
        if len(location) == 2 and location[0] == "path":
            raw = request.path_params.get(str(location[1]))
            allowed = methods_elsewhere(request, str(raw)) if raw is not None else set()
            if allowed:
                return JSONResponse(
                    {"detail": "Method Not Allowed", "error": "MethodNotAllowed"},
                    status_code=405,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
        return JSONResponse(validation_body(exc), status_code=422)

    async def handle_http(_request: Request, exc: Exception) -> JSONResponse:
        # Starlette's own answers (a body that is not JSON, an unknown path, a wrong
        # method) in the same shape as castsmith's.
        assert isinstance(exc, HTTPException)
        try:
            error = HTTPStatus(exc.status_code).phrase.replace(" ", "")
        except ValueError:
            error = "HTTPError"
        return JSONResponse(
            {"detail": str(exc.detail), "error": error},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    app.add_exception_handler(CastsmithError, handle)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(HTTPException, handle_http)
