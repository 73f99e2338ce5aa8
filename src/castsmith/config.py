"""Settings: one object read from CLI flags, the environment and ``castsmith.toml``.

Precedence, highest first: values passed in (CLI flags), environment variables, the
TOML file (``CASTSMITH_CONFIG`` or ``./castsmith.toml``), then defaults. Every setting
has a ``CASTSMITH_*`` environment name; the names the older scripts used
(``RUNPOD_API_KEY``, ``AWS_ACCESS_KEY``, ``S3_ENDPOINT``, ...) are accepted as aliases.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MAX_PRESIGN_SECONDS = 7 * 24 * 3600


def _env(name: str, *aliases: str) -> Any:
    """Accept ``CASTSMITH_<NAME>`` first, then the seeds' names, then the field name."""
    return Field(
        validation_alias=AliasChoices(f"CASTSMITH_{name.upper()}", *aliases, name),
    )


def _alias(name: str, *more: str) -> AliasChoices:
    """``CASTSMITH_<NAME>``, then any older names in ``more``, or the field name."""
    return AliasChoices(f"CASTSMITH_{name.upper()}", *more, name)


def config_file_path() -> Path:
    """Where the optional TOML settings file is looked for."""
    return Path(os.environ.get("CASTSMITH_CONFIG", "castsmith.toml"))


REMOTE_PROVIDERS = ("runpod", "comfyui", "replicate", "openai", "google", "flowise")


class TrainerSettings(BaseSettings):
    """Which trainer trains LoRAs, its keys, and where a new LoRA is delivered."""

    lora_trainer: str = Field(default="offline", validation_alias=_alias("lora_trainer"))
    offline_training_seconds: float = Field(
        default=3.0, ge=0, validation_alias=_alias("offline_training_seconds")
    )
    lora_max_weights_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, ge=1024, validation_alias=_alias("lora_max_weights_bytes")
    )
    lora_dataset_url_expiry: int = Field(
        default=24 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        validation_alias=_alias("lora_dataset_url_expiry"),
    )
    lora_poll_interval: float = Field(
        default=5.0, gt=0, validation_alias=_alias("lora_poll_interval")
    )
    lora_poll_timeout: float = Field(
        default=6 * 3600.0, gt=0, validation_alias=_alias("lora_poll_timeout")
    )
    replicate_trainer_model: str = Field(
        default="ostris/flux-dev-lora-trainer", validation_alias=_alias("replicate_trainer_model")
    )
    replicate_trainer_version: str = Field(
        default="", validation_alias=_alias("replicate_trainer_version")
    )
    replicate_destination_owner: str = Field(
        default="", validation_alias=_alias("replicate_destination_owner")
    )
    fal_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("fal_api_key", "FAL_KEY")
    )
    fal_queue_url: str = Field(
        default="https://queue.fal.run", validation_alias=_alias("fal_queue_url")
    )
    fal_rest_url: str = Field(
        default="https://rest.fal.ai", validation_alias=_alias("fal_rest_url")
    )
    comfyui_lora_dir: str = Field(default="", validation_alias=_alias("comfyui_lora_dir"))
    lora_s3_prefix: str = Field(default="", validation_alias=_alias("lora_s3_prefix"))
    runpod_volume_id: str = Field(default="", validation_alias=_alias("runpod_volume_id"))
    runpod_volume_s3_endpoint: str = Field(
        default="", validation_alias=_alias("runpod_volume_s3_endpoint")
    )
    runpod_volume_region: str = Field(default="", validation_alias=_alias("runpod_volume_region"))
    runpod_volume_access_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("runpod_volume_access_key")
    )
    runpod_volume_secret_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("runpod_volume_secret_key")
    )


class ProviderLimit(BaseModel):
    """Cluster-wide limits for one provider's jobs: running at once, starts per minute."""

    concurrency: int | None = Field(default=None, ge=1)
    rpm: int | None = Field(default=None, ge=1)


