"""The durable job engine: queue, workers, retries, cancellation, limits and events."""

from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry, JobContext
from castsmith.jobs.types import ChildrenSummary, JobSpec, JobView, WaitForChildren
from castsmith.jobs.worker import Worker

__all__ = [
    "ChildrenSummary",
    "HandlerRegistry",
    "JobContext",
    "JobQueue",
    "JobSpec",
    "JobView",
    "WaitForChildren",
    "Worker",
]
