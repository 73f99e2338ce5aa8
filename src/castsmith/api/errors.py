"""Map castsmith's errors onto HTTP answers with messages a person can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from castsmith.domain.errors import (
    CastsmithError,
    ConfigurationError,
    Conflict,
    ContentFiltered,
    ImageError,
    InvalidRequest,
    NotFound,
    ProviderError,
    ValidationError,
)

STATUS_BY_ERROR: list[tuple[type[CastsmithError], int]] = [
    (NotFound, 404),
    (ValidationError, 422),
    (ImageError, 422),
    (Conflict, 409),
    (ContentFiltered, 422),
    (InvalidRequest, 422),
    (ConfigurationError, 503),
    (ProviderError, 502),
]


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
    return body


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CastsmithError)
        return JSONResponse(error_body(exc), status_code=status_for(exc))

    app.add_exception_handler(CastsmithError, handle)
