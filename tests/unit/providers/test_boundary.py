"""The shared boundary helpers: Retry-After, JSON extraction, ComfyUI wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from castsmith.providers._comfy_errors import describe_prompt_error, describe_worker_validation
from castsmith.providers._http import extract_json, parse_retry_after
from castsmith.providers._support import closest_ratio, size_for_ratio


def test_retry_after_forms() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "12"})) == 12
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert parse_retry_after(httpx.Headers({})) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=5), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past})) == 0


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Sure, here it is: {"a": 1} enjoy',
        '```\n{"a": 1}\n```',
    ],
)
def test_extract_json(text: str) -> None:
    assert extract_json(text) == {"a": 1}


def test_comfy_validation_in_plain_words() -> None:
    body = {
        "error": {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
        },
        "node_errors": {
            "1": {
                "class_type": "UNETLoader",
                "errors": [
                    {
                        "type": "value_not_in_list",
                        "details": "unet_name: 'f.safetensors' not in []",
                        "extra_info": {
                            "input_name": "unet_name",
                            "received_value": "f.safetensors",
                        },
                    }
                ],
            },
            "4": {
                "class_type": "LoraLoaderModelOnly",
                "errors": [
                    {
                        "type": "required_input_missing",
                        "message": "Required input is missing",
                        "extra_info": {"input_name": "model"},
                    }
                ],
            },
        },
    }
    assert describe_prompt_error(body) == (
        "node 1 UNETLoader: unet_name 'f.safetensors' is not installed on the server; "
        "node 4 LoraLoaderModelOnly: required input model is missing"
    )
    assert "SaveImage" in describe_prompt_error(
        {"error": {"type": "prompt_no_outputs", "message": "x"}}
    )
    worker = (
        "Workflow validation failed:\n• Node 3 (errors): [{'type': 'value_not_in_list', "
        "'details': \"ckpt_name: 'x.safetensors' not in []\"}]"
    )
    assert describe_worker_validation(worker) == (
        "workflow validation failed: node 3: ckpt_name 'x.safetensors' "
        "is not installed on the server"
    )


def test_sizes_and_ratios() -> None:
    assert closest_ratio(1920, 1080) == "16:9"
    assert closest_ratio(None, None) == "1:1"
    assert size_for_ratio("16:9") == (1024, 576)
    assert size_for_ratio("2:3") == (688, 1024)


def test_worker_validation_text_reads_back_every_error_of_every_node() -> None:
    # The shape worker-comfyui 5.x writes: one line per key of each node's entry.
    worker = (
        "Workflow validation failed:\n"
        "• Node 2 (errors): [{'type': 'value_not_in_list', 'message': 'Value not in list', "
        "'details': \"clip_name1: 't5.safetensors' not in []\", 'extra_info': "
        "{'input_name': 'clip_name1', 'received_value': 't5.safetensors'}}, "
        "{'type': 'value_not_in_list', 'message': 'Value not in list', "
        "'details': \"clip_name2: 'clip_l.safetensors' not in []\", 'extra_info': "
        "{'input_name': 'clip_name2', 'received_value': 'clip_l.safetensors'}}]\n"
        "• Node 2 (dependent_outputs): ['13']\n"
        "• Node 2 (class_type): DualCLIPLoader\n"
        "• Node 11 (errors): [{'type': 'value_not_in_list', 'details': "
        "\"sampler_name: 'fast' not in ['euler']\", 'extra_info': {}}]\n"
        "• Node 11 (class_type): KSampler"
    )
    assert describe_worker_validation(worker) == (
        "workflow validation failed: "
        "node 2 DualCLIPLoader: clip_name1 't5.safetensors' is not installed on the server; "
        "node 2 DualCLIPLoader: clip_name2 'clip_l.safetensors' is not installed on the server; "
        "node 11 KSampler: sampler_name 'fast' is not one of the allowed values"
    )
