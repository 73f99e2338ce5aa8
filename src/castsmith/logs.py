"""Structured JSON logging with a per-request id."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "castsmith_request_id", default=None
)

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _Redacting(logging.Filter):
    """Rewrites each record's message through ``redact`` (e.g. to mask credentials)."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        return True


def configure_logging(
    level: str = "INFO", json_lines: bool = True, redact: Callable[[str], str] | None = None
) -> None:
    """Route castsmith's and uvicorn's logs to stderr in one format.

    ``redact`` rewrites every message before it is written (the CLI masks credentials
    in URLs with it: httpx logs each request's URL, user info included).
    """
    handler = logging.StreamHandler(sys.stderr)
    if redact is not None:
        handler.addFilter(_Redacting(redact))
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Alembic announces its dialect every time the schema revision is read (each
    # /healthz); only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
