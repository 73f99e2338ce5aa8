"""A worker killed (SIGKILL) while it polls a Replicate training: the next worker polls
the same remote training to its end, and Replicate sees one training, not two."""

from __future__ import annotations

from pathlib import Path

import pytest

from castsmith.config import Settings
from castsmith.pipelines import lora
from tests.fakes.trainers import FakeReplicateTrainings
from tests.harness import running_app
from tests.integration.lora.killed import kill_while_polling, s3_worker_env
from tests.integration.lora.support import actor_with_dataset

pytestmark = pytest.mark.slow


def worker_env(settings: Settings, replicate: FakeReplicateTrainings) -> dict[str, str]:
    """A worker process's environment with the fake Replicate's address and token."""
    trainer = {
        "CASTSMITH_REPLICATE_API_TOKEN": replicate.token,
        "CASTSMITH_REPLICATE_BASE_URL": replicate.url,
    }
    return s3_worker_env(settings, trainer)


async def test_a_killed_worker_resumes_the_same_remote_training(
    pg_database_url: str, s3_settings: Settings, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(
        update={"database_url": pg_database_url, "image_provider": "offline"}
    )
    with FakeReplicateTrainings(polls=60) as replicate:
        assert isinstance(replicate, FakeReplicateTrainings)
        settings = settings.model_copy(
            update={"replicate_api_token": replicate.token, "replicate_base_url": replicate.url}
        )
        async with running_app(settings) as env:
            actor_id = await actor_with_dataset(env.container)
        async with running_app(settings, worker=False) as env:
            view, job = await lora.start_training(
                env.container, actor_id, lora.TrainRequest(provider="replicate")
            )
            remote_id, _, finished = await kill_while_polling(
                env,
                view,
                job.id,
                pg_database_url,
                tmp_path,
                worker_env(settings, replicate),
                lambda: len(replicate.calls_to("/v1/trainings/", "GET")),
            )
    assert finished["status"] == "succeeded" and finished["remote_id"] == remote_id
    assert len(replicate.calls_to("/v1/models/ostris/flux-dev-lora-trainer/versions/", "POST")) == 1
    assert list(replicate.trainings) == [remote_id]
    assert not replicate.cancelled
