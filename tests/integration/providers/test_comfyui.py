"""Direct ComfyUI client against the fake server (HTTP + websocket)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from castsmith.domain.errors import (
    InvalidRequest,
    OutputExpired,
    ProviderError,
    ProviderUnavailable,
)
from castsmith.providers.base import InputImage, RemoteCall, RunWorkflow
from castsmith.providers.comfyui import ComfyUIProvider
from tests.fakes import FakeComfyUI
from tests.integration.providers.workflows import flux_graph


def client(http: httpx.AsyncClient, fake: FakeComfyUI, **kw: object) -> ComfyUIProvider:
    return ComfyUIProvider(
        http,
        base_url=fake.url,
        timeout=2.0,
        poll_interval=0.01,
        poll_max_interval=0.05,
        **kw,  # type: ignore[arg-type]
    )


async def test_runs_a_workflow_with_progress_over_the_websocket(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    seen: list[tuple[float, str]] = []

    async def on_progress(fraction: float, message: str) -> None:
        seen.append((fraction, message))

    result = await client(http, comfy_fake).run_workflow(
        RunWorkflow(flux_graph(seed=9)), on_progress
    )
    assert result.images[0].data.startswith(b"\x89PNG")
    assert result.provenance.seed == 9
    assert any("step 3/3" in m for _, m in seen)
    queued = comfy_fake.calls_to("/prompt", "POST")[0].json()
    assert queued["client_id"] and queued["prompt"]["11"]["inputs"]["seed"] == 9
    # The socket ended the wait: history was read once, not polled.
    assert len(comfy_fake.calls_to("/history/")) == 1


async def test_uploads_inputs_and_uses_the_name_the_server_returns(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.uploads["face.png"] = b"other bytes"
    comfy_fake.script(
        "/upload/image", status=200, json={"name": "face (1).png", "subfolder": "", "type": "input"}
    )
    await client(http, comfy_fake).run_workflow(
        RunWorkflow(flux_graph(), (InputImage(b"\x89PNGmine", "face.png"),))
    )
    prompt = next(iter(comfy_fake.prompts.values()))
    assert prompt["14"]["inputs"]["image"] == "face (1).png"


async def test_missing_model_is_reported_in_plain_words(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.missing_models = {"flux1-dev-fp8.safetensors"}
    with pytest.raises(InvalidRequest) as caught:
        await client(http, comfy_fake).run_workflow(RunWorkflow(flux_graph()))
    assert (
        "node 1 UNETLoader: unet_name 'flux1-dev-fp8.safetensors' is not installed on the server"
        in str(caught.value)
    )


async def test_no_output_node_and_execution_error(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    graph = flux_graph()
    del graph["13"]
    with pytest.raises(InvalidRequest, match="SaveImage"):
        await client(http, comfy_fake).run_workflow(RunWorkflow(graph))
    comfy_fake.fail_execution = True
    with pytest.raises(InvalidRequest, match="node 11 KSampler: Expected all tensors"):
        await client(http, comfy_fake).run_workflow(RunWorkflow(flux_graph()))


async def test_history_fallback_when_the_socket_drops(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.drop_socket = True
    result = await client(http, comfy_fake).run_workflow(RunWorkflow(flux_graph()))
    assert len(result.images) == 1
    assert len(comfy_fake.calls_to("/history/")) >= 1


async def test_execution_error_seen_through_history_fallback(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.drop_socket = True
    comfy_fake.fail_execution = True
    with pytest.raises(InvalidRequest, match="Expected all tensors"):
        await client(http, comfy_fake).run_workflow(RunWorkflow(flux_graph()))


async def test_cancel_interrupts_a_running_prompt(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.hang = True
    provider = client(http, comfy_fake)
    task = asyncio.create_task(provider.run_workflow(RunWorkflow(flux_graph())))
    while not comfy_fake.prompts:
        await asyncio.sleep(0.01)
    await provider.cancel(next(iter(comfy_fake.prompts)))
    with pytest.raises(ProviderError, match="interrupted"):
        await task
    assert comfy_fake.calls_to("/interrupt") and not comfy_fake.calls_to("/queue", "POST")


async def test_cancel_of_a_waiting_prompt_unqueues_it_and_leaves_the_running_one(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.hang = True
    provider = client(http, comfy_fake)
    first = asyncio.create_task(provider.run_workflow(RunWorkflow(flux_graph())))
    second = asyncio.create_task(provider.run_workflow(RunWorkflow(flux_graph(seed=9))))
    while len(comfy_fake.prompts) < 2:
        await asyncio.sleep(0.01)
    running, waiting = list(comfy_fake.prompts)
    await provider.cancel(waiting)
    assert comfy_fake.deleted == [waiting] and comfy_fake.interrupted == []
    assert comfy_fake.calls_to("/interrupt") == []
    await provider.cancel(running)
    assert comfy_fake.interrupted == [running]
    first.cancel()
    second.cancel()
    # A cancelled run stops following its prompt at once (a swallowed cancellation
    # would keep the deleted prompt's run waiting for events that never come).
    async with asyncio.timeout(5):
        ended = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(e, asyncio.CancelledError | ProviderError) for e in ended)


async def test_a_resumed_prompt_is_followed_not_queued_again(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    seen: list[str] = []

    async def submitted(prompt_id: str) -> None:
        seen.append(prompt_id)

    provider = client(http, comfy_fake)
    first = await provider.run_workflow(
        RunWorkflow(flux_graph()), remote=RemoteCall(on_submitted=submitted)
    )
    assert seen == [first.provenance.provider_job_id]
    again = await client(http, comfy_fake).run_workflow(
        RunWorkflow(flux_graph()), remote=RemoteCall(resume_id=seen[0])
    )
    assert again.images[0].data == first.images[0].data
    assert len(comfy_fake.calls_to("/prompt", "POST")) == 1


async def test_slow_prompt_hits_the_overall_deadline(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.hang = True
    with pytest.raises(ProviderUnavailable, match="did not finish within"):
        await client(http, comfy_fake, max_wait=0.3).run_workflow(RunWorkflow(flux_graph()))


async def test_expired_view_and_check(http: httpx.AsyncClient, comfy_fake: FakeComfyUI) -> None:
    provider = client(http, comfy_fake)
    comfy_fake.expire_files(404)
    with pytest.raises(OutputExpired):
        await provider.run_workflow(RunWorkflow(flux_graph()))
    assert "ComfyUI 0.8.0" in await provider.check()


async def test_polls_history_when_no_websocket(
    http: httpx.AsyncClient, comfy_fake: FakeComfyUI
) -> None:
    comfy_fake.websocket_enabled = False
    result = await client(http, comfy_fake).run_workflow(RunWorkflow(flux_graph()))
    assert len(result.images) == 1
    assert not comfy_fake.sockets
