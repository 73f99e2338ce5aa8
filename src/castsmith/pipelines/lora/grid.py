"""The LoRA test grid: fixed prompts at strengths 0.6 / 0.8 / 1.0 with fixed seeds.

Every cell is drawn through the poster provider with the version's LoRA (delivered to
the provider first) and no style LoRA, so the cells show what the character LoRA does
at each strength. Cells are stored as images and listed on the training row; the user
picks a strength, which becomes the actor's default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from castsmith.domain.errors import ProviderError
from castsmith.domain.lora import grid_cells
from castsmith.pipelines._assets import AssetProvenance, asset_url
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import store_asset
from castsmith.pipelines.lora.delivery import deliver
from castsmith.pipelines.lora.records import load, load_actor, update
from castsmith.providers.base import RunWorkflow
from castsmith.workflows.poster_frame import LoraSpec, PosterParams, build_poster_workflow

Progress = Callable[[float, str], Awaitable[None]]
CELL_SIZE = 768


async def draw_grid(
    services: Services, training_id: int, progress: Progress
) -> list[dict[str, Any]]:
    """Draw and store every cell of the version's grid; return the cells."""
    row = await asyncio.to_thread(load, services, training_id)
    actor = await asyncio.to_thread(load_actor, services, row.actor_id)
    provider = services.providers.for_role("poster")
    delivered = await deliver(services, provider.name, row)
    lora_ref = delivered.url or delivered.lora_name
    done = {cell["n"]: cell for cell in row.test_grid or [] if cell.get("key")}
    cells = grid_cells(row.trigger_word)
    out: list[dict[str, Any]] = []
    for cell in cells:
        if cell.n in done:
            out.append(done[cell.n])
            continue
        await progress(100 * cell.n / len(cells), f"drawing {cell.prompt!r} at {cell.strength}")
        params = PosterParams(
            description=cell.prompt,
            character_lora=LoraSpec(lora_ref, cell.strength, cell.strength),
            style_lora=None,
            trigger_word=None,
            width=CELL_SIZE,
            height=CELL_SIZE,
            seed=cell.seed,
            filename_prefix=f"lora_test_{cell.n}",
        )
        result = await provider.run_workflow(RunWorkflow(build_poster_workflow(params)))
        if not result.images:
            raise ProviderError(
                f"{provider.name} returned no image for the test grid", provider.name
            )
        asset = await store_asset(
            services,
            services.keys.lora_test_image(actor.name, row.version, cell.n),
            result.images[0].data,
            kind="lora_test",
            provenance=AssetProvenance(
                provider=result.provenance.provider,
                model=result.provenance.model,
                prompt=cell.prompt,
                seed=cell.seed,
                provider_job_id=result.provenance.provider_job_id,
                owner_id=actor.owner_id,
                meta={"training_id": row.id, "strength": cell.strength},
            ),
        )
        entry = {
            "n": cell.n,
            "prompt": cell.prompt,
            "strength": cell.strength,
            "seed": cell.seed,
            "key": asset.key,
            "asset_id": asset.id,
            "provider": provider.name,
            "placeholder": result.provenance.placeholder,
        }
        out.append(entry)
        # Recorded cell by cell, so a retried job draws only the cells still missing.
        await asyncio.to_thread(update, services, training_id, test_grid=list(out))
    return out


async def grid_view(services: Services, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cells with a URL a person can open."""
    return [
        {**cell, "url": await asset_url(services, cell["key"])} for cell in cells if cell.get("key")
    ]
