"""Offline persona data: Faker and curated templates fill the requested schema."""

from __future__ import annotations

import time

from castsmith.providers._support import conform
from castsmith.providers.base import (
    ProgressCallback,
    Provenance,
    TextProvider,
    TextRequest,
    TextResult,
    report,
)
from castsmith.providers.offline._common import MODEL, stable_seed
from castsmith.providers.offline._persona import persona_json


class OfflineText(TextProvider):
    """Persona data and image prompts from Faker and curated templates."""

    name = "offline"

    async def generate_json(
        self, request: TextRequest, progress: ProgressCallback | None = None
    ) -> TextResult:
        """Fill the requested schema with locale-aware persona data."""
        seed = request.seed if request.seed is not None else stable_seed(request.prompt)
        started = time.monotonic()
        data = persona_json(request, seed)
        await report(progress, 1.0, "persona data written")
        return TextResult(
            data=conform(data, request.schema, self.name),
            provenance=Provenance(
                provider=self.name,
                model=MODEL,
                seed=seed,
                timings={"total": round(time.monotonic() - started, 4)},
                placeholder=True,
            ),
        )

    async def check(self) -> str:
        """Always available."""
        return "built in: Faker persona data, no network needed"
