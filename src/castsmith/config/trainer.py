"""LoRA training settings: which trainer, its keys, and where a new LoRA is delivered."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from castsmith.config.aliases import alias


class TrainerSettings(BaseSettings):
    """Which trainer trains LoRAs, its keys, and where a new LoRA is delivered."""

    lora_trainer: str = Field(default="offline", validation_alias=alias("lora_trainer"))
    offline_training_seconds: float = Field(
        default=3.0, ge=0, validation_alias=alias("offline_training_seconds")
    )
    lora_max_weights_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, ge=1024, validation_alias=alias("lora_max_weights_bytes")
    )
    lora_dataset_url_expiry: int = Field(
        default=24 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        validation_alias=alias("lora_dataset_url_expiry"),
    )
    lora_poll_interval: float = Field(
        default=5.0, gt=0, validation_alias=alias("lora_poll_interval")
    )
    lora_poll_timeout: float = Field(
        default=6 * 3600.0, gt=0, validation_alias=alias("lora_poll_timeout")
    )
    replicate_trainer_model: str = Field(
        default="ostris/flux-dev-lora-trainer", validation_alias=alias("replicate_trainer_model")
    )
    replicate_trainer_version: str = Field(
        default="", validation_alias=alias("replicate_trainer_version")
    )
    replicate_destination_owner: str = Field(
        default="", validation_alias=alias("replicate_destination_owner")
    )
    fal_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("fal_api_key", "FAL_KEY")
    )
    fal_queue_url: str = Field(
        default="https://queue.fal.run", validation_alias=alias("fal_queue_url")
    )
    fal_rest_url: str = Field(default="https://rest.fal.ai", validation_alias=alias("fal_rest_url"))
    comfyui_lora_dir: str = Field(default="", validation_alias=alias("comfyui_lora_dir"))
    lora_s3_prefix: str = Field(default="", validation_alias=alias("lora_s3_prefix"))
    runpod_volume_id: str = Field(default="", validation_alias=alias("runpod_volume_id"))
    runpod_volume_s3_endpoint: str = Field(
        default="", validation_alias=alias("runpod_volume_s3_endpoint")
    )
    runpod_volume_region: str = Field(default="", validation_alias=alias("runpod_volume_region"))
    runpod_volume_access_key: SecretStr | None = Field(
        default=None, validation_alias=alias("runpod_volume_access_key")
    )
    runpod_volume_secret_key: SecretStr | None = Field(
        default=None, validation_alias=alias("runpod_volume_secret_key")
    )
