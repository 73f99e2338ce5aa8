"""Object storage settings: the local folder or an S3 bucket, and how files are served."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias

MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class StorageSettings(BaseSettings):
    """Where objects are stored (``local`` or ``s3``), their keys, and signed URLs."""

    storage_backend: Literal["local", "s3"] = Field(
        default="local", validation_alias=alias("storage_backend", "STORAGE_BACKEND")
    )
    storage_root: Path | None = Field(default=None, validation_alias=alias("storage_root"))
    key_layouts: dict[str, str] = Field(
        default_factory=dict,
        description="Object key templates that replace the defaults, by layout name "
        '(JSON in the environment: {"base_image": "bases/{actor_name}.jpg"}).',
        validation_alias=alias("key_layouts"),
    )
    s3_bucket: str = Field(
        default="",
        validation_alias=alias(
            "s3_bucket",
            "STORAGE_BUCKET",
            "S3_BUCKET_NAME",
            "AWS_USER_IMAGES_BUCKET",
            "AWS_SYSTEM_ACTORS_BUCKET",
        ),
    )
    s3_region: str = Field(
        default="us-east-1",
        validation_alias=alias("s3_region", "S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
    )
    s3_endpoint: str = Field(
        default="", validation_alias=alias("s3_endpoint", "S3_ENDPOINT", "AWS_ENDPOINT_URL")
    )
    s3_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=alias(
            "s3_access_key", "S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"
        ),
    )
    s3_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=alias(
            "s3_secret_key", "S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_SECRET"
        ),
    )
    s3_addressing: Literal["auto", "path", "virtual"] = Field(
        default="auto", validation_alias=alias("s3_addressing")
    )
    s3_acl: str = Field(default="", validation_alias=alias("s3_acl"))
    s3_allow_http: bool = Field(default=False, validation_alias=alias("s3_allow_http"))
    serve_from_cloud: bool = Field(
        default=True, validation_alias=alias("serve_from_cloud", "SERVE_FROM_CLOUD")
    )
    presigned_url_expiry: int = Field(
        default=3600, validation_alias=alias("presigned_url_expiry", "PRESIGNED_URL_EXPIRY")
    )

    @field_validator("presigned_url_expiry")
    @classmethod
    def _expiry_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_PRESIGN_SECONDS:
            raise ValueError(
                f"PRESIGNED_URL_EXPIRY must be between 1 and {MAX_PRESIGN_SECONDS} seconds "
                f"(7 days, the longest S3 allows); got {value}"
            )
        return value
