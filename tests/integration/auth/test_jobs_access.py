"""Jobs under auth: the generic enqueue route, idempotency keys, and whose jobs a
caller can reach."""

from __future__ import annotations

from castsmith.jobs.diagnostic import SLEEP_KIND
from tests.integration.auth.conftest import Cast


async def test_only_admins_queue_feature_kinds_through_the_generic_route(cast: Cast) -> None:
    http, alice, bob, root = cast.http, cast.auth("alice"), cast.auth("bob"), cast.auth("root")
    actor = (await http.post("/api/actors", json={"name": "Ada"}, headers=alice)).json()
    before = (await http.get(f"/api/actors/{actor['id']}", headers=alice)).json()
    for kind, payload in (
        ("actor.base_image", {"actor_id": actor["id"]}),
        ("poster.generate", {"actor_id": actor["id"]}),
        ("webhook.deliver", {"url": "https://example.org/hook", "body": {"x": 1}}),
    ):
        answer = await http.post("/api/jobs", json={"kind": kind, "payload": payload}, headers=bob)
        assert answer.status_code == 403, (kind, answer.text)
        assert "only an admin" in answer.json()["detail"]
    assert (await http.get("/api/jobs", headers=root)).json()["items"] == []
    after = (await http.get(f"/api/actors/{actor['id']}", headers=alice)).json()
    assert after == before
    # The diagnostic kind stays open to everyone, and the job is the caller's.
    own = await http.post("/api/jobs", json={"kind": SLEEP_KIND}, headers=bob)
    assert own.status_code == 201
    assert own.json()["owner_id"] == cast.ids["bob"]


async def test_an_idempotency_key_never_returns_another_users_job(cast: Cast) -> None:
    http, alice, bob = cast.http, cast.auth("alice"), cast.auth("bob")
    body = {"kind": SLEEP_KIND, "payload": {"seconds": 5}, "idempotency_key": "a-secret-key"}
    first = (await http.post("/api/jobs", json=body, headers=alice)).json()
    again = (await http.post("/api/jobs", json=body, headers=alice)).json()
    assert again["id"] == first["id"]
    theirs = await http.post("/api/jobs", json={**body, "payload": {}}, headers=bob)
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first["id"]
    assert theirs.json()["owner_id"] == cast.ids["bob"]
    assert theirs.json()["payload"] == {}
    assert theirs.json()["idempotency_key"] == "a-secret-key"
    assert first["idempotency_key"] == "a-secret-key"
