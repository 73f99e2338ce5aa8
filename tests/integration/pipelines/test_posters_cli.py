"""``castsmith posters ...`` on the embedded default (SQLite, local store, offline)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_generate_list_regenerate_and_make_current(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    for name in ("0001_cli_actor", "0002_cli_actor"):
        code, out = run(tmp_path, "actors", "create", name, "--description", "a man in a red coat")
        assert code == 0, out

    code, out = run(
        tmp_path,
        "posters",
        "generate",
        "0001_cli_actor",
        "--steps",
        "10",
        "--seed",
        "5",
        "--width",
        "512",
        "--height",
        "512",
        "--json",
    )
    assert code == 0, out
    body = json.loads(out[out.index("{") :])
    assert body["success"] is True and body["actor_name"] == "0001_cli_actor"
    assert set(body["poster_frames"]["standard"]) == {"webp_sm", "webp_md", "webp_lg"}

    code, out = run(tmp_path, "posters", "regenerate", "--all")
    assert code == 0, out
    assert "2 of 2 posters regenerated" in out

    code, out = run(tmp_path, "posters", "list", "0001_cli_actor", "--json")
    versions = json.loads(out)
    assert [(v["version"], v["is_current"]) for v in versions] == [(2, True), (1, False)]
    assert versions[1]["seed"] == 5 and versions[1]["params"]["width"] == 512

    code, out = run(tmp_path, "posters", "make-current", "0001_cli_actor", "1")
    assert code == 0 and "version 1 is now current" in out
    code, out = run(tmp_path, "posters", "list", "1")
    assert out.splitlines()[1].startswith("* v1")

    code, out = run(tmp_path, "posters", "generate", "nobody")
    assert code == 1 and "not found" in out
    code, out = run(tmp_path, "posters", "generate", "0002_cli_actor", "--steps", "0")
    assert code == 1 and "steps" in out
