"""The S3-compatible object store (AWS S3, MinIO, R2, any custom endpoint).

Content type and cache control travel as real object headers. No ACL is sent unless
one is configured: since April 2023 new AWS buckets disable ACLs and refuse a PUT that
carries ``x-amz-acl: public-read``. When an ACL is configured, obstore has no per-call
ACL option, so writes go through a second client whose default headers carry
``x-amz-acl``; reads use a client without it.

Addressing: ``path`` sends ``{endpoint}/{bucket}/{key}``; ``virtual`` sends
``{bucket}.{host}/{key}``; ``auto`` picks virtual-hosted on AWS (path-style when the
bucket name has a period, which breaks TLS wildcard certificates) and path-style on
custom endpoints, which is what MinIO and most S3-compatible servers expect.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

import obstore
from obstore.store import S3Store as ObstoreS3Store

from castsmith.domain.errors import ConfigurationError, ValidationError
from castsmith.storage.base import ObjectMeta
from castsmith.storage.obstore_base import ObstoreBackedStore, meta_from

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

Addressing = Literal["auto", "path", "virtual"]
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def uses_virtual_hosting(addressing: Addressing, bucket: str, endpoint: str) -> bool:
    """Whether requests put the bucket in the host name."""
    if addressing == "virtual":
        return True
    if addressing == "path":
        return False
    return not endpoint and "." not in bucket


def virtual_endpoint(endpoint: str, bucket: str) -> str:
    """``https://host:port`` → ``https://bucket.host:port`` (obstore wants it so)."""
    parts = urlsplit(endpoint)
    return urlunsplit((parts.scheme, f"{bucket}.{parts.netloc}", parts.path.rstrip("/"), "", ""))


class S3Store(ObstoreBackedStore):
    """Objects in one bucket of an S3-compatible service."""

    backend = "s3"

    def __init__(
        self,
        bucket: str,
        region: str = "us-east-1",
        endpoint: str = "",
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing: Addressing = "auto",
        allow_http: bool = False,
        acl: str = "",
        *,
        timeout: timedelta = timedelta(seconds=60),
        connect_timeout: timedelta = timedelta(seconds=5),
        max_retries: int = 3,
    ) -> None:
        if not bucket:
            raise ConfigurationError("an S3 store needs a bucket name (set CASTSMITH_S3_BUCKET)")
        if addressing not in ("auto", "path", "virtual"):
            raise ConfigurationError(f"S3 addressing must be auto, path or virtual: {addressing!r}")
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint.rstrip("/")
        self.addressing: Addressing = addressing
        self.acl = acl
        virtual = uses_virtual_hosting(addressing, bucket, self.endpoint)
        config: S3Config = {"region": region, "virtual_hosted_style_request": virtual}
        if self.endpoint:
            config["endpoint"] = (
                virtual_endpoint(self.endpoint, bucket) if virtual else self.endpoint
            )
        if access_key and secret_key:
            config["access_key_id"] = access_key
            config["secret_access_key"] = secret_key
        client: ClientConfig = {
            "allow_http": allow_http,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
        }
        retry: RetryConfig = {"max_retries": max_retries, "retry_timeout": timeout}
        reader = ObstoreS3Store(bucket, config=config, client_options=client, retry_config=retry)
        self._signer = reader
        writer = reader
        if acl:
            with_acl: ClientConfig = {**client, "default_headers": {"x-amz-acl": acl}}
            writer = ObstoreS3Store(
                bucket, config=config, client_options=with_acl, retry_config=retry
            )
        super().__init__(reader, writer, secrets=(access_key or "", secret_key or ""))

    async def head(self, key: str) -> ObjectMeta | None:
        self._check_key(key)
        with self._guard("inspect", key):
            try:
                # A GET with ``head`` is one HEAD request that also returns the headers.
                result = await obstore.get_async(self._reader, key, options={"head": True})
            except FileNotFoundError:
                return None
        attributes = result.attributes
        return meta_from(
            result.meta,
            content_type=attributes.get("Content-Type"),
            cache_control=attributes.get("Cache-Control"),
        )

    async def presign_get(self, key: str, expires_in: int) -> str:
        """A presigned GET URL valid for ``expires_in`` seconds (1 to 604800)."""
        self._check_key(key)
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise ValidationError(
                f"presigned URL expiry must be between 1 and {MAX_PRESIGN_SECONDS} seconds "
                f"(7 days, the longest S3 allows); got {expires_in}",
                "expires_in",
            )
        with self._guard("sign", key):
            url: str = await obstore.sign_async(
                self._signer, "GET", key, timedelta(seconds=expires_in)
            )
        return url
