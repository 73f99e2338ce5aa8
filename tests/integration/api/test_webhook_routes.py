"""A feature route hands the caller's webhook URL to the job it queues, explicitly."""

from __future__ import annotations

from pathlib import Path

from castsmith.config import Settings
from tests.harness import running_app

HOOK = "https://hooks.example.com/castsmith"


async def test_feature_routes_pass_the_webhook_url_to_their_job(
    tmp_path: Path, sqlite_database_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    async with running_app(settings, worker=False) as env:
        http, queue = env.client, env.queue
        actor = await env.create_actor()
        base = await http.post(
            f"/api/actors/{actor}/base-image/generate", params={"webhook_url": HOOK}, json={}
        )
        task = await http.post(
            "/api/persona-tasks", headers={"Webhook-URL": HOOK}, json={"count": 1}
        )
        reference = await http.post(
            "/api/mv/generate_character_reference",
            params={"webhook_url": HOOK, "wait": 0},
            json={"character_description": "a painter"},
        )
        poster = await http.post(f"/api/actors/{actor}/regenerate-poster-frame")
        refused = await http.post(
            "/api/persona-tasks", params={"webhook_url": "file:///etc/passwd"}, json={"count": 1}
        )
        ids = [base.json()["job_id"], task.json()["job_id"], reference.json()["job_id"]]
        hooked = [queue.get(job_id).webhook_url for job_id in ids]
        plain = queue.get(poster.json()["job_id"]).webhook_url
    assert hooked == [HOOK, HOOK, HOOK]
    assert plain is None  # asked for nothing, gets nothing
    assert refused.status_code == 422 and refused.json()["field"] == "webhook_url"
