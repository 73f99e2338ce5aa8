"""The small interface every LoRA trainer sits behind.

A trainer takes a dataset zip and parameters and answers with a remote id; from then on
castsmith only needs that id: ``status`` (state, progress, log lines, usage, where the
weights are), ``cancel`` and ``fetch_weights`` (stream the single ``.safetensors`` to a
local file). The training job records the id before it polls, so a restarted worker
picks the same remote training up again. Like the image providers, a trainer maps its
vendor's failures into :mod:`castsmith.domain.errors` and never retries on its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from castsmith.domain.lora import TrainingParams

Opener = Callable[[], AsyncIterator[bytes]]
"""Reads the dataset zip again from the start, in chunks."""


@dataclass(frozen=True)
class DatasetZip:
    """The dataset a trainer reads: a zip in castsmith's store.

    ``url`` is a presigned link when the store can make one (S3), else ``None`` and the
    trainer uploads the bytes from ``open()`` to its own file service.
    """

    key: str
    size: int
    md5: str
    images: int
    url: str | None
    open: Opener
    filename: str = "dataset.zip"


@dataclass(frozen=True)
class Submission:
    """One training request; ``name`` is a slug for destinations (the actor's name)."""

    name: str
    params: TrainingParams
    dataset: DatasetZip
    md5s: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submitted:
    """A trainer's answer to a submission: the remote id plus what it needs later."""

    remote_id: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingState:
    """What a trainer says about a training now.

    ``state`` is one of ``queued``, ``running``, ``succeeded``, ``failed``, ``canceled``.
    ``weights`` is where the weights are (a URL, or a trainer-specific reference) once
    the training succeeded.
    """

    state: str
    progress: float | None = None
    logs: tuple[str, ...] = ()
    error: str | None = None
    weights: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True once the training ended, one way or another."""
        return self.state in ("succeeded", "failed", "canceled")


class Trainer(ABC):
    """A LoRA trainer: offline, Replicate trainings or a fal queue endpoint."""

    name: str
    min_images: int = 1
    placeholder: bool = False
    poll_interval: float = 2.0

    async def prepare(self, submission: Submission) -> tuple[Submission, dict[str, Any]]:
        """Get a submission ready to send (upload, presign) and say what to record
        before sending it, so :meth:`find_previous` can find the training again if the
        answer to :meth:`submit` is lost. The default records nothing."""
        return submission, {}

    async def find_previous(self, marker: dict[str, Any]) -> Submitted | None:
        """The training an earlier attempt created from the submission ``marker``
        describes (recorded by :meth:`prepare`), when the trainer can look it up;
        ``None`` means submit again. The default cannot look anything up."""
        return None

    @abstractmethod
    async def submit(self, submission: Submission) -> Submitted:
        """Start a training; return its remote id. Called once per training."""

    @abstractmethod
    async def status(self, remote_id: str, meta: dict[str, Any]) -> TrainingState:
        """The training's state now."""

    @abstractmethod
    async def cancel(self, remote_id: str, meta: dict[str, Any]) -> None:
        """Ask the trainer to stop the training (ended trainings are left alone)."""

    @abstractmethod
    async def fetch_weights(self, state: TrainingState, dest: Path, max_bytes: int) -> int:
        """Write the training's single ``.safetensors`` to ``dest``; return its size."""

    def describe(self) -> dict[str, Any]:
        """What the trainer is, for listings."""
        return {"name": self.name, "min_images": self.min_images, "placeholder": self.placeholder}
