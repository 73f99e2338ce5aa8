"""What a page needs to follow running jobs live: the jobs to watch, and the event id
to replay the event stream from so nothing between render and connect is missed."""

from __future__ import annotations

from typing import Any

from castsmith.domain.access import Principal
from castsmith.jobs.events import EventHub
from castsmith.jobs.queue import JobQueue
from castsmith.pipelines.training import KIND_ALL, KIND_ONE

ACTIVE = ("queued", "running", "waiting")
TRAINING_KINDS = (KIND_ALL, KIND_ONE)


def latest_event(queue: JobQueue) -> int:
    """The newest event id; read before the jobs, an event newer than it is replayed."""
    return EventHub(queue).latest_id()


def running_training(queue: JobQueue, caller: Principal, actor_id: int) -> dict[str, Any]:
    """The actor's unfinished training jobs (top-level ones) and the replay point.

    ``{"after": event id, "jobs": [{"id", "kind", "progress", "message"}]}``; the page
    follows each job and its children on ``/api/events?after=``.
    """
    after = latest_event(queue)
    items, _ = queue.list_jobs(caller, status=ACTIVE, kind=TRAINING_KINDS, limit=500)
    found = {
        job.id: job
        for job in items
        if job.parent_id is None and job.payload.get("actor_id") == actor_id
    }
    jobs = [
        {
            "id": job.id,
            "kind": job.kind,
            "progress": job.progress,
            "message": job.progress_message or "",
        }
        for job in sorted(found.values(), key=lambda job: job.id)
    ]
    return {"after": after, "jobs": jobs}


def job_tree(
    queue: JobQueue, caller: Principal, job_id: int | None, depth: int = 2
) -> dict[str, Any]:
    """A job, its children and grandchildren (ids), and the replay point.

    A persona task's job spawns image jobs that spawn grid jobs; the page treats an event
    as the task's when its job or its parent is one of these (new ones join as they come).
    """
    after = latest_event(queue)
    ids: list[int] = []
    level = [job_id] if job_id is not None else []
    for _ in range(depth + 1):
        ids.extend(level)
        following: list[int] = []
        for parent in level:
            children, _ = queue.list_jobs(caller, parent_id=parent, limit=500)
            following.extend(child.id for child in children)
        level = following
    return {"after": after, "jobs": ids}
