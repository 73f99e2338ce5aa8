"""``castsmith posters generate --no-make-current`` and the parameter options."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_a_draft_from_the_cli_keeps_the_current_poster(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    code, out = run(tmp_path, "actors", "create", "0001_cli_draft", "--description", "a pilot")
    assert code == 0, out
    code, out = run(tmp_path, "posters", "generate", "0001_cli_draft", "--width", "512")
    assert code == 0 and "poster version 1" in out and "not made current" not in out, out

    code, out = run(
        tmp_path,
        "posters",
        "generate",
        "0001_cli_draft",
        "--no-make-current",
        "--guidance",
        "5.5",
        "--teacache",
        "off",
        "--steps",
        "9",
        "--seed",
        "31",
        "--width",
        "512",
        "--height",
        "768",
    )
    assert code == 0, out
    assert "poster version 2 (not made current)" in out

    code, out = run(tmp_path, "posters", "list", "0001_cli_draft", "--json")
    versions = json.loads(out)
    assert [(v["version"], v["is_current"]) for v in versions] == [(2, False), (1, True)]
    params = versions[0]["params"]
    assert (params["guidance"], params["teacache"], params["steps"]) == (5.5, "off", 9)
    assert (params["seed"], params["width"], params["height"]) == (31, 512, 768)

    code, out = run(tmp_path, "posters", "generate", "0001_cli_draft", "--teacache", "fast")
    assert code == 1 and "--teacache" in out, out
    code, out = run(tmp_path, "posters", "generate", "0001_cli_draft", "--style-strength", "99")
    assert code == 1 and "style_lora_strength" in out, out