class Settings(TrainerSettings):
    """The effective configuration of one castsmith process."""

    model_config = SettingsConfigDict(
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # --- where things live -------------------------------------------------------
    data_dir: Path = Field(
        default=Path("castsmith-data"),
        validation_alias=AliasChoices("CASTSMITH_DATA_DIR", "data_dir"),
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("CASTSMITH_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("CASTSMITH_HOST", "host"))
    port: int = Field(default=8000, validation_alias=AliasChoices("CASTSMITH_PORT", "PORT", "port"))
    public_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("CASTSMITH_PUBLIC_BASE_URL", "public_base_url"),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CASTSMITH_SECRET_KEY", "secret_key"),
    )
    auth: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="auto: required unless the bind host is loopback; required; off (every "
        "request acts as the built-in local admin).",
        validation_alias=AliasChoices("CASTSMITH_AUTH", "auth"),
    )
    session_max_age: int = Field(
        default=12 * 3600,
        ge=60,
        description="Seconds a web login session lasts.",
        validation_alias=AliasChoices("CASTSMITH_SESSION_MAX_AGE", "session_max_age"),
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("CASTSMITH_LOG_LEVEL", "log_level")
    )
    log_json: bool = Field(
        default=True, validation_alias=AliasChoices("CASTSMITH_LOG_JSON", "log_json")
    )

    # --- object storage ----------------------------------------------------------
    storage_backend: Literal["local", "s3"] = Field(
        default="local",
        validation_alias=AliasChoices(
            "CASTSMITH_STORAGE_BACKEND", "STORAGE_BACKEND", "storage_backend"
        ),
    )
    storage_root: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CASTSMITH_STORAGE_ROOT", "storage_root"),
    )
    key_layouts: dict[str, str] = Field(
        default_factory=dict,
        description="Object key templates that replace the defaults, by layout name "
        '(JSON in the environment: {"base_image": "bases/{actor_name}.jpg"}).',
        validation_alias=_alias("key_layouts"),
    )
    s3_bucket: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_S3_BUCKET",
            "STORAGE_BUCKET",
            "S3_BUCKET_NAME",
            "AWS_USER_IMAGES_BUCKET",
            "AWS_SYSTEM_ACTORS_BUCKET",
            "s3_bucket",
        ),
    )
    s3_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices(
            "CASTSMITH_S3_REGION", "S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION", "s3_region"
        ),
    )
    s3_endpoint: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_S3_ENDPOINT", "S3_ENDPOINT", "AWS_ENDPOINT_URL", "s3_endpoint"
        ),
    )
    s3_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_S3_ACCESS_KEY",
            "S3_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_ACCESS_KEY",
            "s3_access_key",
        ),
    )
    s3_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_S3_SECRET_KEY",
            "S3_SECRET_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_SECRET",
            "s3_secret_key",
        ),
    )
    s3_addressing: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        validation_alias=AliasChoices("CASTSMITH_S3_ADDRESSING", "s3_addressing"),
    )
    s3_acl: str = Field(default="", validation_alias=AliasChoices("CASTSMITH_S3_ACL", "s3_acl"))
    s3_allow_http: bool = Field(
        default=False, validation_alias=AliasChoices("CASTSMITH_S3_ALLOW_HTTP", "s3_allow_http")
    )
    serve_from_cloud: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "CASTSMITH_SERVE_FROM_CLOUD", "SERVE_FROM_CLOUD", "serve_from_cloud"
        ),
    )
    presigned_url_expiry: int = Field(
        default=3600,
        validation_alias=AliasChoices(
            "CASTSMITH_PRESIGNED_URL_EXPIRY", "PRESIGNED_URL_EXPIRY", "presigned_url_expiry"
        ),
    )

    # --- providers -------------------------------------------------------------------
    image_provider: str = Field(
        default="auto",
        validation_alias=AliasChoices("CASTSMITH_IMAGE_PROVIDER", "image_provider"),
    )
    poster_provider: str = Field(
        default="auto",
        validation_alias=AliasChoices("CASTSMITH_POSTER_PROVIDER", "poster_provider"),
    )
    poster_style_loras: str = Field(
        default="SBai_style_101",
        description="Comma-separated style LoRA names the poster dialog offers (file names "
        "on the poster provider's ComfyUI server). A poster that names none is drawn with "
        "SBai_style_101, the seeds' style.",
        validation_alias=_alias("poster_style_loras"),
    )
    reference_provider: str = Field(
        default="auto",
        validation_alias=AliasChoices("CASTSMITH_REFERENCE_PROVIDER", "reference_provider"),
    )
    text_provider: str = Field(
        default="auto",
        validation_alias=AliasChoices("CASTSMITH_TEXT_PROVIDER", "text_provider"),
    )
    provider_timeout: float = Field(
        default=60.0,
        validation_alias=AliasChoices("CASTSMITH_PROVIDER_TIMEOUT", "provider_timeout"),
    )
    runpod_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_RUNPOD_API_KEY", "RUNPOD_API_KEY", "runpod_api_key"
        ),
    )
    runpod_endpoint_id: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_RUNPOD_ENDPOINT_ID", "RUNPOD_ENDPOINT_ID", "runpod_endpoint_id"
        ),
    )
    runpod_endpoint_url: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_RUNPOD_ENDPOINT_URL", "RUNPOD_ENDPOINT_URL", "runpod_endpoint_url"
        ),
    )
    runpod_mode: Literal["run", "runsync"] = Field(
        default="run",
        validation_alias=AliasChoices("CASTSMITH_RUNPOD_MODE", "RUNPOD_MODE", "runpod_mode"),
    )
    comfyui_url: str = Field(
        default="",
        validation_alias=AliasChoices("CASTSMITH_COMFYUI_URL", "COMFYUI_URL", "comfyui_url"),
    )
    replicate_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN", "replicate_api_token"
        ),
    )
    replicate_base_url: str = Field(
        default="https://api.replicate.com",
        validation_alias=AliasChoices(
            "CASTSMITH_REPLICATE_BASE_URL", "REPLICATE_BASE_URL", "replicate_base_url"
        ),
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices(
            "CASTSMITH_OPENAI_BASE_URL", "OPENAI_BASE_URL", "openai_base_url"
        ),
    )
    openai_image_model: str = Field(
        default="gpt-image-1",
        validation_alias=AliasChoices("CASTSMITH_OPENAI_IMAGE_MODEL", "openai_image_model"),
    )
    openai_text_model: str = Field(
        default="gpt-4o-mini",
        validation_alias=AliasChoices("CASTSMITH_OPENAI_TEXT_MODEL", "openai_text_model"),
    )
    google_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_GOOGLE_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "google_api_key"
        ),
    )
    google_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("CASTSMITH_GOOGLE_BASE_URL", "google_base_url"),
    )
    google_project: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "google_project"
        ),
    )
    google_location: str = Field(
        default="us-central1",
        validation_alias=AliasChoices(
            "CASTSMITH_GOOGLE_LOCATION", "GOOGLE_CLOUD_LOCATION", "google_location"
        ),
    )
    google_image_model: str = Field(
        default="imagen-4.0-generate-001",
        validation_alias=AliasChoices("CASTSMITH_GOOGLE_IMAGE_MODEL", "google_image_model"),
    )
    flowise_url: str = Field(
        default="",
        validation_alias=AliasChoices("CASTSMITH_FLOWISE_URL", "FLOWISE_URL", "flowise_url"),
    )
    flowise_chatflow_id: str = Field(
        default="",
        validation_alias=AliasChoices(
            "CASTSMITH_FLOWISE_CHATFLOW_ID", "FLOWISE_CHATFLOW_ID", "flowise_chatflow_id"
        ),
    )
    flowise_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CASTSMITH_FLOWISE_API_KEY", "FLOWISE_API_KEY", "flowise_api_key"
        ),
    )

    # --- workers and limits ------------------------------------------------------------
    worker_interval: float = Field(
        default=1.0,
        validation_alias=AliasChoices(
            "CASTSMITH_WORKER_INTERVAL", "WORKER_INTERVAL", "worker_interval"
        ),
    )
    worker_concurrency: int = Field(
        default=4,
        validation_alias=AliasChoices("CASTSMITH_WORKER_CONCURRENCY", "worker_concurrency"),
    )
    multithread_flowise: int = Field(
        default=5,
        validation_alias=AliasChoices(
            "CASTSMITH_MULTITHREAD_FLOWISE", "MULTITHREAD_FLOWISE", "multithread_flowise"
        ),
    )
    max_concurrent_requests: int = Field(
        default=8,
        validation_alias=AliasChoices(
            "CASTSMITH_MAX_CONCURRENT_REQUESTS",
            "MAX_CONCURRENT_REQUESTS",
            "max_concurrent_requests",
        ),
    )
    job_lease_seconds: float = Field(
        default=30.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_LEASE_SECONDS", "job_lease_seconds"),
    )
    job_heartbeat_seconds: float = Field(
        default=2.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_HEARTBEAT_SECONDS", "job_heartbeat_seconds"),
    )
    job_backoff_base: float = Field(
        default=2.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_BACKOFF_BASE", "job_backoff_base"),
    )
    job_backoff_cap: float = Field(
        default=300.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_BACKOFF_CAP", "job_backoff_cap"),
    )
    job_infra_backoff_base: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("CASTSMITH_JOB_INFRA_BACKOFF_BASE", "job_infra_backoff_base"),
    )
    job_infra_backoff_cap: float = Field(
        default=900.0,
        gt=0,
        validation_alias=AliasChoices("CASTSMITH_JOB_INFRA_BACKOFF_CAP", "job_infra_backoff_cap"),
    )
    job_infra_max_attempts: int = Field(
        default=10,
        ge=1,
        validation_alias=AliasChoices("CASTSMITH_JOB_INFRA_MAX_ATTEMPTS", "job_infra_max_attempts"),
    )
    job_max_attempts: int = Field(
        default=3,
        validation_alias=AliasChoices("CASTSMITH_JOB_MAX_ATTEMPTS", "job_max_attempts"),
    )
    job_shutdown_grace: float = Field(
        default=30.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_SHUTDOWN_GRACE", "job_shutdown_grace"),
    )
    job_events_retention_seconds: float = Field(
        default=7 * 24 * 3600.0,
        validation_alias=AliasChoices(
            "CASTSMITH_JOB_EVENTS_RETENTION_SECONDS", "job_events_retention_seconds"
        ),
    )
    job_retention_seconds: float = Field(
        default=30 * 24 * 3600.0,
        validation_alias=AliasChoices("CASTSMITH_JOB_RETENTION_SECONDS", "job_retention_seconds"),
    )
    job_failed_retention_seconds: float = Field(
        default=90 * 24 * 3600.0,
        validation_alias=AliasChoices(
            "CASTSMITH_JOB_FAILED_RETENTION_SECONDS", "job_failed_retention_seconds"
        ),
    )
    job_runs_retention_seconds: float = Field(
        default=30 * 24 * 3600.0,
        validation_alias=AliasChoices(
            "CASTSMITH_JOB_RUNS_RETENTION_SECONDS", "job_runs_retention_seconds"
        ),
    )
    job_prune_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("CASTSMITH_JOB_PRUNE_BATCH_SIZE", "job_prune_batch_size"),
    )
    job_prune_pause_seconds: float = Field(
        default=0.01,
        ge=0,
        validation_alias=AliasChoices(
            "CASTSMITH_JOB_PRUNE_PAUSE_SECONDS", "job_prune_pause_seconds"
        ),
    )
    job_prune_period_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=AliasChoices(
            "CASTSMITH_JOB_PRUNE_PERIOD_SECONDS", "job_prune_period_seconds"
        ),
    )
    provider_limits: dict[str, ProviderLimit] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("CASTSMITH_PROVIDER_LIMITS", "provider_limits"),
    )
    # Cost ledger prices over the defaults in domain/costs.py, e.g.
    # {"runpod": {"per_second": 0.00031}, "replicate.training": {"per_second": 0.0015}}.
    prices: dict[str, dict[str, float]] = Field(
        default_factory=dict, validation_alias=_alias("prices")
    )
    # Failover: per role (poster, image, reference, base, persona_image; the text role
    # persona_data), providers tried in order after the configured one when a call
    # fails with a retryable error; a provider whose last
    # ``breaker_failures`` calls (cluster-wide) all failed so is skipped for
    # ``breaker_cooldown`` seconds, then tried again.
    failover: dict[str, list[str]] = Field(
        default_factory=dict, validation_alias=_alias("failover")
    )
    breaker_failures: int = Field(default=5, ge=1, validation_alias=_alias("breaker_failures"))
    breaker_cooldown: float = Field(default=60.0, gt=0, validation_alias=_alias("breaker_cooldown"))
    max_image_pixels: int = Field(
        default=64_000_000,
        validation_alias=AliasChoices("CASTSMITH_MAX_IMAGE_PIXELS", "max_image_pixels"),
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024,
        validation_alias=AliasChoices("CASTSMITH_MAX_UPLOAD_BYTES", "max_upload_bytes"),
    )
    fetch_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts that URL downloads may reach even when they "
        "resolve to private or loopback addresses (a local mirror, a test server).",
        validation_alias=AliasChoices("CASTSMITH_FETCH_ALLOW_HOSTS", "fetch_allow_hosts"),
    )
    provider_output_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        validation_alias=AliasChoices(
            "CASTSMITH_PROVIDER_OUTPUT_MAX_BYTES", "provider_output_max_bytes"
        ),
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The whsec_<base64> key job-completion webhooks are signed with.",
        validation_alias=AliasChoices("CASTSMITH_WEBHOOK_SECRET", "webhook_secret"),
    )
    webhook_max_attempts: int = Field(
        default=10,
        ge=1,
        validation_alias=AliasChoices("CASTSMITH_WEBHOOK_MAX_ATTEMPTS", "webhook_max_attempts"),
    )
    webhook_timeout: float = Field(
        default=10.0,
        validation_alias=AliasChoices("CASTSMITH_WEBHOOK_TIMEOUT", "webhook_timeout"),
    )
    cleanup_grace_seconds: float = Field(
        default=24 * 3600.0,
        description="Unreferenced objects younger than this are kept by the cleanup.",
        validation_alias=AliasChoices("CASTSMITH_CLEANUP_GRACE_SECONDS", "cleanup_grace_seconds"),
    )
    cleanup_period_seconds: float = Field(
        default=6 * 3600.0,
        validation_alias=AliasChoices("CASTSMITH_CLEANUP_PERIOD_SECONDS", "cleanup_period_seconds"),
    )
    cleanup_keep_prefixes: str = Field(
        default="videos/",
        description="Comma-separated key prefixes the cleanup never touches (objects "
        "that are recorded only in the store, such as video job files).",
        validation_alias=AliasChoices("CASTSMITH_CLEANUP_KEEP_PREFIXES", "cleanup_keep_prefixes"),
    )
    fetch_timeout: float = Field(
        default=30.0,
        validation_alias=AliasChoices("CASTSMITH_FETCH_TIMEOUT", "fetch_timeout"),
    )

    # --- dataset curation (thresholds: see castsmith.domain.curation) ----------------
    curation_identity_threshold: float = Field(
        default=0.6, gt=0, le=2, validation_alias=_alias("curation_identity_threshold")
    )
    curation_min_sharpness: float = Field(
        default=100.0, ge=0, validation_alias=_alias("curation_min_sharpness")
    )
    curation_duplicate_bits: int = Field(
        default=8, ge=0, le=32, validation_alias=_alias("curation_duplicate_bits")
    )
    curation_min_side: int = Field(default=512, ge=1, validation_alias=_alias("curation_min_side"))
    curation_min_images: int = Field(
        default=10, ge=1, validation_alias=_alias("curation_min_images")
    )
    curation_auto_triage: bool = Field(
        default=False, validation_alias=_alias("curation_auto_triage")
    )
    curation_processes: int = Field(default=0, ge=0, validation_alias=_alias("curation_processes"))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, env_settings, toml)

    @field_validator("presigned_url_expiry")
    @classmethod
    def _expiry_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_PRESIGN_SECONDS:
            raise ValueError(
                f"PRESIGNED_URL_EXPIRY must be between 1 and {MAX_PRESIGN_SECONDS} seconds "
                f"(7 days, the longest S3 allows); got {value}"
            )
        return value

    @model_validator(mode="after")
    def _fill_derived(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'castsmith.db'}"
        if self.storage_root is None:
            self.storage_root = self.data_dir / "storage"
        if not self.public_base_url:
            self.public_base_url = f"http://{self.host}:{self.port}"
        return self

    def effective_provider_limits(self) -> dict[str, ProviderLimit]:
        """Provider limits with ``MAX_CONCURRENT_REQUESTS`` as every remote provider's cap.

        A provider named in ``CASTSMITH_PROVIDER_LIMITS`` keeps what is given there (a
        missing concurrency there falls back to the default too); the offline renderer
        has no cap.
        """
        limits = {
            name: ProviderLimit(concurrency=self.max_concurrent_requests)
            for name in REMOTE_PROVIDERS
        }
        for name, limit in self.provider_limits.items():
            concurrency = limit.concurrency
            if concurrency is None and name in REMOTE_PROVIDERS:
                concurrency = self.max_concurrent_requests
            limits[name] = ProviderLimit(concurrency=concurrency, rpm=limit.rpm)
        return limits

    @property
    def style_lora_choices(self) -> list[str]:
        """The configured style LoRA names, in order, without blanks or repeats."""
        names = (name.strip() for name in self.poster_style_loras.split(","))
        return list(dict.fromkeys(name for name in names if name))

    @property
    def local_storage_root(self) -> Path:
        """The local storage folder (always set after validation)."""
        assert self.storage_root is not None
        return self.storage_root


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` (CLI flags) win over everything else."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
