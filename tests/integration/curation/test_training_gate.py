"""The readiness gate of a LoRA training, and the actor's own identity threshold, on real
photographs through the REST API (SQLite with the local store, PostgreSQL with S3).

An actor whose base image shows Barack Obama gets two more photographs of him, one of
Joe Biden and a blurred copy; a training asked for at once waits for the checks, is
refused with the readiness report, and goes through with ``force``. Raising the actor's
identity threshold lets the stranger pass; bad thresholds are refused and change nothing.
(Where each photograph comes from: ``tests/photos``.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from castsmith.config import Settings
from castsmith.domain.access import OPERATOR
from castsmith.pipelines._checks import KIND_CHECK
from castsmith.pipelines.lora.readiness import settled_report
from castsmith.pipelines.training.curation import ACTOR_THRESHOLD, thresholds
from tests.harness import AppEnv, running_app
from tests.integration.curation.support import NAME, actor_with_photo, backend_settings
from tests.photos import blurred, photo_bytes

pytestmark = pytest.mark.timeout(600)

STRANGER = f"{NAME}_3.jpg"
SOFT = f"{NAME}_4.jpg"


async def upload(env: AppEnv, actor_id: int) -> None:
    files = [
        ("files", (name, data, "image/jpeg"))
        for name, data in [
            ("obama2.jpg", photo_bytes("obama2")),
            ("obama3.jpg", photo_bytes("obama3")),
            ("biden.jpg", photo_bytes("biden")),
            ("soft.jpg", blurred("obama", 6)),
        ]
    ]
    answer = await env.client.post(f"/api/actors/{actor_id}/training-data/upload", files=files)
    assert answer.status_code == 201, answer.text


async def train(env: AppEnv, actor_id: int, **body: Any) -> Any:
    return await env.client.post(
        f"/api/actors/{actor_id}/lora-trainings?wait=60", json={"steps": 50, **body}
    )


@pytest.mark.parametrize("backend", ["sqlite-local", "postgres-s3"])
async def test_the_gate_stops_a_stranger_and_a_blur_and_force_passes_it(
    request: pytest.FixtureRequest, backend: str
) -> None:
    settings = backend_settings(request, backend).model_copy(
        update={"curation_min_images": 2, "offline_training_seconds": 0.3}
    )
    async with running_app(settings) as env:
        actor_id = await actor_with_photo(env)
        await upload(env, actor_id)

        # Asked at once: the gate waits for the photographs' checks, then refuses.
        refused = await train(env, actor_id)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["field"] == "dataset"
        assert "is not ready for training" in body["detail"] and "force" in body["detail"]
        report = body["report"]
        assert report["ready"] is False and report["counts"]["pending"] == 0
        assert set(report["flagged"]) == {STRANGER, SOFT}
        assert report["counts"]["blurred"] == 1
        assert report["identity"]["worst"] > 0.75
        assert any("should be rejected" in reason for reason in report["reasons"])
        # Nothing was written for the refused request.
        listed = await env.client.get(f"/api/actors/{actor_id}/lora-trainings")
        assert listed.json()["versions"] == []

        forced = await train(env, actor_id, force=True)
        assert forced.status_code == 200, forced.text
        assert forced.json()["status"] == "completed"
        training = forced.json()["training"]
        assert training["status"] == "succeeded"
        assert {i["filename"] for i in training["dataset"]["items"]} >= {STRANGER, SOFT}

        # The actor's own threshold: a lenient one lets the stranger pass.
        path = f"/api/actors/{actor_id}"
        lenient = await env.client.patch(path, json={"curation_identity_threshold": 1.5})
        assert lenient.status_code == 200, lenient.text
        assert lenient.json()["curation_identity_threshold"] == 1.5
        report = (await env.client.get(f"{path}/training-data/report")).json()
        assert report["flagged"] == [SOFT] and report["identity"]["threshold"] == 1.5
        listing = (await env.client.get(f"{path}/training-data")).json()
        stranger = next(e for e in listing["training_data"] if e["filename"] == STRANGER)
        assert not any(r.startswith("another person") for r in stranger["checks"]["reasons"])

        for bad in (0, 2.5, "strict", True):
            answer = await env.client.patch(path, json={"curation_identity_threshold": bad})
            assert answer.status_code == 422, answer.text
            assert answer.json()["field"] == "curation_identity_threshold"
        still = (await env.client.get(path)).json()
        assert still["curation_identity_threshold"] == 1.5

        cleared = await env.client.patch(path, json={"curation_identity_threshold": None})
        assert cleared.json()["curation_identity_threshold"] is None
        report = (await env.client.get(f"{path}/training-data/report")).json()
        assert set(report["flagged"]) == {STRANGER, SOFT}
        assert report["identity"]["threshold"] == 0.6


async def test_photographs_still_being_checked_keep_the_dataset_not_ready(
    sqlite_database_url: str, local_settings: Settings
) -> None:
    settings = local_settings.model_copy(
        update={"database_url": sqlite_database_url, "curation_min_images": 2}
    )
    # No worker: the checks stay queued, as behind a long queue.
    async with running_app(settings, worker=False) as env:
        actor_id = await actor_with_photo(env)
        await upload(env, actor_id)
        report = await settled_report(env.container, actor_id, wait=0.3)
        assert report.ready is False and report.pending == 4
        assert "4 image(s) are still being checked; wait for the checks" in report.reasons
        queued, _ = await asyncio.to_thread(
            env.queue.list_jobs, OPERATOR, status="queued", kind=KIND_CHECK
        )
        assert len(queued) == 1  # one check job for the actor, not one per question

        # Asked for a training, the gate gives up waiting soon: no worker takes the job.
        started = time.monotonic()
        refused = await env.client.post(
            f"/api/actors/{actor_id}/lora-trainings", json={"steps": 50}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["report"]["counts"]["pending"] == 4
        assert "still being checked" in refused.json()["detail"]
        assert time.monotonic() - started < 10

        # Forced, the training does not wait for the checks.
        started = time.monotonic()
        answer = await env.client.post(
            f"/api/actors/{actor_id}/lora-trainings", json={"force": True, "steps": 50}
        )
        assert answer.status_code == 202, answer.text
        assert time.monotonic() - started < 10


def test_an_imported_threshold_out_of_range_is_not_applied() -> None:
    settings = Settings()
    assert thresholds(settings, {ACTOR_THRESHOLD: 0.45}).identity == 0.45
    for bad in (5, 0, "0.4", True):
        assert thresholds(settings, {ACTOR_THRESHOLD: bad}).identity == 0.6
