"""ComfyUI knowledge shared by the direct client and the RunPod worker client.

Both run workflows natively and make images from a prompt only when given a builder
that turns a :class:`TextToImage` into a workflow graph; both read the same error
shapes, outputs and seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from castsmith.domain.errors import InvalidRequest, ProviderError
from castsmith.providers._comfy_errors import describe_prompt_error
from castsmith.providers.base import (
    Capabilities,
    ImageProvider,
    ImageResult,
    ProgressCallback,
    RemoteCall,
    RunWorkflow,
    TextToImage,
)


def output_images(outputs: Any) -> list[dict[str, str]]:
    """``{filename, subfolder, type}`` of every non-temp image in history ``outputs``."""
    found: list[dict[str, str]] = []
    if not isinstance(outputs, dict):
        return found
    for node_output in outputs.values():
        if not isinstance(node_output, dict):
            continue
        for image in node_output.get("images") or []:
            if isinstance(image, dict) and image.get("type", "output") != "temp":
                found.append(
                    {
                        "filename": str(image.get("filename", "")),
                        "subfolder": str(image.get("subfolder", "")),
                        "type": str(image.get("type", "output")),
                    }
                )
    return found


def graph_seed(workflow: Mapping[str, Any]) -> int | None:
    """The sampler seed in an API-format graph (KSampler seed or RandomNoise noise_seed)."""
    for node in workflow.values():
        if not isinstance(node, dict):
            continue
        inputs = node.get("inputs") or {}
        for key in ("seed", "noise_seed"):
            value = inputs.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


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
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Build a workflow for the prompt (when a builder was given) and run it."""
        if self.workflow_builder is None:
            return await super().text_to_image(request, progress)
        return await self.run_workflow(
            RunWorkflow(self.workflow_builder(request)), progress, remote=remote
        )


def classify_prompt_error(response: httpx.Response, reason: str) -> ProviderError | None:
    """A 400 from ``POST /prompt`` lists failing nodes; say which, in plain words."""
    if response.status_code == 400 and response.request.url.path.endswith("/prompt"):
        try:
            body = response.json()
        except ValueError:
            body = None
        return InvalidRequest(
            f"comfyui rejected the workflow: {describe_prompt_error(body)}", "comfyui"
        )
    return None


def rename_inputs(workflow: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """Point nodes that load an uploaded name at the name the server stored it under."""
    if not renames:
        return workflow
    renamed: dict[str, Any] = {}
    for node_id, node in workflow.items():
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
            inputs = {
                k: (renames.get(v, v) if isinstance(v, str) else v)
                for k, v in node["inputs"].items()
            }
            node = {**node, "inputs": inputs}
        renamed[node_id] = node
    return renamed


def queue_prompt_ids(entries: Any) -> set[str]:
    """Prompt ids in a ``/queue`` list (each entry ``[number, prompt_id, prompt, ...]``)."""
    if not isinstance(entries, list):
        return set()
    return {str(e[1]) for e in entries if isinstance(e, list) and len(e) > 1}
