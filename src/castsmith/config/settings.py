"""The one settings object of a castsmith process, put together from its parts by concern.

Each part (``server``, ``storage``, ``providers``, ``jobs``, ``limits``, ``curation``,
``trainer``) declares its own fields; ``Settings`` joins them, reads the sources in
order and fills what is derived from other values. The parts are listed so that the
fields keep one order (trainer, server, storage, providers, jobs, limits, curation):
pydantic collects fields from the last base to the first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from castsmith.config.aliases import config_file_path
from castsmith.config.curation import CurationSettings
from castsmith.config.jobs import JobSettings
from castsmith.config.limits import LimitSettings, ProviderLimit
from castsmith.config.providers import REMOTE_PROVIDERS, ProviderSettings
from castsmith.config.server import ServerSettings
from castsmith.config.storage import StorageSettings
from castsmith.config.trainer import TrainerSettings


class Settings(
    CurationSettings,
    LimitSettings,
    JobSettings,
    ProviderSettings,
    StorageSettings,
    ServerSettings,
    TrainerSettings,
):
    """The effective configuration of one castsmith process."""

    model_config = SettingsConfigDict(
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

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
    def local_storage_root(self) -> Path:
        """The local storage folder (always set after validation)."""
        assert self.storage_root is not None
        return self.storage_root


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` (CLI flags) win over everything else."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
