"""``castsmith lora train`` against the readiness gate, ``--force``, ``lora cancel``, and
``castsmith actors update --identity-threshold``, on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app
from tests.photos import blurred, photo_bytes

NAME = "0052_american_50_male"


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_a_refused_training_is_forced_then_cancelled(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    assert run(tmp_path, "actors", "create", NAME, "--description", "a man")[0] == 0
    files = {"obama2.jpg": photo_bytes("obama2"), "soft.jpg": blurred("obama3", 6)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    code, out = run(tmp_path, "training", "add", NAME, *(str(tmp_path / n) for n in files))
    assert code == 0, out

    code, out = run(tmp_path, "lora", "train", NAME, "--trigger-word", "zq52man")
    assert code != 0, out
    assert "is not ready for training" in out and "should be rejected" in out
    assert "pass force" in out
    assert "NOT ready for training" in out and "blurred: 1" in out  # the report in words
    assert "no LoRA versions yet" in run(tmp_path, "lora", "list", NAME)[1]

    # Forced, without --wait: queued for workers (none run here), then cancelled.
    code, out = run(
        tmp_path, "lora", "train", NAME, "--trigger-word", "zq52man", "--force", "--json"
    )
    assert code == 0, out
    queued = json.loads(out[out.index("{") :])["training"]
    assert queued["status"] == "queued" and queued["version"] == 1
    code, out = run(tmp_path, "lora", "cancel", str(queued["id"]))
    assert code == 0, out
    assert "canceled" in out
    code, out = run(tmp_path, "lora", "show", str(queued["id"]), "--json")
    assert json.loads(out)["status"] == "canceled"
    code, out = run(tmp_path, "lora", "cancel", str(queued["id"]))
    assert code != 0 and "already ended" in out

    code, out = run(tmp_path, "actors", "update", NAME, "--identity-threshold", "0.5", "--json")
    assert code == 0, out
    assert json.loads(out)["curation_identity_threshold"] == 0.5
    code, out = run(tmp_path, "actors", "update", NAME, "--identity-threshold", "3")
    assert code != 0 and "at most 2" in out
    code, out = run(tmp_path, "actors", "update", NAME, "--clear-identity-threshold")
    assert code == 0 and "identity threshold: the configured one" in out
