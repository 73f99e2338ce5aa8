"""Check a workflow against what a ComfyUI server offers, before anything is queued.

ComfyUI's ``/object_info`` lists every node class and, for loaders, the model files
on the server (old form ``[[options], {...}]``, newer ``["COMBO", {"options": [...]}]``).
:func:`preflight` compares a workflow with it: the node classes the server lacks and
the model files it does not offer. :func:`bypass` takes an optional node (TeaCache, a
speed-up the picture does not need) out of the graph, wiring its consumers to the
model it was given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from castsmith.providers._comfy_errors import is_model_input, unknown_node


@dataclass(frozen=True)
class ServerNodes:
    """The node classes a server has and the values its list inputs offer."""

    classes: frozenset[str]
    options: Mapping[tuple[str, str], frozenset[str]]

    @classmethod
    def parse(cls, body: Any) -> ServerNodes | None:
        """Read an ``/object_info`` answer; None when it is not one."""
        if not isinstance(body, dict) or not body:
            return None
        options: dict[tuple[str, str], frozenset[str]] = {}
        for class_type, spec in body.items():
            inputs = spec.get("input") if isinstance(spec, dict) else None
            if not isinstance(inputs, dict):
                continue
            for group in ("required", "optional"):
                for name, config in (inputs.get(group) or {}).items():
                    offered = _offered(config)
                    if offered is not None:
                        options[(str(class_type), str(name))] = offered
        return cls(frozenset(str(k) for k in body), options)


def _offered(config: Any) -> frozenset[str] | None:
    if not isinstance(config, list) or not config:
        return None
    head = config[0]
    if isinstance(head, list):
        return frozenset(str(v) for v in head)
    if head == "COMBO" and len(config) > 1 and isinstance(config[1], dict):
        values = config[1].get("options")
        return frozenset(str(v) for v in values) if isinstance(values, list) else None
    return None


@dataclass(frozen=True)
class ModelFile:
    """One model file a workflow's loader names."""

    node_id: str
    class_type: str
    input_name: str
    file: str

    def missing(self) -> str:
        """The line that says this file is not on the server."""
        return (
            f"node {self.node_id} {self.class_type}: {self.input_name} '{self.file}' "
            "is not installed on the server"
        )


@dataclass(frozen=True)
class Preflight:
    """What a workflow needs from a server and what the server lacks."""

    needed_files: tuple[ModelFile, ...]
    missing_files: tuple[ModelFile, ...]
    missing_nodes: tuple[tuple[str, str], ...]  # (node id, class type)

    def refusal(self, optional: Iterable[str] = ()) -> str | None:
        """Why the workflow cannot run here (every missing file and node), or None."""
        droppable = set(optional)
        lines = [m.missing() for m in self.missing_files]
        lines += [
            f"node {node_id}: {unknown_node(class_type)}"
            for node_id, class_type in self.missing_nodes
            if class_type not in droppable
        ]
        return "; ".join(lines) or None

    def droppable(self, optional: Iterable[str]) -> list[tuple[str, str]]:
        """The missing nodes that ``optional`` allows taking out."""
        allowed = set(optional)
        return [(i, c) for i, c in self.missing_nodes if c in allowed]


def preflight(workflow: Mapping[str, Any], server: ServerNodes) -> Preflight:
    """Compare ``workflow`` with what ``server`` offers."""
    needed: list[ModelFile] = []
    missing: list[ModelFile] = []
    absent: list[tuple[str, str]] = []
    for node_id, node in workflow.items():
        if not isinstance(node, dict):
            continue
        class_type = str(node.get("class_type", ""))
        if class_type not in server.classes:
            absent.append((str(node_id), class_type))
            continue
        for name, value in (node.get("inputs") or {}).items():
            offered = server.options.get((class_type, name))
            if offered is None or not isinstance(value, str) or not is_model_input(name):
                continue
            wanted = ModelFile(str(node_id), class_type, name, value)
            needed.append(wanted)
            if value not in offered:
                missing.append(wanted)
    return Preflight(tuple(needed), tuple(missing), tuple(absent))


def bypass(workflow: Mapping[str, Any], node_ids: Iterable[str]) -> dict[str, Any]:
    """``workflow`` without ``node_ids``; links to a removed node go to its ``model`` input."""
    removed = {str(i) for i in node_ids}
    source: dict[str, Any] = {}
    for node_id in removed:
        link = (workflow.get(node_id) or {}).get("inputs", {}).get("model")
        source[node_id] = link
    # A removed node fed by another removed node: follow the chain to a kept one.
    for node_id in removed:
        link = source[node_id]
        for _ in range(len(removed)):
            if isinstance(link, list) and len(link) == 2 and str(link[0]) in removed:
                link = source[str(link[0])]
        source[node_id] = link
    kept: dict[str, Any] = {}
    for node_id, node in workflow.items():
        if str(node_id) in removed:
            continue
        inputs = dict(node.get("inputs") or {})
        for name, value in inputs.items():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) in removed:
                inputs[name] = source[str(value[0])]
        kept[node_id] = {**node, "inputs": inputs}
    return kept


def fit_to_server(
    workflow: dict[str, Any], checked: Preflight, optional: Iterable[str]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``workflow`` with the ``optional`` nodes the server lacks taken out, and a note.

    Raises ``ValueError`` naming every missing model file and required node.
    """
    refusal = checked.refusal(optional)
    if refusal is not None:
        raise ValueError(refusal)
    dropped = checked.droppable(optional)
    if not dropped:
        return workflow, ()
    names = ", ".join(sorted({class_type for _, class_type in dropped}))
    note = f"{names} is not installed on the server; drawn without it"
    return bypass(workflow, [node_id for node_id, _ in dropped]), (note,)
