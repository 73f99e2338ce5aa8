"""Users own their actors, persona tasks, character references and jobs: another user
gets 404 for them and does not see them in lists; an admin sees everything."""

from __future__ import annotations

import uuid

import httpx

from castsmith.db.models import Asset, CharacterReference
from tests.integration.auth.conftest import Cast

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


async def _reference(cast: Cast, owner: str) -> str:
    """A stored reference image owned by ``owner`` (as the generation job records it)."""
    image_id = str(uuid.uuid4())
    key = f"character_references/{image_id}.png"
    await cast.container.store.put(key, PNG, content_type="image/png")
    with cast.container.sessions.begin() as session:
        asset = Asset(
            storage_key=key,
            kind="character_reference",
            content_type="image/png",
            size_bytes=len(PNG),
            md5="0" * 32,
            sha256="0" * 64,
            owner_id=cast.ids[owner],
        )
        session.add(asset)
        session.flush()
        session.add(
            CharacterReference(
                id=image_id, description="a test", asset_id=asset.id, owner_id=cast.ids[owner]
            )
        )
    return image_id


async def _ok(answer: httpx.Response, status: int = 200) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_users_see_only_their_own_data(cast: Cast) -> None:
    http, alice, bob, root = cast.http, cast.auth("alice"), cast.auth("bob"), cast.auth("root")

    actor = await _ok(
        await http.post(
            "/api/actors", json={"name": "Ada", "description": "a painter"}, headers=alice
        ),
        201,
    )
    actor_id = actor["id"]
    assert actor["owner_id"] == cast.ids["alice"]
    task = await _ok(await http.post("/api/persona-tasks", json={"count": 1}, headers=alice), 202)
    task_id = task["task_id"]
    image_id = await _reference(cast, "alice")
    poster = await http.post(f"/api/actors/{actor_id}/regenerate-poster-frame", headers=alice)
    job_id = (await _ok(poster, 202))["job_id"]

    # Bob: every read, change, regeneration and URL of Alice's things is a 404.
    refused = [
        ("GET", f"/api/actors/{actor_id}", None),
        ("PATCH", f"/api/actors/{actor_id}", {"description": "mine now"}),
        ("DELETE", f"/api/actors/{actor_id}", None),
        ("POST", f"/api/actors/{actor_id}/restore", None),
        ("POST", f"/api/actors/{actor_id}/regenerate-poster-frame", None),
        ("GET", f"/api/actors/{actor_id}/poster-frames", None),
        ("GET", f"/api/actors/{actor_id}/manifest", None),
        ("GET", f"/api/actors/{actor_id}/training-data", None),
        ("POST", f"/api/actors/{actor_id}/training-data/generate-all-prompts", {}),
        ("GET", f"/api/persona-tasks/{task_id}", None),
        ("POST", f"/api/persona-tasks/{task_id}/retry-failed", None),
        ("GET", f"/api/mv/get_character_reference/{image_id}", None),
        ("GET", f"/api/mv/get_character_reference/{image_id}?redirect=true", None),
        ("GET", f"/api/jobs/{job_id}", None),
        ("POST", f"/api/jobs/{job_id}/cancel", None),
        ("GET", f"/api/jobs/{job_id}/events", None),
    ]
    for method, path, body in refused:
        answer = await http.request(method, path, json=body, headers=bob)
        assert answer.status_code == 404, (method, path, answer.text)
    # The same answer as for an id that does not exist: ids don't leak.
    unknown = await http.get("/api/actors/999999", headers=bob)
    mine = await http.get(f"/api/actors/{actor_id}", headers=bob)
    assert mine.json()["detail"] == unknown.json()["detail"].replace("999999", str(actor_id))
    batch = await http.post(
        "/api/poster-frames/regenerate", json={"actor_ids": [actor_id]}, headers=bob
    )
    assert batch.status_code == 404

    # ... and none of it shows in Bob's lists.
    assert (await _ok(await http.get("/api/actors", headers=bob)))["items"] == []
    assert (await _ok(await http.get("/api/actors?owner=1", headers=bob)))["items"] == []
    assert (await _ok(await http.get("/api/persona-tasks", headers=bob)))["items"] == []
    assert (await _ok(await http.get("/api/character-references", headers=bob)))["items"] == []
    assert (await _ok(await http.get("/api/jobs", headers=bob)))["items"] == []
    # Bob cannot hand himself Alice's actor, nor create one in her name.
    own = await _ok(
        await http.post(
            "/api/actors", json={"name": "Bo", "owner_id": cast.ids["alice"]}, headers=bob
        ),
        201,
    )
    assert own["owner_id"] == cast.ids["bob"]
    give = await http.patch(
        f"/api/actors/{own['id']}", json={"owner_id": cast.ids["alice"]}, headers=bob
    )
    assert give.status_code == 422
    assert give.json()["field"] == "owner_id"

    # Alice sees hers, not Bob's.
    names = [a["name"] for a in (await _ok(await http.get("/api/actors", headers=alice)))["items"]]
    assert names == ["Ada"]
    assert (await http.get(f"/api/actors/{own['id']}", headers=alice)).status_code == 404
    ref = await _ok(await http.get(f"/api/mv/get_character_reference/{image_id}", headers=alice))
    assert ref["image_id"] == image_id
    jobs = (await _ok(await http.get("/api/jobs", headers=alice)))["items"]
    assert job_id in [job["id"] for job in jobs]  # type: ignore[union-attr]
    assert all(job["owner_id"] == cast.ids["alice"] for job in jobs)  # type: ignore[union-attr]
    assert (await http.get(f"/api/persona-tasks/{task_id}", headers=alice)).status_code == 200

    # The admin sees both users' data.
    names = [a["name"] for a in (await _ok(await http.get("/api/actors", headers=root)))["items"]]
    assert sorted(names) == ["Ada", "Bo"]
    assert (await http.get(f"/api/actors/{actor_id}", headers=root)).status_code == 200
    assert (await http.get(f"/api/persona-tasks/{task_id}", headers=root)).status_code == 200
    assert (await http.get(f"/api/mv/get_character_reference/{image_id}", headers=root)).is_success
    assert (await http.get(f"/api/jobs/{job_id}", headers=root)).status_code == 200
    listed = (await _ok(await http.get("/api/persona-tasks", headers=root)))["items"]
    assert len(listed) == 1  # type: ignore[arg-type]

    # Alice can still change and delete her own actor.
    patched = await http.patch(f"/api/actors/{actor_id}", json={"age": 30}, headers=alice)
    assert patched.status_code == 200
    assert (await http.delete(f"/api/actors/{actor_id}", headers=alice)).status_code == 204


