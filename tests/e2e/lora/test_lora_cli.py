"""The ``castsmith lora`` and ``training export --format`` commands on the embedded default."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from tests.fakes.trainers import lora_bytes
from tests.integration.lora.support import NAME, actor_with_dataset
from tests.integration.pipelines.test_training_support import training_services


async def prepare(settings: Settings) -> int:
    async with training_services(settings, worker=True) as services:
        return await actor_with_dataset(services)


def test_train_list_show_use_import_and_export(tmp_path: Path, sqlite_database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    asyncio.run(prepare(settings))
    runner = CliRunner()
    flags = ["--data-dir", str(tmp_path), "--database-url", sqlite_database_url]

    def castsmith(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(
            app, [*flags, *args], env={"CASTSMITH_OFFLINE_TRAINING_SECONDS": "0.5"}
        )
        return result.exit_code, result.stdout, result.stderr

    code, out, err = castsmith("lora", "train", NAME, "--steps", "50", "--wait", "--json")
    assert code == 0, err
    trained = json.loads(out)["training"]
    assert trained["status"] == "succeeded" and trained["version"] == 1
    assert "100.0%" in err and "[####" in err  # the progress bar reached its end

    weights = tmp_path / "elsewhere.safetensors"
    weights.write_bytes(lora_bytes())
    code, out, err = castsmith("lora", "import", NAME, str(weights), "--strength", "0.7")
    assert code == 0, err
    assert "v2" in out and out.startswith("*")
    code, out, err = castsmith("lora", "list", NAME)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("*") and "v2" in lines[0] and "v1" in lines[1]

    code, out, err = castsmith("lora", "use", str(trained["id"]), "--strength", "0.8")
    assert code == 0, err
    assert out.startswith("*") and "v1" in out
    code, out, err = castsmith("lora", "show", str(trained["id"]), "--json")
    assert json.loads(out)["strength"] == 0.8

    not_lora = tmp_path / "notes.safetensors"
    not_lora.write_text("hello")
    code, _, err = castsmith("lora", "import", NAME, str(not_lora))
    assert code != 0 and "not safetensors" in err

    out_zip = tmp_path / "kohya.zip"
    code, out, err = castsmith(
        "training", "export", NAME, "--format", "kohya", "--out", str(out_zip)
    )
    assert code == 0, err
    assert "kohya/train.sh" in zipfile.ZipFile(out_zip).namelist()
