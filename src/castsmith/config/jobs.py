"""Job engine settings: workers, leases, retries and how long finished work is kept."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias


class JobSettings(BaseSettings):
    """How workers claim, retry and prune jobs."""

    worker_interval: float = Field(
        default=1.0, validation_alias=alias("worker_interval", "WORKER_INTERVAL")
    )
    worker_concurrency: int = Field(default=4, validation_alias=alias("worker_concurrency"))
    multithread_flowise: int = Field(
        default=5, validation_alias=alias("multithread_flowise", "MULTITHREAD_FLOWISE")
    )
    max_concurrent_requests: int = Field(
        default=8, validation_alias=alias("max_concurrent_requests", "MAX_CONCURRENT_REQUESTS")
    )
    job_lease_seconds: float = Field(default=30.0, validation_alias=alias("job_lease_seconds"))
    job_heartbeat_seconds: float = Field(
        default=2.0, validation_alias=alias("job_heartbeat_seconds")
    )
    job_backoff_base: float = Field(default=2.0, validation_alias=alias("job_backoff_base"))
    job_backoff_cap: float = Field(default=300.0, validation_alias=alias("job_backoff_cap"))
    job_infra_backoff_base: float = Field(
        default=30.0, gt=0, validation_alias=alias("job_infra_backoff_base")
    )
    job_infra_backoff_cap: float = Field(
        default=900.0, gt=0, validation_alias=alias("job_infra_backoff_cap")
    )
    job_infra_max_attempts: int = Field(
        default=10, ge=1, validation_alias=alias("job_infra_max_attempts")
    )
    job_max_attempts: int = Field(default=3, validation_alias=alias("job_max_attempts"))
    job_shutdown_grace: float = Field(default=30.0, validation_alias=alias("job_shutdown_grace"))
    job_events_retention_seconds: float = Field(
        default=7 * 24 * 3600.0, validation_alias=alias("job_events_retention_seconds")
    )
    job_retention_seconds: float = Field(
        default=30 * 24 * 3600.0, validation_alias=alias("job_retention_seconds")
    )
    job_failed_retention_seconds: float = Field(
        default=90 * 24 * 3600.0, validation_alias=alias("job_failed_retention_seconds")
    )
    job_runs_retention_seconds: float = Field(
        default=30 * 24 * 3600.0, validation_alias=alias("job_runs_retention_seconds")
    )
    job_prune_batch_size: int = Field(
        default=500, ge=1, le=10_000, validation_alias=alias("job_prune_batch_size")
    )
    job_prune_pause_seconds: float = Field(
        default=0.01, ge=0, validation_alias=alias("job_prune_pause_seconds")
    )
    job_prune_period_seconds: float = Field(
        default=3600.0, gt=0, validation_alias=alias("job_prune_period_seconds")
    )
