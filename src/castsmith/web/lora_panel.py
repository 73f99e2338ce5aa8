"""The data of the actor page's "Train LoRA" panel.

The dataset's readiness comes from the curation readiness report (usable images,
identity spread, what to do), together with the default trainer's own minimum; when
the dataset is not ready the panel offers a "train anyway" (force) checkbox.
"""

from __future__ import annotations

import asyncio
from typing import Any

from castsmith.pipelines._services import Services


async def lora_panel_data(services: Services, actor_id: int) -> dict[str, Any]:
    """The "Train LoRA" panel: versions, trainers, dataset readiness, the grid."""
    from castsmith.pipelines import lora
    from castsmith.pipelines.lora.readiness import panel_readiness, readiness
    from castsmith.pipelines.lora.records import trainer_registry
    from castsmith.pipelines.training.curation import readiness_report

    registry = trainer_registry(services)
    default = registry.get()
    minimum = await asyncio.to_thread(readiness, services, actor_id, default)
    report = await readiness_report(services, actor_id)
    versions = await lora.versions(services, actor_id)
    shown = next((v for v in versions if v["is_current"]), versions[0] if versions else None)
    grid = await lora.test_grid(services, shown["id"]) if shown else None
    ended = ("succeeded", "failed", "canceled")
    running = next((v for v in versions if v["status"] not in ended), None)
    return {
        "versions": versions,
        "trainers": registry.names(),
        "default": default.name,
        "dataset": panel_readiness(report, minimum),
        "images": report.usable,
        "needed": minimum.needed,
        "ready": report.ready and minimum.ready,
        "grid": grid,
        "running": running,
    }
