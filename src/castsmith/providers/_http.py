"""The HTTP boundary shared by the remote clients: one place that maps failures.

Every vendor answer that is not a success becomes a domain error here:

* 429 -> RateLimited (``retry_after`` from ``Retry-After`` seconds or HTTP date,
  ``retry-after-ms``, else None)
* 5xx, connection errors, timeouts, malformed JSON -> ProviderUnavailable
* other 4xx -> InvalidRequest carrying the vendor's reason in plain words
* output downloads answered 403/404/410 -> OutputExpired
* output URLs refused by the download guard (private addresses, too large) ->
  InvalidRequest; outputs whose bytes are not an image -> ProviderUnavailable

Secrets given to :class:`Boundary` are scrubbed from every message it builds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import (
    InvalidRequest,
    OutputExpired,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
)
from castsmith.domain.redaction import MASK, secret_pattern
from castsmith.domain.times import as_utc
from castsmith.imaging.sniff import sniff_content_type
from castsmith.net.guard import GuardPolicy, guarded_get

log = logging.getLogger("castsmith.providers")

Classifier = Callable[[httpx.Response, str], ProviderError | None]
"""Provider-specific mapping tried before the generic one (content filters, quotas)."""

_MAX_REASON = 400


def secret_value(secret: SecretStr | str | None) -> str:
    """The plain value of a secret setting ('' when absent)."""
    if secret is None:
        return ""
    if isinstance(secret, SecretStr):
        return secret.get_secret_value()
    return secret


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (as_utc(when) - datetime.now(UTC)).total_seconds())


def reason_of(response: httpx.Response) -> str:
    """The vendor's reason from an error body, in one line."""
    reason = ""
    try:
        body: Any = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            reason = str(err.get("message") or err.get("type") or "")
        elif isinstance(err, str):
            reason = err
        for key in ("detail", "message", "title"):
            if not reason and isinstance(body.get(key), str):
                reason = body[key]
    if not reason:
        reason = response.text.strip() if response.content else ""
    if not reason:
        reason = response.reason_phrase or f"HTTP {response.status_code}"
    return " ".join(reason.split())[:_MAX_REASON]


def where(url: str | httpx.URL) -> str:
    """A URL without its query string (which may hold signatures) for messages."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """Bytes and content type of a ``data:`` URI or bare base64."""
    content_type = "application/octet-stream"
    payload = uri
    if uri.startswith("data:"):
        header, _, payload = uri.partition(",")
        content_type = header[5:].split(";")[0] or content_type
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not valid base64") from exc
    return data, sniff_content_type(data, content_type)


def to_data_uri(data: bytes, content_type: str) -> str:
    """A ``data:`` URI for inline image inputs."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


