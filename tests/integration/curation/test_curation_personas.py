"""A persona whose split images show someone else than its selfie is flagged."""

from __future__ import annotations

from typing import Any

import pytest

from castsmith.db.models import Asset, ImageCheck, PersonaResult, PersonaTask
from castsmith.imaging.curation import ANALYSIS_VERSION, analyse
from castsmith.pipelines.personas import get_task
from tests.harness import running_app
from tests.integration.curation.support import backend_settings
from tests.photos import photo_bytes


def _asset(session: Any, key: str, photo: str, provider: str = "replicate") -> int:
    data = photo_bytes(photo)
    result = analyse(data)
    asset = Asset(
        storage_key=key,
        kind="persona_image",
        content_type="image/jpeg",
        size_bytes=len(data),
        md5="0" * 32,
        sha256=f"{photo:0<64}"[:64],
        provider=provider,
        meta={},
    )
    session.add(asset)
    session.flush()
    session.add(
        ImageCheck(
            asset_id=asset.id,
            sha256=asset.sha256,
            version=ANALYSIS_VERSION,
            face_count=len(result.faces),
            faces=result.faces_json(),
            width=result.width,
            height=result.height,
            sharpness=result.quality.sharpness,
            exposure_mean=result.quality.exposure_mean,
            exposure_clipped=result.quality.exposure_clipped,
            phash=result.quality.phash,
        )
    )
    return asset.id


async def test_a_persona_with_a_stranger_in_its_images_is_flagged(
    request: pytest.FixtureRequest,
) -> None:
    settings = backend_settings(request, "sqlite-local")
    async with running_app(settings, worker=False) as env:
        with env.container.sessions.begin() as session:
            task = PersonaTask(task_id="t-curation", count=2, status="completed")
            session.add(task)
            session.flush()
            for index, images in enumerate(
                (["obama2", "obama3", "obama2", "obama3"], ["obama2", "biden", "obama3", "coffee"])
            ):
                ids = [_asset(session, f"p{index}/{n}.jpg", p) for n, p in enumerate(images)]
                session.add(
                    PersonaResult(
                        task_id=task.id,
                        firstname=f"P{index}",
                        lastname="X",
                        status="completed",
                        base_image_asset_id=_asset(session, f"p{index}/base.jpg", "obama"),
                        image_0_asset_id=ids[0],
                        image_1_asset_id=ids[1],
                        image_2_asset_id=ids[2],
                        image_3_asset_id=ids[3],
                    )
                )
        body = await get_task(env.container, "t-curation")
        good, bad = body["results"]
        assert good["checks"]["flagged"] is False and good["checks"]["verdict"] == "ok"
        assert all(d < 0.5 for d in good["checks"]["distances"])
        assert bad["checks"]["flagged"] is True
        assert bad["checks"]["reasons"][0].startswith("image_1: another person: distance 0.8")
        assert bad["checks"]["reasons"][1] == "image_3: no face found"
        assert body["flagged"] == [bad["result_id"]]

        page = await env.client.get("/personas/t-curation")
        assert page.status_code == 200
        assert "Regenerate this persona" in page.text
        assert page.text.count("Regenerate this persona") == 1
