"""URLs for stored objects: public, accelerated, custom endpoint, presigned, locally signed.

Public shapes (key segments are percent-encoded, ``/`` kept):

- standard:    ``https://{bucket}.s3.{region}.amazonaws.com/{key}``
- accelerated: ``https://{bucket}.s3-accelerate.amazonaws.com/{key}``
- endpoint:    ``{endpoint}/{bucket}/{key}`` (``{scheme}://{bucket}.{host}/{key}`` when
  virtual-hosted addressing is configured)

A local store cannot presign, so the app serves its files at
``{public_base_url}/files/{key}?expires={unix}&sig={hmac}``; the signature is
HMAC-SHA256 over the key and the expiry time with the app's secret, so a link can be
neither extended nor pointed at another key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import quote, urlsplit

from castsmith.domain.errors import ConfigurationError, ValidationError
from castsmith.domain.keys import validate_key

MAX_EXPIRY_SECONDS = 7 * 24 * 3600
DEFAULT_EXPIRY_SECONDS = 3600


class Presigner(Protocol):
    """Something that can presign a GET for a key (the S3 store)."""

    async def presign_get(self, key: str, expires_in: int) -> str:
        """A presigned GET URL valid for ``expires_in`` seconds."""
        ...


def quote_key(key: str) -> str:
    """Percent-encode each segment of ``key``, keeping the ``/`` between them."""
    return quote(key, safe="/")


def check_expiry(seconds: int) -> int:
    """Refuse expiries below 1 s or above 7 days (the SigV4 limit) with a clear message."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValidationError(f"URL expiry must be whole seconds, got {seconds!r}", "expires_in")
    if not 1 <= seconds <= MAX_EXPIRY_SECONDS:
        raise ValidationError(
            f"URL expiry must be between 1 and {MAX_EXPIRY_SECONDS} seconds "
            f"(7 days, the longest S3 allows); got {seconds}",
            "expires_in",
        )
    return seconds


class UrlBuilder:
    """Makes every kind of URL castsmith hands out for a stored key."""

    def __init__(
        self,
        *,
        backend: str,
        secret: bytes,
        public_base_url: str = "",
        bucket: str = "",
        region: str = "us-east-1",
        endpoint: str = "",
        addressing: str = "auto",
        presigner: Presigner | None = None,
        default_expiry: int = DEFAULT_EXPIRY_SECONDS,
        serve_from_cloud: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ConfigurationError(
                "signing local file URLs needs a secret (CASTSMITH_SECRET_KEY)"
            )
        self.backend = backend
        self._secret = secret
        self.public_base_url = public_base_url.rstrip("/")
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint.rstrip("/")
        self.addressing = addressing
        self.presigner = presigner
        self.default_expiry = check_expiry(default_expiry)
        self.serve_from_cloud = serve_from_cloud
        self._clock = clock

    # --- public (unsigned) URLs ------------------------------------------------------
    def _need_bucket(self) -> str:
        if not self.bucket:
            raise ConfigurationError("public S3 URLs need a bucket (set CASTSMITH_S3_BUCKET)")
        return self.bucket

    def standard_url(self, key: str) -> str:
        """``https://{bucket}.s3.{region}.amazonaws.com/{key}``."""
        bucket = self._need_bucket()
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{quote_key(validate_key(key))}"

    def accelerated_url(self, key: str) -> str:
        """``https://{bucket}.s3-accelerate.amazonaws.com/{key}`` (Transfer Acceleration)."""
        bucket = self._need_bucket()
        if "." in bucket:
            raise ConfigurationError(
                f"bucket {bucket!r} has a period; S3 Transfer Acceleration needs a name without"
            )
        return f"https://{bucket}.s3-accelerate.amazonaws.com/{quote_key(validate_key(key))}"

    def endpoint_url(self, key: str) -> str:
        """``{endpoint}/{bucket}/{key}``, or ``{scheme}://{bucket}.{host}/{key}`` if virtual."""
        bucket = self._need_bucket()
        if not self.endpoint:
            raise ConfigurationError("no custom S3 endpoint is configured (CASTSMITH_S3_ENDPOINT)")
        quoted = quote_key(validate_key(key))
        if self.addressing == "virtual":
            parts = urlsplit(self.endpoint)
            return f"{parts.scheme}://{bucket}.{parts.netloc}{parts.path}/{quoted}"
        return f"{self.endpoint}/{bucket}/{quoted}"

    def public_url(self, key: str) -> str:
        """The unsigned URL of ``key``: custom endpoint if set, else AWS's regional URL."""
        if self.endpoint:
            return self.endpoint_url(key)
        bucket = self._need_bucket()
        if self.addressing == "path" or (self.addressing == "auto" and "." in bucket):
            quoted = quote_key(validate_key(key))
            return f"https://s3.{self.region}.amazonaws.com/{bucket}/{quoted}"
        return self.standard_url(key)

    # --- presigned S3 URLs -------------------------------------------------------------
    async def presigned_url(self, key: str, expires_in: int | None = None) -> str:
        """A presigned GET URL from the S3 store (default expiry from the settings)."""
        seconds = check_expiry(self.default_expiry if expires_in is None else expires_in)
        if self.presigner is None:
            raise ConfigurationError("presigned URLs need the S3 storage backend")
        return await self.presigner.presign_get(validate_key(key), seconds)

    # --- app-served, HMAC-signed URLs ------------------------------------------------
    def signature(self, key: str, expires: int) -> str:
        """The hex HMAC-SHA256 of ``key`` and its expiry time."""
        message = f"GET\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def local_url(self, key: str, expires_in: int | None = None, now: float | None = None) -> str:
        """``{public_base_url}/files/{key}?expires=...&sig=...`` served by the app."""
        validate_key(key)
        seconds = check_expiry(self.default_expiry if expires_in is None else expires_in)
        expires = int(self._clock() if now is None else now) + seconds
        # Built directly rather than with ``urlencode``: an integer and a hex digest need
        # no escaping, and this runs once per image URL of a page.
        query = f"expires={expires}&sig={self.signature(key, expires)}"
        return f"{self.public_base_url}/files/{quote_key(key)}?{query}"

    def why_refused(self, key: str, expires: int, sig: str, now: float | None = None) -> str | None:
        """``None`` if the signed link is good, else a short reason to show the user."""
        current = self._clock() if now is None else now
        # Compared as bytes: a link may carry any characters, and str needs ASCII.
        if not hmac.compare_digest(self.signature(key, expires).encode(), sig.encode()):
            return "the link's signature does not match"
        if expires < current:
            return "the link has expired"
        return None

    def verify(self, key: str, expires: int, sig: str, now: float | None = None) -> bool:
        """True when ``sig`` was made for ``key`` and ``expires`` and it has not passed."""
        return self.why_refused(key, expires, sig, now) is None

    # --- the URL to hand out -----------------------------------------------------------
    async def url_for(self, key: str, expires_in: int | None = None) -> str:
        """The URL a user should get for ``key``.

        On S3 with ``serve_from_cloud`` a presigned URL (the browser fetches straight
        from the bucket); otherwise a signed link to this app, which streams the object.
        """
        if self.backend == "s3" and self.serve_from_cloud:
            return await self.presigned_url(key, expires_in)
        return self.local_url(key, expires_in)
