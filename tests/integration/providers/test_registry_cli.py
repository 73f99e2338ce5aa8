"""Choosing providers from settings, and the generate / providers commands."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from castsmith.domain.errors import ConfigurationError, InvalidRequest
from castsmith.providers.registry import providers_from_settings
from tests.fakes import FakeRunPod
from tests.integration.providers.workflows import flux_graph


async def test_offline_is_the_default_without_keys(http: httpx.AsyncClient) -> None:
    registry = providers_from_settings(Settings(), http)
    assert registry.configured() == ["offline"]
    assert registry.default_image().name == "offline"
    assert registry.default_poster().name == "offline"
    assert registry.default_text().name == "offline"
    with pytest.raises(ConfigurationError, match="CASTSMITH_OPENAI_API_KEY"):
        registry.image("openai")
    result = await registry.check("openai")
    assert not result.ok and "not configured" in result.verdict


async def test_auto_picks_configured_remotes_and_honours_choices(http: httpx.AsyncClient) -> None:
    settings = Settings(
        openai_api_key="sk-x",
        runpod_api_key="rp",
        runpod_endpoint_id="ep",
        flowise_url="http://127.0.0.1:1",
        flowise_chatflow_id="f",
        replicate_api_token="r8",
    )
    registry = providers_from_settings(settings, http)
    assert registry.default_image().name == "openai"
    assert registry.default_poster().name == "runpod"
    assert registry.default_text().name == "openai"
    chosen = providers_from_settings(
        settings.model_copy(
            update={
                "image_provider": "replicate",
                "text_provider": "flowise",
                "poster_provider": "replicate",
            }
        ),
        http,
    )
    assert chosen.default_image().name == "replicate" and chosen.default_text().name == "flowise"
    with pytest.raises(
        InvalidRequest,
        match="replicate cannot run ComfyUI workflows; "
        "set CASTSMITH_POSTER_PROVIDER=runpod or comfyui",
    ):
        from castsmith.providers.base import RunWorkflow

        await chosen.default_poster().run_workflow(RunWorkflow(flux_graph()))
    rows = {row.name: row for row in chosen.describe()}
    assert rows["replicate"].defaults == ("image", "poster") and rows["google"].configured is False


def test_generate_offline_writes_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--prompt",
            "a woman with blonde hair",
            "--size",
            "256x256",
            "--seed",
            "2",
            "--count",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
        env={"CASTSMITH_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").glob("offline-*.png"))) == 2
    assert "placeholder art" in result.output


def test_generate_workflow_on_runpod_and_failure_exit(tmp_path: Path) -> None:
    workflow = tmp_path / "wf.json"
    import json

    workflow.write_text(json.dumps(flux_graph()))
    face = tmp_path / "face.png"
    face.write_bytes(b"\x89PNGface")
    with FakeRunPod(polls_before_done=0) as fake:
        env = {
            "CASTSMITH_DATA_DIR": str(tmp_path),
            "CASTSMITH_RUNPOD_API_KEY": fake.api_key,
            "CASTSMITH_RUNPOD_ENDPOINT_URL": fake.base,
        }
        ok = CliRunner().invoke(
            app,
            [
                "generate",
                "--provider",
                "runpod",
                "--workflow",
                str(workflow),
                "--image",
                f"face.png={face}",
                "--out",
                str(tmp_path / "out"),
            ],
            env=env,
        )
        assert ok.exit_code == 0, ok.output
        assert "job id: " in ok.output and "-u1" in ok.output
        assert (
            fake.calls_to("/v2/ep-test/run")[0].json()["input"]["images"][0]["name"] == "face.png"
        )
        fake.finish_next("FAILED", "Invalid parameter: width must be divisible by 64")
        bad = CliRunner().invoke(
            app,
            [
                "generate",
                "--provider",
                "runpod",
                "--workflow",
                str(workflow),
                "--out",
                str(tmp_path / "o2"),
            ],
            env=env,
        )
        assert bad.exit_code == 1 and "width must be divisible by 64" in bad.output
        listed = CliRunner().invoke(app, ["providers", "list"], env=env)
        assert "runpod" in listed.output and "default for: poster" in listed.output
        checked = CliRunner().invoke(app, ["providers", "check", "runpod"], env=env)
        assert checked.exit_code == 0 and "ok   runpod: endpoint reachable" in checked.output
        fake.stop()
        down = CliRunner().invoke(app, ["providers", "check"], env=env)
        assert down.exit_code == 1 and "FAIL runpod: could not connect" in down.output
        assert fake.api_key not in down.output


def test_providers_check_shows_what_the_poster_workflow_needs_and_lacks(tmp_path: Path) -> None:
    from tests.fakes import FakeComfyUI

    with FakeComfyUI() as fake:
        env = {"CASTSMITH_DATA_DIR": str(tmp_path), "CASTSMITH_COMFYUI_URL": fake.url}
        fine = CliRunner().invoke(app, ["providers", "check", "comfyui"], env=env)
        assert fine.exit_code == 0, fine.output
        assert "poster workflow needs: flux1-dev-fp8.safetensors" in fine.output
        assert "nothing missing" in fine.output
        fake.missing_models = {"ae.safetensors"}
        fake.node_classes.discard("TeaCache")
        lacking = CliRunner().invoke(app, ["providers", "check", "comfyui"], env=env)
    lines = [line.strip() for line in lacking.output.splitlines()]
    assert (
        "missing: node 3 VAELoader: vae_name 'ae.safetensors' is not installed on the server"
        in (lines)
    )
    assert any(
        line.startswith("missing: node")
        and "TeaCache (optional: posters are drawn without it)" in line
        for line in lines
    ), lines
