"""Build the object store and the URL builder from :class:`castsmith.config.Settings`."""

from __future__ import annotations

from castsmith.config import Settings
from castsmith.domain.errors import ConfigurationError
from castsmith.storage.base import ObjectStore
from castsmith.storage.local import LocalStore
from castsmith.storage.s3 import S3Store
from castsmith.storage.urls import UrlBuilder


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else None


def s3_store_from_settings(settings: Settings) -> S3Store:
    """The S3 store the settings describe; ``ConfigurationError`` names what to set."""
    if not settings.s3_bucket:
        raise ConfigurationError(
            "STORAGE_BACKEND is s3 but no bucket is set: set CASTSMITH_S3_BUCKET "
            "(or S3_BUCKET_NAME / STORAGE_BUCKET)"
        )
    access_key = _secret(settings.s3_access_key)
    secret_key = _secret(settings.s3_secret_key)
    if bool(access_key) != bool(secret_key):
        missing = "CASTSMITH_S3_SECRET_KEY" if access_key else "CASTSMITH_S3_ACCESS_KEY"
        raise ConfigurationError(f"S3 credentials are half set: set {missing} as well")
    if settings.s3_endpoint.startswith("http://") and not settings.s3_allow_http:
        raise ConfigurationError(
            f"S3 endpoint {settings.s3_endpoint} is plain HTTP: set CASTSMITH_S3_ALLOW_HTTP=true "
            "to allow it"
        )
    return S3Store(
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint=settings.s3_endpoint,
        access_key=access_key,
        secret_key=secret_key,
        addressing=settings.s3_addressing,
        allow_http=settings.s3_allow_http,
        acl=settings.s3_acl,
    )


def store_from_settings(settings: Settings) -> ObjectStore:
    """The configured object store: a local folder (default) or an S3 bucket."""
    if settings.storage_backend == "s3":
        return s3_store_from_settings(settings)
    return LocalStore(settings.local_storage_root)


def urls_from_settings(
    settings: Settings, secret: bytes, store: ObjectStore | None = None
) -> UrlBuilder:
    """The URL builder for the settings; ``store`` (an S3 store) is reused for presigning.

    Presigning is local computation, so a fresh S3 client is made when none is given.
    """
    presigner = None
    if settings.storage_backend == "s3":
        presigner = store if isinstance(store, S3Store) else s3_store_from_settings(settings)
    return UrlBuilder(
        backend=settings.storage_backend,
        secret=secret,
        public_base_url=settings.public_base_url,
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint=settings.s3_endpoint,
        addressing=settings.s3_addressing,
        presigner=presigner,
        default_expiry=settings.presigned_url_expiry,
        serve_from_cloud=settings.serve_from_cloud,
    )
