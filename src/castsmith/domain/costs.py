"""What a provider call costs, from what it used and the configured prices.

Prices are per provider, optionally per kind of call (``"replicate.training"`` before
``"replicate"``): ``per_second`` of billed time, ``per_image`` returned and
``per_training`` finished. The defaults are rough public list prices in US dollars at
the time of writing, there so the ledger says something out of the box; set your own
with ``CASTSMITH_PRICES`` (they merge over these, per key). The offline provider is
always free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (SUCCEEDED, FAILED, CANCELLED)

#: Kinds of provider call the ledger records.
KINDS = ("workflow", "text_to_image", "image_to_image", "text", "training")

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    # A 24 GB serverless worker (flex), billed per second of execution.
    "runpod": {"per_second": 0.00031},
    # Your own server: no bill per call.
    "comfyui": {},
    "flowise": {},
    # flux-kontext-pro is billed per output image; trainings per second of H100 time.
    "replicate": {"per_image": 0.04},
    "replicate.training": {"per_second": 0.001525},
    "openai": {"per_image": 0.042},
    "google": {"per_image": 0.04},
    "fal.training": {"per_training": 2.0},
}


@dataclass(frozen=True)
class Price:
    """What one unit of each kind of usage costs."""

    per_second: float = 0.0
    per_image: float = 0.0
    per_training: float = 0.0


def price_for(configured: Mapping[str, Mapping[str, float]], provider: str, kind: str) -> Price:
    """The price of a ``kind`` call to ``provider``: configured over the defaults."""
    if provider == "offline":
        return Price()
    for key in (f"{provider}.{kind}", provider):
        if key in configured or key in DEFAULT_PRICES:
            merged = {**DEFAULT_PRICES.get(key, {}), **configured.get(key, {})}
            return Price(**{k: float(v) for k, v in merged.items() if k in _FIELDS})
    return Price()


_FIELDS = frozenset(Price.__dataclass_fields__)


def reported_seconds(usage: Mapping[str, Any]) -> float | None:
    """The billed time the provider reported, in seconds (``None`` when it gave none).

    RunPod bills ``executionTime`` (ms; queue time, ``delayTime``, is not billed);
    Replicate reports ``predict_time`` (s), fal ``inference_time`` (s); other trainers
    their ``duration`` (s).
    """
    names = (
        ("executionTime", 1000.0),
        ("predict_time", 1.0),
        ("inference_time", 1.0),
        ("duration", 1.0),
    )
    for name, scale in names:
        value = usage.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value) / scale
    return None


def cost_of(price: Price, *, seconds: float | None, images: int, trainings: int = 0) -> float:
    """The cost of one call, in the prices' currency."""
    total = price.per_second * (seconds or 0.0)
    total += price.per_image * images + price.per_training * trainings
    return round(total, 6)
