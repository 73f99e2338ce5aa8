"""What the two ComfyUI-workflow providers (RunPod and ComfyUI itself) have in common.

Both run workflows natively and make images from a prompt only when given a builder
that turns a :class:`TextToImage` into a workflow graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from castsmith.providers.base import (
    Capabilities,
    ImageProvider,
    ImageResult,
    ProgressCallback,
    RunWorkflow,
    TextToImage,
)

WorkflowBuilder = Callable[[TextToImage], dict[str, Any]]


def workflow_capabilities(workflow_builder: WorkflowBuilder | None) -> Capabilities:
    """Workflows always; text-to-image only through a builder."""
    return Capabilities(text_to_image=workflow_builder is not None, workflow=True, max_images=16)


class WorkflowImageProvider(ImageProvider):
    """An image provider that runs ComfyUI workflows."""

    workflow_builder: WorkflowBuilder | None

    @property
    def model(self) -> str:
        return "comfyui-workflow"

    async def text_to_image(
        self, request: TextToImage, progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Build a workflow for the prompt (when a builder was given) and run it."""
        if self.workflow_builder is None:
            return await super().text_to_image(request, progress)
        return await self.run_workflow(RunWorkflow(self.workflow_builder(request)), progress)
