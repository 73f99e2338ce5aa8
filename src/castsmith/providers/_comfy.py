"""ComfyUI knowledge shared by the direct client and the RunPod worker client.

Both run workflows natively and make images from a prompt only when given a builder
that turns a :class:`TextToImage` into a workflow graph; both read the same error
shapes, outputs and seeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from castsmith.providers.base import (
    Capabilities,
    ImageProvider,
    ImageResult,
    ProgressCallback,
    RunWorkflow,
    TextToImage,
)

_NOT_IN_LIST = re.compile(r"(\w+): '([^']*)' not in")
_NODE_LINE = re.compile(r"Node (\S+?)(?: \(([^)]*)\))?:")


def _is_model_input(name: str) -> bool:
    return name.endswith("_name") or name in {"ckpt_name", "unet_name", "vae_name"}


def describe_node_error(node_id: str, class_type: str, error: Mapping[str, Any]) -> str:
    """One ComfyUI per-node validation error in plain words."""
    extra = error.get("extra_info") or {}
    input_name = str(extra.get("input_name") or "")
    received = extra.get("received_value")
    kind = error.get("type", "")
    details = str(error.get("details") or "")
    where = f"node {node_id} {class_type}".strip()
    if kind == "value_not_in_list":
        match = _NOT_IN_LIST.search(details)
        if match and not input_name:
            input_name, received = match.group(1), match.group(2)
        if _is_model_input(input_name):
            return f"{where}: {input_name} '{received}' is not installed on the server"
        return f"{where}: {input_name} '{received}' is not one of the allowed values"
    if kind == "required_input_missing":
        return f"{where}: required input {input_name or details} is missing"
    text = error.get("message") or kind or "invalid"
    return f"{where}: {text}" + (f" ({details})" if details else "")


def describe_prompt_error(body: Any) -> str:
    """A ComfyUI ``POST /prompt`` 400 body in plain words, one line per failing node."""
    if not isinstance(body, dict):
        return "the server rejected the workflow"
    lines: list[str] = []
    node_errors = body.get("node_errors") or {}
    if isinstance(node_errors, dict):
        for node_id, entry in node_errors.items():
            if not isinstance(entry, dict):
                continue
            for error in entry.get("errors") or []:
                if isinstance(error, dict):
                    lines.append(
                        describe_node_error(str(node_id), entry.get("class_type", ""), error)
                    )
    if lines:
        return "; ".join(lines)
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or "invalid workflow")
        details = str(error.get("details") or "")
        kind = error.get("type", "")
        if kind == "prompt_no_outputs":
            return "the workflow has no output node (add a SaveImage node)"
        return message + (f": {details}" if details else "")
    return "the server rejected the workflow"


def describe_worker_validation(text: str) -> str:
    """worker-comfyui's "Workflow validation failed" text (Python repr) in plain words."""
    lines: list[str] = []
    for line in text.splitlines():
        node = _NODE_LINE.search(line)
        match = _NOT_IN_LIST.search(line)
        if node and match and _is_model_input(match.group(1)):
            lines.append(
                f"node {node.group(1)}: {match.group(1)} '{match.group(2)}' "
                "is not installed on the server"
            )
        elif node:
            lines.append(line.strip("• ").strip())
    if not lines:
        return " ".join(text.split())[:400]
    return "workflow validation failed: " + "; ".join(lines)


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
        self, request: TextToImage, progress: ProgressCallback | None = None
    ) -> ImageResult:
        """Build a workflow for the prompt (when a builder was given) and run it."""
        if self.workflow_builder is None:
            return await super().text_to_image(request, progress)
        return await self.run_workflow(RunWorkflow(self.workflow_builder(request)), progress)
