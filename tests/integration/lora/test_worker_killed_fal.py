"""A worker killed (SIGKILL) while it polls a fal training: the next worker polls the same
fal request to its end, and fal sees one submission, not two (the Replicate case is in
``test_worker_killed.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from castsmith.config import Settings
from castsmith.pipelines import lora
from tests.fakes.trainers import FakeFal
from tests.harness import running_app
from tests.integration.lora.killed import kill_while_polling, s3_worker_env
from tests.integration.lora.support import actor_with_dataset

pytestmark = pytest.mark.slow

SUBMIT = "/fal-ai/flux-lora-fast-training"


def fal_worker_env(settings: Settings, fal: FakeFal) -> dict[str, str]:
    """A worker process's environment with the fake fal's address and key."""
    trainer = {
        "CASTSMITH_FAL_API_KEY": fal.key,
        "CASTSMITH_FAL_QUEUE_URL": fal.url,
        "CASTSMITH_FAL_REST_URL": fal.url,
    }
    return s3_worker_env(settings, trainer)


async def test_a_killed_worker_resumes_the_same_fal_request(
    pg_database_url: str, s3_settings: Settings, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(
        update={"database_url": pg_database_url, "image_provider": "offline"}
    )
    with FakeFal(polls=60) as fal:
        assert isinstance(fal, FakeFal)
        settings = settings.model_copy(
            update={"fal_api_key": fal.key, "fal_queue_url": fal.url, "fal_rest_url": fal.url}
        )
        async with running_app(settings) as env:
            actor_id = await actor_with_dataset(env.container)
        async with running_app(settings, worker=False) as env:
            view, job = await lora.start_training(
                env.container, actor_id, lora.TrainRequest(provider="fal")
            )
            remote_id, _, finished = await kill_while_polling(
                env,
                view,
                job.id,
                pg_database_url,
                tmp_path,
                fal_worker_env(settings, fal),
                lambda: len(fal.calls_to("/fal-ai/", "GET")),
            )
    assert finished["status"] == "succeeded" and finished["remote_id"] == remote_id
    assert len(fal.calls_to(SUBMIT, "POST")) == 1
    assert list(fal.trainings) == [remote_id]
    assert not fal.cancelled
