"""RunPod serverless client against the fake endpoint."""

from __future__ import annotations

import json

import httpx
import pytest

from castsmith.domain.errors import (
    InvalidRequest,
    OutputExpired,
    ProviderError,
    ProviderUnavailable,
)
from castsmith.providers.base import InputImage, RemoteCall, RunWorkflow, TextToImage
from castsmith.providers.runpod import RunPodProvider
from tests.fakes import FakeRunPod
from tests.integration.providers.workflows import flux_graph


def client(http: httpx.AsyncClient, fake: FakeRunPod, **kw: object) -> RunPodProvider:
    return RunPodProvider(
        http,
        api_key=fake.api_key,
        endpoint_url=fake.base,
        poll_interval=0.01,
        poll_max_interval=0.02,
        timeout=2.0,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("shape", ["v5", "v5_s3", "legacy_url", "legacy_base64"])
async def test_run_polls_until_completed_and_decodes_each_output_shape(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod, shape: str
) -> None:
    runpod_fake.output_shape = shape
    runpod_fake.polls_before_done = 2
    progress: list[tuple[float, str]] = []

    async def on_progress(fraction: float, message: str) -> None:
        progress.append((fraction, message))

    face = InputImage(b"\x89PNGface", "face.png")
    result = await client(http, runpod_fake).run_workflow(
        RunWorkflow(flux_graph(seed=7), (face,)), on_progress
    )
    assert result.images[0].data.startswith(b"\x89PNG")
    assert result.provenance.seed == 7 and result.provenance.provider_job_id
    assert progress and all(0 <= f <= 1 for f, _ in progress)
    submitted = runpod_fake.calls_to(f"/v2/{runpod_fake.endpoint_id}/run")[0].json()
    assert submitted["input"]["workflow"]["11"]["inputs"]["seed"] == 7
    assert submitted["input"]["images"][0]["name"] == "face.png"
    assert len(runpod_fake.calls_to("/v2/ep-test/status/")) == 3


async def test_runsync_falls_back_to_polling_when_unfinished(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.runsync_finishes = False
    result = await client(http, runpod_fake, mode="runsync").run_workflow(RunWorkflow(flux_graph()))
    assert result.provenance.provider_job_id.startswith("sync-")  # type: ignore[union-attr]
    assert runpod_fake.calls_to("/v2/ep-test/runsync") and runpod_fake.calls_to(
        "/v2/ep-test/status/"
    )


async def test_runsync_finished_answer_needs_no_poll(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    result = await client(http, runpod_fake, mode="runsync").run_workflow(RunWorkflow(flux_graph()))
    assert len(result.images) == 1
    assert not runpod_fake.calls_to("/v2/ep-test/status/")


@pytest.mark.parametrize(
    ("end", "error", "words"),
    [
        (
            "FAILED",
            "Workflow validation failed:\n• Node 1 (errors): [{'type': 'value_not_in_list', "
            "'details': \"unet_name: 'flux1-dev-fp8.safetensors' not in []\"}]",
            "node 1: unet_name 'flux1-dev-fp8.safetensors' is not installed on the server",
        ),
        ("FAILED", "Missing 'workflow' parameter", "Missing 'workflow' parameter"),
    ],
)
async def test_failed_validation_is_invalid_request_in_plain_words(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod, end: str, error: str, words: str
) -> None:
    runpod_fake.finish_next(end, error)
    with pytest.raises(InvalidRequest) as caught:
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    assert words in str(caught.value)


async def test_json_encoded_exception_and_timeouts_are_retryable(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    encoded = json.dumps(
        {
            "error_type": "<class 'RuntimeError'>",
            "error_message": "CUDA out of memory",
            "error_traceback": "...",
            "hostname": "h",
            "worker_id": "w",
        }
    )
    runpod_fake.finish_next("FAILED", encoded)
    with pytest.raises(ProviderUnavailable, match="CUDA out of memory"):
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    runpod_fake.finish_next("TIMED_OUT")
    with pytest.raises(ProviderUnavailable, match="timed out"):
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    runpod_fake.finish_next("CANCELLED")
    with pytest.raises(ProviderError, match="cancelled") as caught:
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    assert not caught.value.retryable


async def test_status_error_inside_completed_and_missing_output(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.output_shape = "legacy_error"
    with pytest.raises(ProviderUnavailable, match="does not exist"):
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    runpod_fake.output_shape = "none"
    with pytest.raises(ProviderUnavailable, match="without output"):
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))
    runpod_fake.output_shape = "no_images"
    with pytest.raises(InvalidRequest, match="SaveImage"):
        await client(http, runpod_fake).run_workflow(RunWorkflow(flux_graph()))


async def test_expired_job_and_expired_s3_output(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.polls_before_done = 50
    provider = client(http, runpod_fake)
    runpod_fake.script("/v2/ep-test/status/", status=404, json={"error": "request does not exist"})
    with pytest.raises(OutputExpired, match="no longer known"):
        await provider.run_workflow(RunWorkflow(flux_graph()))
    runpod_fake.polls_before_done = 0
    runpod_fake.output_shape = "v5_s3"
    runpod_fake.expire_files(403)
    with pytest.raises(OutputExpired, match="403"):
        await provider.run_workflow(RunWorkflow(flux_graph()))


async def test_cancel_and_check(http: httpx.AsyncClient, runpod_fake: FakeRunPod) -> None:
    provider = client(http, runpod_fake)
    response = await http.post(
        f"{runpod_fake.base}/run",
        json={"input": {"workflow": {}}},
        headers={"Authorization": f"Bearer {runpod_fake.api_key}"},
    )
    job_id = response.json()["id"]
    await provider.cancel(job_id)
    assert runpod_fake.jobs[job_id]["status"] == "CANCELLED"
    assert "idle" in await provider.check()


async def test_bad_key_and_unknown_endpoint(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    bad = RunPodProvider(http, api_key="wrong-key-999", endpoint_url=runpod_fake.base)
    with pytest.raises(InvalidRequest, match="credentials") as caught:
        await bad.run_workflow(RunWorkflow(flux_graph()))
    assert "wrong-key-999" not in str(caught.value)
    missing = RunPodProvider(
        http, api_key=runpod_fake.api_key, endpoint_url=f"{runpod_fake.url}/v2/nope"
    )
    with pytest.raises(InvalidRequest, match="endpoint not found"):
        await missing.run_workflow(RunWorkflow(flux_graph()))


async def test_text_to_image_needs_a_workflow_builder(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    with pytest.raises(InvalidRequest, match="runpod cannot make images from text"):
        await client(http, runpod_fake).text_to_image(TextToImage("a fox"))
    built = client(http, runpod_fake, workflow_builder=lambda r: flux_graph(r.prompt, r.seed or 1))
    result = await built.text_to_image(TextToImage("a fox", seed=5))
    assert result.provenance.seed == 5


def test_endpoint_id_gives_the_production_url() -> None:
    provider = RunPodProvider(httpx.AsyncClient(), api_key="k", endpoint_id="abc123")
    assert provider.base == "https://api.runpod.ai/v2/abc123"


async def test_the_remote_id_is_recorded_before_waiting_and_a_resume_submits_nothing(
    http: httpx.AsyncClient, runpod_fake: FakeRunPod
) -> None:
    runpod_fake.polls_before_done = 3
    polls_at_record: list[int] = []

    async def submitted(job_id: str) -> None:
        polls_at_record.append(len(runpod_fake.calls_to("/v2/ep-test/status/")))

    first = await client(http, runpod_fake).run_workflow(
        RunWorkflow(flux_graph()), remote=RemoteCall(on_submitted=submitted)
    )
    assert polls_at_record == [0]  # recorded before the first status poll
    job_id = first.provenance.provider_job_id
    assert job_id
    again = await client(http, runpod_fake).run_workflow(
        RunWorkflow(flux_graph()), remote=RemoteCall(resume_id=job_id)
    )
    assert again.provenance.provider_job_id == job_id and again.images
    assert len(runpod_fake.calls_to("/v2/ep-test/run")) == 1
