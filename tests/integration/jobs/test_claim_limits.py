"""Claims under provider limits: caps hold across claimers, and a provider at its cap
never holds back the jobs behind its own."""

from __future__ import annotations

import threading

from castsmith.config import ProviderLimit
from castsmith.jobs.types import JobSpec
from tests.integration.jobs.helpers import queue_for, registry

CAPPED = {"capped": ProviderLimit(concurrency=2)}


def test_a_provider_at_its_cap_does_not_hold_back_other_jobs(database_url: str) -> None:
    queue = queue_for(database_url, registry(), limits=CAPPED)
    capped = queue.enqueue_many([JobSpec("diagnostic.sleep", provider="capped")] * 20)
    free = queue.enqueue_many([JobSpec("diagnostic.sleep"), JobSpec("diagnostic.sleep")])
    # The first claim fills the cap; every candidate of the next one is a capped job
    # beyond it, yet the jobs that name no limited provider are found behind them.
    first = queue.claim("w1", 2)
    assert [job.id for job in first] == [capped[0].id, capped[1].id]
    second = queue.claim("w2", 2)
    assert sorted(job.id for job in second) == sorted(job.id for job in free)
    assert queue.claim("w3", 4) == []


def test_concurrent_claimers_never_pass_the_cap(database_url: str) -> None:
    queue = queue_for(database_url, registry(), limits=CAPPED)
    queue.enqueue_many([JobSpec("diagnostic.sleep", provider="capped")] * 30)
    claimed: list[int] = []
    lock = threading.Lock()

    def claim(worker: str) -> None:
        got = queue.claim(worker, 3)
        with lock:
            claimed.extend(job.id for job in got)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(claimed) == 2 == len(set(claimed))
    assert queue.stats()["jobs_by_status"].get("running") == 2
