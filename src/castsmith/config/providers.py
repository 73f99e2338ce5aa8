"""Provider settings: which provider plays each role, and each provider's address and keys."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias

REMOTE_PROVIDERS = ("runpod", "comfyui", "replicate", "openai", "google", "flowise")


class ProviderSettings(BaseSettings):
    """The provider per role (``auto`` picks one) and the connection of every provider."""

    image_provider: str = Field(default="auto", validation_alias=alias("image_provider"))
    poster_provider: str = Field(default="auto", validation_alias=alias("poster_provider"))
    poster_style_loras: str = Field(
        default="SBai_style_101",
        description="Comma-separated style LoRA names the poster dialog offers (file names "
        "on the poster provider's ComfyUI server). A poster that names none is drawn with "
        "SBai_style_101, the seeds' style.",
        validation_alias=alias("poster_style_loras"),
    )
    reference_provider: str = Field(default="auto", validation_alias=alias("reference_provider"))
    text_provider: str = Field(default="auto", validation_alias=alias("text_provider"))
    provider_timeout: float = Field(default=60.0, validation_alias=alias("provider_timeout"))
    runpod_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("runpod_api_key", "RUNPOD_API_KEY")
    )
    runpod_endpoint_id: str = Field(
        default="", validation_alias=alias("runpod_endpoint_id", "RUNPOD_ENDPOINT_ID")
    )
    runpod_endpoint_url: str = Field(
        default="", validation_alias=alias("runpod_endpoint_url", "RUNPOD_ENDPOINT_URL")
    )
    runpod_mode: Literal["run", "runsync"] = Field(
        default="run", validation_alias=alias("runpod_mode", "RUNPOD_MODE")
    )
    comfyui_url: str = Field(default="", validation_alias=alias("comfyui_url", "COMFYUI_URL"))
    replicate_api_token: SecretStr | None = Field(
        default=None, validation_alias=alias("replicate_api_token", "REPLICATE_API_TOKEN")
    )
    replicate_base_url: str = Field(
        default="https://api.replicate.com",
        validation_alias=alias("replicate_base_url", "REPLICATE_BASE_URL"),
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=alias("openai_base_url", "OPENAI_BASE_URL"),
    )
    openai_image_model: str = Field(
        default="gpt-image-1", validation_alias=alias("openai_image_model")
    )
    openai_text_model: str = Field(
        default="gpt-4o-mini", validation_alias=alias("openai_text_model")
    )
    google_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("google_api_key", "GOOGLE_API_KEY", "GEMINI_API_KEY")
    )
    google_base_url: str = Field(default="", validation_alias=alias("google_base_url"))
    google_project: str = Field(
        default="", validation_alias=alias("google_project", "GOOGLE_CLOUD_PROJECT")
    )
    google_location: str = Field(
        default="us-central1", validation_alias=alias("google_location", "GOOGLE_CLOUD_LOCATION")
    )
    google_image_model: str = Field(
        default="imagen-4.0-generate-001", validation_alias=alias("google_image_model")
    )
    flowise_url: str = Field(default="", validation_alias=alias("flowise_url", "FLOWISE_URL"))
    flowise_chatflow_id: str = Field(
        default="", validation_alias=alias("flowise_chatflow_id", "FLOWISE_CHATFLOW_ID")
    )
    flowise_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("flowise_api_key", "FLOWISE_API_KEY")
    )

    @property
    def style_lora_choices(self) -> list[str]:
        """The configured style LoRA names, in order, without blanks or repeats."""
        names = (name.strip() for name in self.poster_style_loras.split(","))
        return list(dict.fromkeys(name for name in names if name))
