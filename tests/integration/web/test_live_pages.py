"""Pages that follow running jobs name them and the event id to replay from."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image

from castsmith.config import Settings
from tests.harness import running_app


async def test_the_actor_page_names_its_running_training_jobs(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=sqlite_database_url)
    # No worker: the job stays queued, as a long generation would be while the page loads.
    async with running_app(settings, worker=False) as env:
        actor = await env.create_actor("0501_european_30_female")
        other = await env.create_actor("0502_european_30_male")
        png = io.BytesIO()
        Image.new("RGB", (256, 256), (90, 60, 30)).save(png, format="PNG")
        files = {"file": ("face.png", png.getvalue(), "image/png")}
        uploaded = await env.client.put(f"/api/actors/{actor}/base-image", files=files)
        assert uploaded.status_code == 200, uploaded.text
        idle = (await env.client.get(f"/actors/{actor}")).text
        assert 'data-running=""' in idle
        answer = await env.client.post(
            f"/api/actors/{actor}/training-data/generate-all-prompts",
            json={"actor_id": actor, "actor_name": "0501_european_30_female"},
        )
        assert answer.status_code in (200, 202), answer.text
        job_id = answer.json()["job_id"]
        html = (await env.client.get(f"/actors/{actor}")).text
        assert f'data-running="{job_id}"' in html
        after = re.search(r'data-events-after="(\d+)"', html)
        assert after and int(after.group(1)) >= 1  # the job's "queued" event is behind it
        bar = re.search(r'<progress id="training-progress"[^>]*>', html)
        assert bar and " hidden" not in bar.group(0)  # the progress shows from the start
        assert 'data-running=""' in (await env.client.get(f"/actors/{other}")).text
