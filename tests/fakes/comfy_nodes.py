"""What the fake ComfyUI and the fake worker-comfyui know about nodes and model files.

Both validate a prompt the way ComfyUI 0.8 does (see the contract appendix): a node
class the server lacks fails the whole prompt with ``invalid_prompt``; a loader whose
file is not installed fails with ``value_not_in_list`` per node; a prompt without an
output node fails with ``prompt_no_outputs``. ``/object_info`` lists the classes and,
for loaders, the installed files in the old ``[[options], {}]`` form.
worker-comfyui's texts are built from those bodies as the worker builds them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

OUTPUT_NODES = {"SaveImage", "PreviewImage"}

#: Loader class -> its inputs that name a model file.
LOADERS: dict[str, tuple[str, ...]] = {
    "UNETLoader": ("unet_name",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "DualCLIPLoader": ("clip_name1", "clip_name2"),
    "VAELoader": ("vae_name",),
    "LoraLoader": ("lora_name",),
    "LoraLoaderModelOnly": ("lora_name",),
}

CORE_NODES = frozenset(
    {
        *LOADERS,
        *OUTPUT_NODES,
        "CLIPTextEncode",
        "FluxGuidance",
        "EmptySD3LatentImage",
        "EmptyLatentImage",
        "KSampler",
        "VAEDecode",
        "LoadImage",
    }
)

#: The files a freshly set-up FLUX server has (the default poster workflow's).
DEFAULT_MODELS = frozenset(
    {
        "flux1-dev-fp8.safetensors",
        "t5xxl_fp8_e4m3fn.safetensors",
        "t5.safetensors",
        "clip_l.safetensors",
        "ae.safetensors",
        "SBai_style_101.safetensors",
    }
)


def object_info(classes: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
    """A ``/object_info`` answer for ``classes``, loaders offering ``models``."""
    offered = sorted(models)
    info: dict[str, Any] = {}
    for name in sorted(classes):
        required: dict[str, Any] = {}
        for input_name in LOADERS.get(name, ()):
            required[input_name] = [list(offered), {}]
        if name.startswith(("TeaCache", "Lora")):
            required["model"] = ["MODEL"]
        info[name] = {
            "input": {"required": required, "optional": {}},
            "output": ["MODEL"],
            "name": name,
            "display_name": name,
            "category": "loaders" if name in LOADERS else "sampling",
            "output_node": name in OUTPUT_NODES,
        }
    return info


def _failure(kind: str, message: str, details: str = "") -> dict[str, Any]:
    return {
        "error": {"type": kind, "message": message, "details": details, "extra_info": {}},
        "node_errors": {},
    }


def validate(prompt: Any, classes: set[str], models: set[str]) -> dict[str, Any] | None:
    """ComfyUI's 400 body for ``prompt``, or None when it would be queued."""
    if not isinstance(prompt, dict):
        return _failure("no_prompt", "No prompt provided")
    for node_id, node in prompt.items():
        class_type = node.get("class_type")
        if class_type not in classes:
            return _failure(
                "invalid_prompt",
                f"Cannot execute because node {class_type} does not exist.",
                f"Node ID '#{node_id}'",
            )
    if not any(n.get("class_type") in OUTPUT_NODES for n in prompt.values()):
        return _failure("prompt_no_outputs", "Prompt has no outputs")
    node_errors: dict[str, Any] = {}
    for node_id, node in prompt.items():
        errors = []
        for key in LOADERS.get(node.get("class_type", ""), ()):
            value = (node.get("inputs") or {}).get(key)
            if value not in models:
                errors.append(
                    {
                        "type": "value_not_in_list",
                        "message": "Value not in list",
                        "details": f"{key}: '{value}' not in {sorted(models)}",
                        "extra_info": {
                            "input_name": key,
                            "input_config": [sorted(models), {}],
                            "received_value": value,
                        },
                    }
                )
        if errors:
            node_errors[node_id] = {
                "errors": errors,
                "dependent_outputs": [
                    k for k, n in prompt.items() if n["class_type"] in OUTPUT_NODES
                ],
                "class_type": node.get("class_type"),
            }
    if node_errors:
        body = _failure("prompt_outputs_failed_validation", "Prompt outputs failed validation")
        body["node_errors"] = node_errors
        return body
    return None


def worker_text(body: Mapping[str, Any]) -> str:
    """The ``error`` text worker-comfyui 5.x makes of a ComfyUI 400 body."""
    node_errors = body.get("node_errors") or {}
    if node_errors:
        details = [
            f"Node {node_id} ({key}): {value}"
            for node_id, entry in node_errors.items()
            for key, value in entry.items()
        ]
        return "Workflow validation failed:\n" + "\n".join(f"• {d}" for d in details)
    message = body["error"]["message"]
    return f"{message}. Raw response: {json.dumps(body)}"
