"""Missing models and nodes, said clearly by both ComfyUI clients; TeaCache is optional.

The direct client reads the fake server's ``/object_info`` before queueing; the RunPod
client reads worker-comfyui's own error texts (the fake worker builds them as the real
worker 5.8 does). Both name every missing file with its node, nothing cut off.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from castsmith.domain.errors import InvalidRequest, ProviderUnavailable
from castsmith.providers.base import InputImage, RunWorkflow
from castsmith.providers.comfyui import ComfyUIProvider
from castsmith.providers.runpod import RunPodProvider
from castsmith.workflows.poster_frame import LoraSpec, PosterParams, build_poster_workflow
from tests.fakes import FakeComfyUI, FakeRunPod

TEACACHE = frozenset({"TeaCache", "TeaCacheForImgGen"})
LONG_LORAS = [f"character_{n:04}_{'very_long_descriptive_name_' * 3}v{n}" for n in range(6)]


def poster(**overrides: Any) -> dict[str, Any]:
    params = PosterParams("a knight in silver armour", seed=3, **overrides)
    return build_poster_workflow(params)


def comfy(http: httpx.AsyncClient, fake: FakeComfyUI) -> ComfyUIProvider:
    return ComfyUIProvider(http, base_url=fake.url, timeout=2.0, poll_interval=0.01)


def runpod(http: httpx.AsyncClient, fake: FakeRunPod, **kw: Any) -> RunPodProvider:
    return RunPodProvider(
        http,
        api_key=fake.api_key,
        endpoint_url=fake.base,
        poll_interval=0.01,
        poll_max_interval=0.02,
        timeout=2.0,
        **kw,
    )


def class_of(graph: dict[str, Any], node_id: str) -> str:
    return str(graph[node_id]["class_type"])


async def test_comfyui_refuses_before_queueing_naming_every_missing_file(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.missing_models = {"flux1-dev-fp8.safetensors", "ae.safetensors"}
    graph = poster(character_lora=LoraSpec("0007_actor", 1.0, 1.0))
    with pytest.raises(InvalidRequest) as caught:
        await comfy(http, comfy_fake).run_workflow(RunWorkflow(graph))
    message = str(caught.value)
    assert "node 1 UNETLoader: unet_name 'flux1-dev-fp8.safetensors' is not installed" in message
    assert "node 3 VAELoader: vae_name 'ae.safetensors' is not installed" in message
    assert "lora_name '0007_actor.safetensors' is not installed" in message
    assert comfy_fake.calls_to("/prompt") == []  # nothing queued, nothing to pay for


async def test_comfyui_draws_without_teacache_when_it_is_absent_and_notes_it(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.node_classes.discard("TeaCache")
    graph = poster()
    teacache = next(k for k in graph if class_of(graph, k) == "TeaCache")
    fed_by = graph[teacache]["inputs"]["model"]
    result = await comfy(http, comfy_fake).run_workflow(RunWorkflow(graph, optional_nodes=TEACACHE))
    assert result.images and result.images[0].data.startswith(b"\x89PNG")
    assert result.provenance.notes == ("TeaCache is not installed on the server; drawn without it",)
    (queued,) = comfy_fake.prompts.values()
    assert "TeaCache" not in {n["class_type"] for n in queued.values()}
    sampler = next(n for n in queued.values() if n["class_type"] == "KSampler")
    assert sampler["inputs"]["model"] == fed_by  # the LoRA stack feeds the sampler directly


async def test_comfyui_refuses_an_explicit_teacache_the_server_lacks(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.node_classes.discard("TeaCacheForImgGen")
    with pytest.raises(InvalidRequest) as caught:
        await comfy(http, comfy_fake).run_workflow(RunWorkflow(poster(teacache="legacy")))
    assert "the server has no node TeaCacheForImgGen" in str(caught.value)
    assert comfy_fake.calls_to("/prompt") == []


async def test_object_info_is_read_once_and_again_after_a_validation_failure(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    provider = comfy(http, comfy_fake)
    await provider.run_workflow(RunWorkflow(poster()))
    await provider.run_workflow(RunWorkflow(poster()))
    assert len(comfy_fake.calls_to("/object_info")) == 1
    # The server rejects a prompt the preflight let through: read the list again.
    comfy_fake.script("/prompt", status=400, json={"error": {"type": "x", "message": "no"}})
    with pytest.raises(InvalidRequest):
        await provider.run_workflow(RunWorkflow(poster()))
    await provider.run_workflow(RunWorkflow(poster()))
    assert len(comfy_fake.calls_to("/object_info")) == 2


async def test_without_object_info_the_server_still_has_the_last_word(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.script("/object_info", status=404, body=b"", times=5)
    comfy_fake.missing_models = {"ae.safetensors"}
    with pytest.raises(InvalidRequest) as caught:
        await comfy(http, comfy_fake).run_workflow(RunWorkflow(poster()))
    assert "node 3 VAELoader: vae_name 'ae.safetensors' is not installed" in str(caught.value)
    assert len(comfy_fake.calls_to("/prompt")) == 1


async def test_the_preflight_lists_what_the_poster_needs(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.missing_models = {"clip_l.safetensors"}
    checked = await comfy(http, comfy_fake).preflight(poster())
    assert checked is not None
    assert {f.file for f in checked.needed_files} == {
        "flux1-dev-fp8.safetensors",
        "t5xxl_fp8_e4m3fn.safetensors",
        "clip_l.safetensors",
        "ae.safetensors",
        "SBai_style_101.safetensors",
    }
    assert [f.file for f in checked.missing_files] == ["clip_l.safetensors"]
    assert checked.missing_nodes == ()


async def test_worker_names_every_missing_file_and_node_in_full(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.missing_models = {
        "flux1-dev-fp8.safetensors",
        *(f"{n}.safetensors" for n in LONG_LORAS),
    }
    graph = poster(lora_clip=False)
    # Six long LoRA names: far more than any length cap would keep.
    for index, name in enumerate(LONG_LORAS):
        graph[f"9{index}"] = {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"model": ["1", 0], "lora_name": f"{name}.safetensors", "strength_model": 1},
        }
    with pytest.raises(InvalidRequest) as caught:
        await runpod(http, runpod_fake).run_workflow(RunWorkflow(graph))
    message = str(caught.value)
    assert "workflow validation failed" in message
    assert "node 1 UNETLoader: unet_name 'flux1-dev-fp8.safetensors' is not installed" in message
    for index, name in enumerate(LONG_LORAS):
        assert (
            f"node 9{index} LoraLoaderModelOnly: lora_name '{name}.safetensors' is not installed"
            in message
        )
    assert "{'type'" not in message and "dependent_outputs" not in message
    assert len(message) > 500


async def test_worker_unknown_node_is_said_plainly(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.node_classes.discard("TeaCache")
    with pytest.raises(InvalidRequest) as caught:
        await runpod(http, runpod_fake).run_workflow(RunWorkflow(poster()))
    assert "the server has no node TeaCache (a custom node the workflow needs" in str(caught.value)


@pytest.mark.parametrize(
    ("knob", "words"),
    [
        ("comfy_down", "the worker's ComfyUI did not answer (ComfyUI server (127.0.0.1:8188)"),
        ("fail_execution", "failed while running on the worker: Node Type: KSampler, Node ID: 11"),
    ],
)
async def test_worker_infrastructure_failures_are_retryable_and_clear(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod, knob: str, words: str
) -> None:
    setattr(runpod_fake, knob, True)
    with pytest.raises(ProviderUnavailable) as caught:
        await runpod(http, runpod_fake).run_workflow(RunWorkflow(poster()))
    assert words in str(caught.value) and caught.value.retryable


@pytest.mark.parametrize(("mode", "limit_mb"), [("run", 10), ("runsync", 20)])
async def test_a_request_above_the_payload_limit_is_refused_before_sending(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod, mode: str, limit_mb: int
) -> None:
    # Random-looking bytes so base64 cannot shrink them: just over the limit once encoded.
    big = bytes(range(256)) * (limit_mb * 1_000_000 * 3 // 4 // 256 + 1)
    with pytest.raises(InvalidRequest) as caught:
        await runpod(http, runpod_fake, mode=mode).run_workflow(
            RunWorkflow(poster(), (InputImage(big, "face.png"),))
        )
    assert f"above the {limit_mb} MB RunPod accepts on /{mode}" in str(caught.value)
    assert runpod_fake.calls == []
    small = InputImage(b"\x89PNG" + b"0" * 1000, "face.png")
    result = await runpod(http, runpod_fake, mode=mode).run_workflow(
        RunWorkflow(poster(), (small,))
    )
    assert result.images


async def test_worker_without_teacache_draws_the_poster_without_it(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.node_classes.discard("TeaCache")
    provider = runpod(http, runpod_fake)
    result = await provider.run_workflow(RunWorkflow(poster(), optional_nodes=TEACACHE))
    assert result.images
    assert result.provenance.notes == ("TeaCache is not installed on the worker; drawn without it",)
    runs = runpod_fake.calls_to(f"/v2/{runpod_fake.endpoint_id}/run")
    assert len(runs) == 2  # refused at validation, then sent once more without it
    resent = runs[1].json()["input"]["workflow"]
    assert "TeaCache" not in {n["class_type"] for n in resent.values()}
    # The endpoint is known to lack it now: the next poster goes without it at once.
    again = await provider.run_workflow(RunWorkflow(poster(), optional_nodes=TEACACHE))
    assert again.provenance.notes == result.provenance.notes
    assert len(runpod_fake.calls_to(f"/v2/{runpod_fake.endpoint_id}/run")) == 3
