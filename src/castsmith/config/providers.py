"""Provider settings: which provider plays each role, and each provider's address and keys."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias

REMOTE_PROVIDERS = ("runpod", "comfyui", "replicate", "openai", "google", "flowise")


class ProviderSettings(BaseSettings):
    """The provider per role (``auto`` picks one) and the connection of every provider."""

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
        validation_alias=alias("poster_style_loras"),
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

    @property
    def style_lora_choices(self) -> list[str]:
        """The configured style LoRA names, in order, without blanks or repeats."""
        names = (name.strip() for name in self.poster_style_loras.split(","))
        return list(dict.fromkeys(name for name in names if name))
