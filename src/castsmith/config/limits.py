"""Limits and upkeep: provider caps, prices, failover, sizes, webhooks and cleanup."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias


class ProviderLimit(BaseModel):
    """Cluster-wide limits for one provider's jobs: running at once, starts per minute."""

    concurrency: int | None = Field(default=None, ge=1)
    rpm: int | None = Field(default=None, ge=1)


class LimitSettings(BaseSettings):
    """Caps on providers, uploads and downloads; prices; failover; webhooks; cleanup."""

    provider_limits: dict[str, ProviderLimit] = Field(
        default_factory=dict, validation_alias=alias("provider_limits")
    )
    # Cost ledger prices over the defaults in domain/costs.py, e.g.
    # {"runpod": {"per_second": 0.00031}, "replicate.training": {"per_second": 0.0015}}.
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, validation_alias=alias("prices")
    )
    # Failover: per role (poster, image, reference, base, persona_image; the text role
    # persona_data), providers tried in order after the configured one when a call
    # fails with a retryable error; a provider whose last
    # ``breaker_failures`` calls (cluster-wide) all failed so is skipped for
    # ``breaker_cooldown`` seconds, then tried again.
    failover: dict[str, list[str]] = Field(default_factory=dict, validation_alias=alias("failover"))
    breaker_failures: int = Field(default=5, ge=1, validation_alias=alias("breaker_failures"))
    breaker_cooldown: float = Field(default=60.0, gt=0, validation_alias=alias("breaker_cooldown"))
    max_image_pixels: int = Field(default=64_000_000, validation_alias=alias("max_image_pixels"))
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, validation_alias=alias("max_upload_bytes")
    )
    fetch_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts that URL downloads may reach even when they "
        "resolve to private or loopback addresses (a local mirror, a test server).",
        validation_alias=alias("fetch_allow_hosts"),
    )
    provider_output_max_bytes: int = Field(
        default=64 * 1024 * 1024, validation_alias=alias("provider_output_max_bytes")
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The whsec_<base64> key job-completion webhooks are signed with.",
        validation_alias=alias("webhook_secret"),
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, validation_alias=alias("webhook_max_attempts")
    )
    webhook_timeout: float = Field(default=10.0, validation_alias=alias("webhook_timeout"))
    cleanup_grace_seconds: float = Field(
        default=24 * 3600.0,
        description="Unreferenced objects younger than this are kept by the cleanup.",
        validation_alias=alias("cleanup_grace_seconds"),
    )
    cleanup_period_seconds: float = Field(
        default=6 * 3600.0, validation_alias=alias("cleanup_period_seconds")
    )
    cleanup_keep_prefixes: str = Field(
        default="videos/",
        description="Comma-separated key prefixes the cleanup never touches (objects "
        "that are recorded only in the store, such as video job files).",
        validation_alias=alias("cleanup_keep_prefixes"),
    )
    fetch_timeout: float = Field(default=30.0, validation_alias=alias("fetch_timeout"))
