"""Where things live and how the process serves: data folder, database, bind address, logs."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias


class ServerSettings(BaseSettings):
    """The data folder, the database, the address served, web sessions and logging."""

    data_dir: Path = Field(default=Path("castsmith-data"), validation_alias=alias("data_dir"))
    database_url: str = Field(default="", validation_alias=alias("database_url", "DATABASE_URL"))
    host: str = Field(default="127.0.0.1", validation_alias=alias("host"))
    port: int = Field(default=8000, validation_alias=alias("port", "PORT"))
    public_base_url: str = Field(default="", validation_alias=alias("public_base_url"))
    secret_key: SecretStr | None = Field(default=None, validation_alias=alias("secret_key"))
    auth: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="auto: required unless the bind host is loopback; required; off (every "
        "request acts as the built-in local admin).",
        validation_alias=alias("auth"),
    )
    session_max_age: int = Field(
        default=12 * 3600,
        ge=60,
        description="Seconds a web login session lasts.",
        validation_alias=alias("session_max_age"),
    )
    server_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Threads each server process runs blocking work on (database reads, "
        "image work); unset: Python's default. 1 serves reads fastest (see docs).",
        validation_alias=alias("server_threads"),
    )
    log_level: str = Field(default="INFO", validation_alias=alias("log_level"))
    log_json: bool = Field(default=True, validation_alias=alias("log_json"))
