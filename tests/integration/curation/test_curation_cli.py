"""``castsmith training add`` and ``castsmith training check`` on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app
from tests.photos import blurred, photo_bytes

NAME = "0051_american_50_male"


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_add_photographs_then_check_and_triage(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    assert run(tmp_path, "actors", "create", NAME, "--description", "a man")[0] == 0
    files = {"obama2.jpg": photo_bytes("obama2"), "soft.jpg": blurred("obama3", 6)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    code, out = run(tmp_path, "training", "add", NAME, *(str(tmp_path / n) for n in files))
    assert code == 0, out
    assert f"added {NAME}_1.jpg" in out and f"added {NAME}_2.jpg" in out
    assert "NOT ready for training" in out
    assert "blurred: 1" in out

    code, out = run(tmp_path, "training", "check", NAME, "--json", "--triage")
    assert code == 0, out
    report = json.loads(out[out.index("{") :])
    assert report["triaged"] and len(report["triaged"]) == 1
    assert report["counts"]["images"] == 1  # the blurred one left the dataset
    assert report["ready"] is False
    assert any("at least 10 needed" in reason for reason in report["reasons"])

    code, out = run(tmp_path, "training", "check", "no_such_actor")
    assert code != 0 and "not found" in out


def test_add_refuses_a_file_that_is_no_image(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    assert run(tmp_path, "actors", "create", NAME, "--description", "a man")[0] == 0
    (tmp_path / "notes.jpg").write_bytes(b"plain text")
    code, out = run(tmp_path, "training", "add", NAME, str(tmp_path / "notes.jpg"))
    assert code != 0 and "notes.jpg" in out
