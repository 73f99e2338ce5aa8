"""ComfyUI's validation errors in plain words, from the server itself or through the worker.

ComfyUI answers a bad ``POST /prompt`` with a JSON body (``node_errors`` per node);
worker-comfyui turns the same body into text: ``Workflow validation failed:`` and one
``• Node <id> (<key>): <value>`` line per key of each node's entry, the values being
Python reprs. :func:`describe_worker_error` reads those texts back into the body's
shape so both clients say the same thing: every missing model file with its node,
whole, never cut off.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NOT_IN_LIST = re.compile(r"(\w+): '([^']*)' not in")
_WORKER_LINE = re.compile(r"^\W*Node (\S+?) \(([^)]*)\): (.*)$")
_UNKNOWN_NODE = re.compile(r"node (\S+?) does not exist", re.I)
_RAW = "Raw response:"
_MODEL_INPUT = re.compile(r"_name\d*$")  # unet_name, lora_name, clip_name1 ...


def is_model_input(name: str) -> bool:
    """True for loader inputs that name a model file (``unet_name``, ``lora_name`` ...)."""
    return bool(_MODEL_INPUT.search(name)) and name != "sampler_name"


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
        if is_model_input(input_name):
            return f"{where}: {input_name} '{received}' is not installed on the server"
        return f"{where}: {input_name} '{received}' is not one of the allowed values"
    if kind == "required_input_missing":
        return f"{where}: required input {input_name or details} is missing"
    text = error.get("message") or kind or "invalid"
    return f"{where}: {text}" + (f" ({details})" if details else "")


def _node_lines(node_errors: Any) -> list[str]:
    lines: list[str] = []
    if not isinstance(node_errors, dict):
        return lines
    for node_id, entry in node_errors.items():
        if not isinstance(entry, dict):
            continue
        for error in entry.get("errors") or []:
            if isinstance(error, dict):
                lines.append(describe_node_error(str(node_id), entry.get("class_type", ""), error))
    return lines


def describe_prompt_error(body: Any) -> str:
    """A ComfyUI ``POST /prompt`` 400 body in plain words, one line per failing node."""
    if not isinstance(body, dict):
        return "the server rejected the workflow"
    lines = _node_lines(body.get("node_errors"))
    if lines:
        return "; ".join(lines)
    error = body.get("error")
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("type") or "invalid workflow")
        details = str(error.get("details") or "")
        kind = error.get("type", "")
        if kind == "prompt_no_outputs":
            return "the workflow has no output node (add a SaveImage node)"
        if kind == "invalid_prompt" and (unknown := _UNKNOWN_NODE.search(message)):
            return unknown_node(unknown.group(1))
        return message + (f": {details}" if details else "")
    return "the server rejected the workflow"


def unknown_node(class_type: str) -> str:
    """The message for a node class the server does not have."""
    return (
        f"the server has no node {class_type.rstrip('.')} "
        "(a custom node the workflow needs is not installed)"
    )


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def describe_worker_validation(text: str) -> str:
    """worker-comfyui's "Workflow validation failed" text in plain words, nothing cut off."""
    node_errors: dict[str, dict[str, Any]] = {}
    loose: list[str] = []
    for line in text.splitlines():
        match = _WORKER_LINE.match(line.strip())
        if not match:
            continue
        node_id, key, value = match.groups()
        entry = node_errors.setdefault(node_id, {"errors": [], "class_type": ""})
        if key == "errors":
            parsed = _literal(value)
            if isinstance(parsed, list) and all(isinstance(e, dict) for e in parsed):
                entry["errors"].extend(parsed)
            else:
                # Not a repr we can read: keep every "x: 'file' not in" it names.
                entry["errors"].extend(
                    {"type": "value_not_in_list", "details": f"{k}: '{v}' not in []"}
                    for k, v in _NOT_IN_LIST.findall(value)
                )
        elif key == "class_type":
            entry["class_type"] = value.strip()
        elif key != "dependent_outputs":
            loose.append(f"node {node_id} ({key}): {value.strip()}")
    lines = _node_lines(node_errors) + loose
    if not lines:
        return " ".join(text.split())
    return "workflow validation failed: " + "; ".join(lines)


@dataclass(frozen=True)
class WorkerError:
    """What a worker-comfyui failure means: the message, and whether a retry can help."""

    message: str
    permanent: bool
    missing_node: str | None = None  # the node class the server lacks, if that is why


def describe_worker_error(text: str, details: Any = None) -> WorkerError:
    """A FAILED worker-comfyui job's ``error`` (and ``output.details``) in plain words."""
    flat = " ".join(text.split())
    extra = ""
    if isinstance(details, list) and details:
        extra = ": " + "; ".join(" ".join(str(d).split()) for d in details)
    if text.startswith("Workflow validation failed"):
        return WorkerError(describe_worker_validation(text), True)
    if (unknown := _UNKNOWN_NODE.search(flat)) and "execute" in flat.lower():
        body = _literal_json(flat.partition(_RAW)[2])
        message = describe_prompt_error(body) if body else unknown_node(unknown.group(1))
        return WorkerError(message, True, unknown.group(1).rstrip("."))
    lowered = flat.lower()
    if "not reachable" in lowered:
        return WorkerError(f"the worker's ComfyUI did not answer ({flat})", False)
    if lowered.startswith("job processing failed"):
        return WorkerError(f"the workflow failed while running on the worker{extra}", False)
    if "missing 'workflow'" in lowered or "must be a list of objects" in lowered:
        return WorkerError(flat, True)
    if lowered.startswith("failed to upload"):
        return WorkerError(f"the worker could not take the input images{extra}", True)
    return WorkerError(flat + extra, False)


def _literal_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return _literal(text)
