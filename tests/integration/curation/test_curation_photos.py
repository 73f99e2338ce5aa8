"""The curation checks on real photographs, through the REST API, on both backends.

An actor whose base image is a portrait of Barack Obama gets other photographs of him,
a photograph of Joe Biden, a blurred and a resized copy, a picture with no face and one
with two; the listing, the report, triage and the readiness gate say what a user would
want to know. (Where each photograph comes from: ``tests/photos``.)
"""

from __future__ import annotations

import pytest

from castsmith.domain.curation import Verdict
from castsmith.pipelines.training.curation import DatasetNotReady, require_ready
from tests.harness import running_app
from tests.integration.curation.support import (
    NAME,
    actor_with_photo,
    backend_settings,
    checks_settled,
)
from tests.photos import blurred, photo_bytes, resized, side_by_side

pytestmark = pytest.mark.timeout(600)


def uploads() -> list[tuple[str, bytes]]:
    return [
        ("obama2.jpg", photo_bytes("obama2")),  # _1
        ("obama3.jpg", photo_bytes("obama3")),  # _2
        ("biden.jpg", photo_bytes("biden")),  # _3
        ("obama2-blurred.jpg", blurred("obama2")),  # _4
        ("obama3-small.jpg", resized("obama3", 0.6)),  # _5
        ("coffee.jpg", photo_bytes("coffee")),  # _6
        ("two.jpg", side_by_side("obama", "biden")),  # _7
    ]


@pytest.mark.parametrize("backend", ["sqlite-local", "postgres-s3"])
async def test_real_photographs_are_judged_and_the_gate_holds(
    request: pytest.FixtureRequest, backend: str
) -> None:
    settings = backend_settings(request, backend)
    async with running_app(settings) as env:
        actor_id = await actor_with_photo(env)
        files = [("files", (name, data, "image/jpeg")) for name, data in uploads()]
        answer = await env.client.post(f"/api/actors/{actor_id}/training-data/upload", files=files)
        assert answer.status_code == 201, answer.text
        assert [i["filename"] for i in answer.json()["items"]] == [
            f"{NAME}_{n}.jpg" for n in range(1, 8)
        ]
        await checks_settled(env)

        listing = (await env.client.get(f"/api/actors/{actor_id}/training-data")).json()
        checks = {
            e["filename"].removeprefix(f"{NAME}_"): e["checks"] for e in listing["training_data"]
        }
        for same in ("1.jpg", "2.jpg"):
            assert checks[same]["verdict"] == Verdict.OK, checks[same]
            assert checks[same]["identity_distance"] < 0.5
            assert checks[same]["faces"] == 1
        stranger = checks["3.jpg"]
        assert stranger["verdict"] == Verdict.REJECT
        assert stranger["identity_distance"] > 0.75
        assert (
            f"another person: distance {stranger['identity_distance']:.2f}, threshold 0.60"
            in stranger["reasons"]
        )
        assert any(r.startswith("blurred: sharpness") for r in checks["4.jpg"]["reasons"])
        assert checks["4.jpg"]["verdict"] == Verdict.REJECT
        assert checks["5.jpg"]["duplicate_of"] == f"{NAME}_2.jpg"
        assert f"near-copy of {NAME}_2.jpg" in checks["5.jpg"]["reasons"]
        assert checks["6.jpg"]["faces"] == 0 and "no face found" in checks["6.jpg"]["reasons"]
        assert checks["7.jpg"]["faces"] == 2 and "two faces" in checks["7.jpg"]["reasons"]
        assert checks["7.jpg"]["verdict"] == Verdict.WARN
        # The seed's fields are unchanged beside the new object.
        assert listing["training_data"][0]["status"] == "synced"

        manifest = (await env.client.get(f"/api/actors/{actor_id}/manifest")).json()
        assert manifest["training_data"][2]["checks"]["verdict"] == Verdict.REJECT

        report = (await env.client.get(f"/api/actors/{actor_id}/training-data/report")).json()
        assert report["ready"] is False
        assert report["counts"]["reject_suggested"] == 4
        assert report["counts"]["duplicates"] == 2  # the blurred and the resized copy
        assert report["counts"]["blurred"] == 1
        assert report["identity"]["worst"] > 0.75
        assert set(report["flagged"]) == {f"{NAME}_{n}.jpg" for n in (3, 4, 5, 6)}

        with pytest.raises(DatasetNotReady) as refused:
            await require_ready(env.container, actor_id)
        assert "should be rejected" in str(refused.value)
        assert refused.value.report.flagged == tuple(report["flagged"])
        forced = await require_ready(env.container, actor_id, force=True)
        assert forced.ready is False

        triaged = await env.client.post(
            f"/api/actors/{actor_id}/training-data/check?auto_triage=true&wait=120"
        )
        assert triaged.status_code == 200, triaged.text
        assert len(triaged.json()["result"]["triaged"]) == 4
        listing = (await env.client.get(f"/api/actors/{actor_id}/training-data")).json()
        by_name = {e["filename"]: e for e in listing["training_data"]}
        biden = by_name[f"{NAME}_3.jpg"]
        assert biden["status"] == "rejected"
        assert biden["checks"]["triaged"][0].startswith("another person")
        # A triaged image comes back like any rejected one.
        restored = await env.client.post(
            f"/api/actors/{actor_id}/training-data/{biden['id']}/restore"
        )
        assert restored.json()["status"] == "synced"


async def test_a_bad_file_in_an_upload_stores_nothing(request: pytest.FixtureRequest) -> None:
    settings = backend_settings(request, "sqlite-local")
    async with running_app(settings, worker=False) as env:
        actor_id = await actor_with_photo(env)
        files = [
            ("files", ("good.jpg", photo_bytes("obama2"), "image/jpeg")),
            ("files", ("notes.jpg", b"this is not an image", "image/jpeg")),
        ]
        answer = await env.client.post(f"/api/actors/{actor_id}/training-data/upload", files=files)
        assert answer.status_code == 422
        assert "notes.jpg" in answer.text
        listing = (await env.client.get(f"/api/actors/{actor_id}/training-data")).json()
        assert listing["training_data"] == []