async def test_pages_of_other_users_data_are_404(sqlite_cast: Cast) -> None:
    cast = sqlite_cast
    http, alice, bob = cast.http, cast.auth("alice"), cast.auth("bob")
    actor = await _ok(await http.post("/api/actors", json={"name": "Eve"}, headers=alice), 201)
    assert (await http.get(f"/actors/{actor['id']}", headers=alice)).status_code == 200
    assert (await http.get(f"/actors/{actor['id']}", headers=bob)).status_code == 404
    library = await http.get("/", headers=bob)
    assert library.status_code == 200
    assert "Eve" not in library.text
    assert "Eve" in (await http.get("/", headers=alice)).text


async def test_video_jobs_belong_to_their_creator_and_cannot_be_squatted(cast: Cast) -> None:
    http, alice, bob, root = cast.http, cast.auth("alice"), cast.auth("bob"), cast.auth("root")
    image_id = await _reference(cast, "alice")
    # An ordinary user cannot start a video job by writing into an unknown id ...
    squat = await http.put(
        "/api/video-jobs/clip-1/assets/evil.txt",
        files={"file": ("evil.txt", b"x", "text/plain")},
        headers=bob,
    )
    assert squat.status_code == 404, squat.text
    assert "POST /api/video-jobs" in squat.json()["detail"]
    squat = await http.post(
        "/api/video-jobs/clip-1/character-references", json={"image_ids": [image_id]}, headers=bob
    )
    assert squat.status_code == 404
    # ... so the id is still free for Alice, who creates it and owns it.
    made = await http.post("/api/video-jobs", json={"id": "clip-1"}, headers=alice)
    assert made.status_code == 201, made.text
    assert made.json() == {"id": "clip-1", "owner_id": cast.ids["alice"]}
    again = await http.post("/api/video-jobs", json={"id": "clip-1"}, headers=alice)
    assert again.status_code == 200
    taken = await http.post("/api/video-jobs", json={"id": "clip-1"}, headers=bob)
    assert taken.status_code == 409
    fresh = await http.post("/api/video-jobs", json={}, headers=bob)
    assert fresh.status_code == 201
    assert fresh.json()["id"].startswith("vj-")
    assert fresh.json()["owner_id"] == cast.ids["bob"]
    attached = await http.post(
        "/api/video-jobs/clip-1/character-references", json={"image_ids": [image_id]}, headers=alice
    )
    assert attached.status_code == 200, attached.text
    upload = await http.put(
        "/api/video-jobs/clip-1/assets/notes.txt",
        files={"file": ("notes.txt", b"scene one", "text/plain")},
        headers=alice,
    )
    assert upload.status_code == 201, upload.text

    missing = await http.get("/api/video-jobs/never-made/assets", headers=alice)
    for path in ("/assets", "/assets.zip", "/character-references"):
        answer = await http.get(f"/api/video-jobs/clip-1{path}", headers=bob)
        assert answer.status_code == 404, path
        assert answer.json()["detail"] == missing.json()["detail"].replace("never-made", "clip-1")
    intrude = await http.put(
        "/api/video-jobs/clip-1/assets/evil.txt",
        files={"file": ("evil.txt", b"x", "text/plain")},
        headers=bob,
    )
    assert intrude.status_code == 404
    listed = await _ok(await http.get("/api/video-jobs/clip-1/assets", headers=root))
    assert [item["path"] for item in listed["items"]] == [  # type: ignore[index]
        f"intermediate/character_reference/{image_id}.png",
        "notes.txt",
    ]
