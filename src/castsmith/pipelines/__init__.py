"""The product's features; :func:`register_all` wires every feature's job kinds into a registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castsmith.jobs.registry import HandlerRegistry


def register_all(registry: HandlerRegistry) -> None:
    """Register the job kinds of every feature (one line per feature)."""
    from castsmith.pipelines.actors import jobs as actors
    from castsmith.pipelines.cleanup import jobs as cleanup
    from castsmith.pipelines.lora import jobs as lora
    from castsmith.pipelines.personas import jobs as personas
    from castsmith.pipelines.posters import jobs as posters
    from castsmith.pipelines.references import jobs as references
    from castsmith.pipelines.training import jobs as training

    actors.register_handlers(registry)
    posters.register_handlers(registry)
    personas.register_handlers(registry)
    training.register_handlers(registry)
    references.register_handlers(registry)
    cleanup.register_handlers(registry)
    lora.register_handlers(registry)
