"""The cost ledger keeps each user to their own calls, on SQLite and PostgreSQL.

``GET /api/costs`` takes job ids (``job_id=``) and groups by actor and job: Bob asking
about Alice's job, or for totals, sees none of her calls; the admin sees everyone's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from castsmith.jobs.worker import Worker
from tests.harness import WORKER_DEFAULTS, wait_job
from tests.integration.auth.conftest import Cast


@pytest.fixture
async def posters(cast: Cast) -> AsyncIterator[dict[str, tuple[int, int]]]:
    """Alice's and Bob's actor, each with a finished poster job: user -> (actor, job)."""
    worker = Worker(
        cast.container.queue, cast.container.registry, services=cast.container, **WORKER_DEFAULTS
    )
    running = asyncio.create_task(worker.run())
    made: dict[str, tuple[int, int]] = {}
    try:
        for user in ("alice", "bob"):
            headers = cast.auth(user)
            body = {"name": f"{user}_actor", "description": "a painter"}
            actor = (await cast.http.post("/api/actors", json=body, headers=headers)).json()["id"]
            answer = await cast.http.post(
                f"/api/actors/{actor}/regenerate-poster-frame", headers=headers
            )
            job = int(answer.json()["job_id"])
            assert (await wait_job(cast.container, job)).status == "completed"
            made[user] = (actor, job)
        yield made
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)


async def report(cast: Cast, user: str, query: str = "") -> dict[str, object]:
    answer = await cast.http.get(f"/api/costs{query}", headers=cast.auth(user))
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def keys(body: dict[str, object]) -> set[str]:
    rows = body["rows"]
    assert isinstance(rows, list)
    return {str(row["key"]) for row in rows}


async def test_each_user_sees_only_the_costs_of_their_own_jobs(
    cast: Cast, posters: dict[str, tuple[int, int]]
) -> None:
    (alice_actor, alice_job), (bob_actor, bob_job) = posters["alice"], posters["bob"]

    assert keys(await report(cast, "alice", "?by=job")) == {str(alice_job)}
    assert keys(await report(cast, "bob", "?by=actor")) == {str(bob_actor)}
    # Naming Alice's job gets Bob nothing, as for a job that does not exist.
    assert keys(await report(cast, "bob", f"?by=job&job_id={alice_job}")) == set()
    assert keys(await report(cast, "root", "?by=job")) == {str(alice_job), str(bob_job)}
    assert keys(await report(cast, "root", "?by=actor")) == {str(alice_actor), str(bob_actor)}
    alice_total = await report(cast, "alice")
    assert alice_total["total"] == {"calls": 1, "cost": 0.0}  # offline: free

    # The costs page lists Bob's actor to Bob, never Alice's.
    page = (await cast.http.get("/costs", headers=cast.auth("bob"))).text
    assert f'href="/actors/{bob_actor}"' in page
    assert f'href="/actors/{alice_actor}"' not in page


async def test_costs_refuse_an_unknown_grouping_and_a_bad_since(cast: Cast) -> None:
    headers = cast.auth("alice")
    assert (await cast.http.get("/api/costs?by=owner", headers=headers)).status_code == 422
    assert (await cast.http.get("/api/costs?since=yesterday", headers=headers)).status_code == 422
    assert (await cast.http.get("/api/costs")).status_code == 401
