"""Where things live and how the process serves: data folder, database, bind address, logs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings


class ServerSettings(BaseSettings):
    """The data folder, the database, the address served, web sessions and logging."""

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
