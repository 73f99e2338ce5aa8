"""Mapping obstore and OS exceptions into castsmith's storage errors, once, at the edge.

obstore reports a missing object as ``FileNotFoundError``, bad paths as ``ValueError``
and everything else as ``obstore.exceptions.*``; connection failures, timeouts and 5xx
answers arrive as ``GenericError`` whose text says so. The mapped message names the
operation, the backend and the key, plus a short, cleaned reason: query strings (which
could hold signatures) are cut from URLs and known secrets are blanked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from obstore import exceptions as obs_errors

from castsmith.domain.errors import CastsmithError, NotFound, StorageError, StorageUnavailable
from castsmith.domain.redaction import redact

_UNAVAILABLE_HINTS = (
    "error sending request",
    "timed out",
    "timeout",
    "connection refused",
    "connection reset",
    "connection closed",
    "dns error",
    "broken pipe",
    "service unavailable",
    "slowdown",
)
_STATUS = re.compile(r"non-2xx status code: (\d{3})")
_QUERY = re.compile(r"(https?://[^\s?\"']+)\?[^\s\"']*")
_MAX_REASON = 300


def clean_reason(text: str, secrets: Iterable[str] = ()) -> str:
    """First line of ``text`` with URL query strings removed and ``secrets`` blanked."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = _QUERY.sub(r"\1?…", line)
    return redact(line, secrets)[:_MAX_REASON]


def _is_unavailable(text: str) -> bool:
    lowered = text.lower()
    match = _STATUS.search(text)
    if match is not None:
        status = int(match.group(1))
        return status >= 500 or status == 429
    return any(hint in lowered for hint in _UNAVAILABLE_HINTS)


def map_error(
    exc: BaseException,
    *,
    action: str,
    key: str,
    backend: str,
    secrets: Iterable[str] = (),
) -> CastsmithError:
    """The castsmith error for ``exc`` raised while doing ``action`` on ``key``."""
    if isinstance(exc, CastsmithError):
        return exc
    text = str(exc)
    reason = clean_reason(text, secrets)
    where = f"{action} {key!r} on the {backend} store"
    if "NoSuchBucket" in text:
        return StorageError(f"could not {where}: the bucket does not exist")
    if isinstance(exc, FileNotFoundError | obs_errors.NotFoundError):
        return NotFound(f"object {key!r} not found in the {backend} store")
    if isinstance(exc, obs_errors.PermissionDeniedError | obs_errors.UnauthenticatedError):
        return StorageError(f"could not {where}: access denied ({reason})")
    if isinstance(exc, TimeoutError | ConnectionError) or _is_unavailable(text):
        return StorageUnavailable(f"could not {where}: store unreachable ({reason})")
    return StorageError(f"could not {where}: {reason}")


@contextmanager
def translated(
    *, action: str, key: str, backend: str, secrets: Iterable[str] = ()
) -> Iterator[None]:
    """Run a block, re-raising any failure as a castsmith error (without the chain)."""
    try:
        yield
    except CastsmithError:
        raise
    except (obs_errors.BaseError, OSError, ValueError, RuntimeError) as exc:
        # ``from None``: obstore's own message may hold request details we do not echo.
        raise map_error(exc, action=action, key=key, backend=backend, secrets=secrets) from None
