"""Which trainers this process can use, built from settings.

``offline`` is always there; ``replicate`` needs the Replicate token; ``fal`` and
``fal-portrait`` need the fal key. Asking for an unknown trainer, or for one whose keys
are missing, is refused with a message saying what to set.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from castsmith.config import Settings
from castsmith.domain.errors import ValidationError
from castsmith.net.guard import GuardPolicy, allow_list
from castsmith.providers.trainers.base import Trainer
from castsmith.providers.trainers.fal import FAST, PORTRAIT, FalTrainer
from castsmith.providers.trainers.offline import OfflineTrainer
from castsmith.providers.trainers.replicate import ReplicateTrainer

KNOWN = ("offline", "replicate", "fal", "fal-portrait")
NEEDS = {
    "offline": "nothing (built in)",
    "replicate": "CASTSMITH_REPLICATE_API_TOKEN",
    "fal": "CASTSMITH_FAL_API_KEY (or FAL_KEY)",
    "fal-portrait": "CASTSMITH_FAL_API_KEY (or FAL_KEY)",
}


class TrainerRegistry:
    """Configured trainers by name and the default one."""

    def __init__(self, trainers: dict[str, Trainer], default: str = "offline") -> None:
        self.trainers = trainers
        self.default_name = default.lower()

    def get(self, name: str | None = None) -> Trainer:
        """The trainer ``name`` (the default when ``None``); refusals name ``provider``."""
        key = (name or self.default_name).strip().lower()
        if key in self.trainers:
            return self.trainers[key]
        if key in KNOWN:
            raise ValidationError(
                f"trainer {key!r} is not configured: set {NEEDS[key]}", "provider"
            )
        raise ValidationError(
            f"unknown trainer {key!r}; choose one of {', '.join(KNOWN)}", "provider"
        )

    def names(self) -> list[str]:
        """The configured trainers in a fixed order."""
        return [name for name in KNOWN if name in self.trainers]


def trainers_from_settings(settings: Settings, http: httpx.AsyncClient) -> TrainerRegistry:
    """Build every trainer whose keys are present."""
    guard = GuardPolicy(
        max_bytes=settings.lora_max_weights_bytes,
        timeout=max(settings.provider_timeout, 600.0),
        allow_hosts=allow_list(
            settings.fetch_allow_hosts, settings.replicate_base_url, settings.fal_queue_url
        ),
    )
    trainers: dict[str, Trainer] = {
        "offline": OfflineTrainer(
            Path(settings.data_dir) / "offline-trainer", settings.offline_training_seconds
        )
    }
    if settings.replicate_api_token is not None:
        trainers["replicate"] = ReplicateTrainer(
            http,
            api_token=settings.replicate_api_token,
            base_url=settings.replicate_base_url,
            model=settings.replicate_trainer_model,
            version=settings.replicate_trainer_version,
            owner=settings.replicate_destination_owner,
            timeout=settings.provider_timeout,
            download_guard=guard,
            poll_interval=settings.lora_poll_interval,
        )
    if settings.fal_api_key is not None:
        for name, endpoint in (("fal", FAST), ("fal-portrait", PORTRAIT)):
            trainers[name] = FalTrainer(
                http,
                api_key=settings.fal_api_key,
                endpoint=endpoint,
                queue_url=settings.fal_queue_url,
                rest_url=settings.fal_rest_url,
                timeout=settings.provider_timeout,
                download_guard=guard,
                poll_interval=settings.lora_poll_interval,
            )
    return TrainerRegistry(trainers, settings.lora_trainer)
