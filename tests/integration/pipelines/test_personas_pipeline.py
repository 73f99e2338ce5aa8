"""Persona tasks end to end: offline provider + SQLite + local store, remote fakes + PG + S3."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from castsmith.config import Settings
from castsmith.db.models import Asset, JobEvent
from castsmith.domain.personas import grid_prompt
from castsmith.imaging.grid import split_grid
from castsmith.imaging.inspect import inspect_image
from castsmith.providers.base import ImageToImage, InputImage
from castsmith.providers.offline import OfflineImages
from tests.integration.pipelines.test_personas_support import (
    GridOpenAI,
    PersonaFlowise,
    open_image,
    persona_env,
    remote_settings,
)

SEED_URLS = ("base_image_url", "image_1_url", "image_2_url", "image_3_url", "image_4_url")
KEY_NAMES = ("base.png", "image_0.png", "image_1.png", "image_2.png", "image_3.png")


def quadrants(grid: bytes) -> list[np.ndarray]:
    """The four geometric quadrants of a grid image, reading order."""
    pixels = np.asarray(open_image(grid).convert("RGB"), dtype=np.float32)
    h, w = pixels.shape[0] // 2, pixels.shape[1] // 2
    return [pixels[:h, :w], pixels[:h, w:], pixels[h:, :w], pixels[h:, w:]]


def assert_inside(piece: bytes, quadrant: np.ndarray) -> None:
    """``piece`` is ``quadrant`` with its white gutter/border trimmed off."""
    pixels = np.asarray(open_image(piece).convert("RGB"), dtype=np.float32)
    h, w = pixels.shape[:2]
    assert h >= quadrant.shape[0] * 0.8 and w >= quadrant.shape[1] * 0.8
    ink = np.argwhere((quadrant < 235).any(axis=2))
    y0, x0 = ink.min(axis=0)
    window = quadrant[y0 : y0 + h, x0 : x0 + w]
    assert window.shape == pixels.shape
    assert float(np.abs(window - pixels).mean()) < 2.0


async def test_three_offline_personas_end_to_end(tmp_path: Path, sqlite_database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with persona_env(settings) as env:
        created = await env.create(3, locale="de_DE", constraints={"age_min": 25, "age_max": 40})
        # The worker may already have taken the task when the answer is read back.
        assert created["status"] in {"pending", "generating-data"}
        assert created["count"] == 3 and created["locale"] == "de_DE"
        task = await env.wait(created["task_id"])

        assert task["status"] == "completed", task["error_log"]
        assert task["error_log"] == []
        assert task["personas"]["completed"] == 3
        results = task["results"]
        assert len(results) == 3
        names = {(r["firstname"], r["lastname"]) for r in results}
        assert len(names) == 3  # three different people
        for number, result in enumerate(results):
            assert result["status"] == "completed" and result["error"] is None
            assert 25 <= result["age"] <= 40
            assert result["bio"] and result["occupation"] and result["location"]
            assert result["image_prompt"]
            prefix = f"avatars/task_{task['task_id']}/persona_{result['result_id']}/"
            assert [image["key"] for image in result["images"]] == [
                prefix + name for name in KEY_NAMES
            ]
            for field, image in zip(SEED_URLS, result["images"], strict=True):
                assert result[field] == image["url"]
                data = await env.fetch(image["url"])
                info = inspect_image(data)
                assert info.content_type == "image/png"
                assert (info.width, info.height) == (image["width"], image["height"])
                assert await env.container.store.get(image["key"]) == data

            if number:
                continue  # the grid check below costs a second of rendering: one is enough
            # The four splits are the quadrants of the grid made from the base image:
            # the offline provider is deterministic, so the grid can be made again.
            with env.container.sessions() as session:
                base = session.scalars(
                    select(Asset).where(Asset.storage_key == prefix + "base.png")
                ).one()
                split_rows = session.scalars(
                    select(Asset).where(Asset.parent_asset_id == base.id).order_by(Asset.id)
                ).all()
            assert len(split_rows) == 4
            base_data = await env.container.store.get(base.storage_key)
            grid = await OfflineImages().image_to_image(
                ImageToImage(
                    prompt=grid_prompt(result["image_prompt"]),
                    images=(InputImage(base_data, "base.png", "image/png"),),
                    width=1024,
                    height=1024,
                    seed=base.seed,
                    grid=True,
                )
            )
            grid_data = grid.images[0].data
            stored = [await env.container.store.get(row.storage_key) for row in split_rows]
            assert stored == split_grid(grid_data)
            for piece, quadrant in zip(stored, quadrants(grid_data), strict=True):
                assert_inside(piece, quadrant)

        with env.container.sessions() as session:
            messages = set(session.scalars(select(JobEvent.message)).all())
        name = f"{results[0]['firstname']} {results[0]['lastname']}"
        assert f"[{name}] Step 3/7: Uploading base image..." in messages
        assert f"[{name}] Step 7/7: Updating database with image URLs..." in messages


async def test_remote_fakes_on_postgres_and_s3(pg_database_url: str, s3_settings: Settings) -> None:
    with GridOpenAI() as openai, PersonaFlowise() as flowise:
        settings = remote_settings(
            s3_settings.model_copy(update={"database_url": pg_database_url}), openai, flowise
        )
        async with persona_env(settings) as env:
            created = await env.create(3, locale="en_GB", constraints={"occupation": "teacher"})
            task = await env.wait(created["task_id"])
            assert task["status"] == "completed", task["error_log"]
            for result in task["results"]:
                assert result["status"] == "completed"
                for image in result["images"]:
                    data = await env.fetch(image["url"])  # presigned S3 URL
                    assert inspect_image(data).content_type == "image/png"
                    assert await env.container.store.exists(image["key"])
            # Each image call ran as its own job under the image provider's cap: the task's
            # children are the base selfies, each with its grid as its own child.
            jobs = (await env.client.get("/api/jobs", params={"limit": 50})).json()["items"]
            by_id = {job["id"]: job for job in jobs}
            bases = [job for job in jobs if job["kind"] == "persona.base"]
            grids = [job for job in jobs if job["kind"] == "persona.grid"]
            assert len(bases) == len(grids) == 3
            assert {job["parent_id"] for job in bases} == {task["job_id"]}
            assert {by_id[job["parent_id"]]["kind"] for job in grids} == {"persona.base"}
            assert all(job["provider"] == "openai" for job in bases + grids)
            assert all(job["status"] == "completed" for job in bases + grids)
        persona_questions = [q for q in flowise.questions if "Create 1" in q["question"]]
        assert len(persona_questions) == 3
        # This flow's persona answers carry no selfie prompt, so each persona asked for one.
        asked = [q for q in flowise.questions if q["question"].startswith("Write one prompt")]
        assert len(asked) == 3
        assert persona_questions[0]["overrideConfig"]["vars"]["locale"] == "en_GB"
        assert persona_questions[0]["overrideConfig"]["vars"]["occupation"] == "teacher"
        assert len(openai.calls_to("/v1/images/generations")) == 3
        assert len(openai.calls_to("/v1/images/edits")) == 3