class Boundary:
    """Sends requests for one provider and turns every failure into a domain error."""

    def __init__(
        self,
        provider: str,
        http: httpx.AsyncClient,
        timeout: float,
        secrets: Iterable[str] = (),
        classify: Classifier | None = None,
        guard: GuardPolicy | None = None,
    ) -> None:
        self.provider = provider
        # Output URLs come from the provider's answer, so they are checked like user
        # URLs (public addresses or allowed hosts, size cap, deadline) when a guard is set.
        self.guard = guard
        self.http = http
        self.timeout = timeout
        self._pattern = secret_pattern(secrets)
        self._classify = classify

    def redact(self, text: str) -> str:
        """``text`` with every known secret masked (whole tokens, see domain.redaction)."""
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def _error(self, cls: type[ProviderError], message: str, **extra: Any) -> ProviderError:
        return cls(self.redact(message), self.provider, **extra)

    def unavailable(self, message: str) -> ProviderError:
        """A retryable failure with a scrubbed message."""
        return self._error(ProviderUnavailable, message)

    def invalid(self, message: str) -> ProviderError:
        """A permanent refusal with a scrubbed message."""
        return self._error(InvalidRequest, message)

    async def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - per-request HTTP timeout
        not_found: Callable[[httpx.Response], ProviderError] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; return the response only when it is a 2xx."""
        limit = self.timeout if timeout is None else timeout
        try:
            response = await self.http.request(method, url, timeout=limit, **kwargs)
        except httpx.TimeoutException:
            raise self.unavailable(
                f"{self.provider} did not answer within {limit:g} s ({method} {where(url)})"
            ) from None
        except httpx.ConnectError:
            raise self.unavailable(
                f"could not connect to {self.provider} at {_host_port(url)}"
            ) from None
        except httpx.TransportError as exc:
            raise self.unavailable(
                f"{self.provider} connection failed ({type(exc).__name__})"
            ) from None
        if response.is_success:
            return response
        if response.status_code == 404 and not_found is not None:
            raise not_found(response)
        raise self.error_for(response)

    def error_for(self, response: httpx.Response) -> ProviderError:
        """The domain error for a non-2xx answer."""
        reason = reason_of(response)
        if self._classify is not None:
            special = self._classify(response, reason)
            if special is not None:
                special.message = self.redact(special.message)
                special.args = (special.message,)
                return special
        status = response.status_code
        name = self.provider
        if status == 429:
            return self._error(
                RateLimited,
                f"{name} is rate limiting requests: {reason}",
                retry_after=parse_retry_after(response.headers),
            )
        if status >= 500:
            return self.unavailable(f"{name} had a server error (HTTP {status}): {reason}")
        if status in (401, 403):
            return self.invalid(f"{name} rejected the credentials (HTTP {status}): {reason}")
        return self.invalid(f"{name} refused the request (HTTP {status}): {reason}")

    def json(self, response: httpx.Response) -> Any:
        """The JSON body, or ProviderUnavailable saying the response was malformed."""
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            raise self.unavailable(
                f"malformed response from {self.provider}: the body is not JSON "
                f"({where(response.request.url)})"
            ) from None

    def malformed(self, what: str) -> ProviderError:
        """A response that parsed but lacks what the contract promises."""
        return self.unavailable(f"malformed response from {self.provider}: {what}")

    async def download(self, url: str, headers: dict[str, str] | None = None) -> tuple[bytes, str]:
        """Fetch an output (URL or data URI) at once; expired links -> OutputExpired."""
        if url.startswith("data:"):
            try:
                return decode_data_uri(url)
            except ValueError:
                raise self.malformed("an output data URI is not valid base64") from None
        try:
            if self.guard is None:
                response = await self.http.get(url, timeout=self.timeout, headers=headers)
            else:
                response = await guarded_get(
                    self.http, url, self.guard, headers=headers, field="output URL"
                )
        except ValidationError as exc:
            raise self.invalid(f"{self.provider} output refused: {exc}") from None
        except httpx.TimeoutException:
            raise self.unavailable(
                f"downloading {self.provider} output timed out after {self.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise self.unavailable(
                f"could not download {self.provider} output from {urlsplit(url).netloc} "
                f"({type(exc).__name__})"
            ) from None
        if response.status_code in (403, 404, 410):
            raise self._error(
                OutputExpired,
                f"{self.provider} output is no longer available (HTTP {response.status_code} "
                f"from {where(url)}); generate it again",
            )
        if not response.is_success:
            raise self.error_for(response)
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if self.guard is not None:
            sniffed = sniff_content_type(response.content, "")
            if not sniffed:
                raise self.malformed(f"the output at {where(url)} is not an image")
            return response.content, sniffed
        return response.content, sniff_content_type(response.content, content_type or "image/png")


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """JSON from model text: plain, inside a ```json fence, or the outermost {...}."""
    text = text.strip()
    candidates = [text]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("no JSON object found")


def _host_port(url: str) -> str:
    """Where ``url`` points, without the user info a netloc would carry."""
    return urlsplit(url).netloc.rpartition("@")[2]
