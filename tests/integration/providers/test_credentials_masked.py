"""A password in a provider's or the database's URL is not printed by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app

SECRET = "s3cret-pw"


def test_config_show_and_providers_check_mask_url_credentials(tmp_path: Path) -> None:
    env = {
        "CASTSMITH_CONFIG": str(tmp_path / "none.toml"),
        "CASTSMITH_DATA_DIR": str(tmp_path),
        # A closed loopback port: the check fails at once, without leaving the machine.
        "COMFYUI_URL": f"http://user:{SECRET}@127.0.0.1:1",
        "CASTSMITH_FLOWISE_URL": f"http://flow:{SECRET}@127.0.0.1:1",
    }
    runner = CliRunner()
    text = runner.invoke(app, ["config", "show"], env=env)
    assert text.exit_code == 0, text.output
    assert "comfyui_url" in text.output and "http://user:***@127.0.0.1:1" in text.output
    as_json = runner.invoke(app, ["config", "show", "--json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.output)
    assert shown["comfyui_url"]["value"] == "http://user:***@127.0.0.1:1"
    checked = runner.invoke(app, ["providers", "check", "comfyui"], env=env)
    assert "FAIL comfyui: could not connect" in checked.output
    for output in (text.output, as_json.output, checked.output):
        assert SECRET not in output
