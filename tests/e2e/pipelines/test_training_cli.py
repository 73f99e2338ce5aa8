"""The ``castsmith training`` commands on the embedded default (SQLite + local folder)."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.domain.training_prompts import builtin_library
from tests.integration.pipelines.test_training_support import actor_with_base, training_services

NAME = "0031_african_40_female"
FEMALE_PROMPTS = len(builtin_library().for_actor("person", "female"))


async def prepare(settings: Settings) -> int:
    async with training_services(settings) as services:
        actor_id = await actor_with_base(services, NAME)
        with services.sessions.begin() as session:
            actor = session.get(Actor, actor_id)
            assert actor is not None
            actor.sex, actor.lora_trigger_word = "female", "zq31woman"
        return actor_id


def test_generate_all_list_generate_and_export(tmp_path: Path, sqlite_database_url: str) -> None:
    actor_id = asyncio.run(prepare(Settings(data_dir=tmp_path, database_url=sqlite_database_url)))
    runner = CliRunner()
    flags = ["--data-dir", str(tmp_path), "--database-url", sqlite_database_url, "training"]

    def castsmith(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*flags, *args])
        return result.exit_code, result.stdout, result.stderr

    code, out, err = castsmith("generate-all", NAME, "--wait", "--json")
    assert code == 0, err
    outcome = json.loads(out)
    assert outcome["status"] == "completed"
    assert outcome["result"]["created"] == FEMALE_PROMPTS

    code, out, err = castsmith("generate", str(actor_id), "--prompt", "A woman reading")
    assert code == 0, err
    assert "completed" in out
    assert f"{NAME}_{FEMALE_PROMPTS + 1}.jpg" in out

    code, out, _ = castsmith("list", NAME, "--json")
    listing = json.loads(out)
    assert len(listing["training_data"]) == FEMALE_PROMPTS + 1
    assert listing["statistics"]["training_synced_count"] == FEMALE_PROMPTS + 1
    code, out, _ = castsmith("list", NAME)
    assert f"{FEMALE_PROMPTS + 1} images, 0 rejected" in out

    target = tmp_path / "dataset.zip"
    code, out, err = castsmith("export", NAME, "--out", str(target))
    assert code == 0, err
    archive = zipfile.ZipFile(target)
    names = archive.namelist()
    assert len(names) == 2 * (FEMALE_PROMPTS + 1)
    captions = [name for name in names if name.endswith(".txt")]
    assert all(archive.read(name).decode().startswith("zq31woman, ") for name in captions)

    code, _, err = castsmith("list", "nobody")
    assert code != 0
    assert "not found" in err
