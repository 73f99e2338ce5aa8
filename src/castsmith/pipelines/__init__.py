"""The product's jobs; :func:`register_all` wires every pipeline's kinds into a registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castsmith.jobs.registry import HandlerRegistry


def register_all(registry: HandlerRegistry) -> None:
    """Register the job kinds of every pipeline (one line per pipeline)."""
    from castsmith.pipelines import (
        actors,
        cleanup,
        personas_jobs,
        posters,
        references,
        training_jobs,
    )

    actors.register_handlers(registry)
    posters.register_handlers(registry)
    personas_jobs.register_handlers(registry)
    training_jobs.register_handlers(registry)
    references.register_handlers(registry)
    cleanup.register_handlers(registry)
