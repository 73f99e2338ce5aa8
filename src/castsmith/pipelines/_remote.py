"""Paid remote calls made once: the job records the remote id, a later attempt resumes it.

A handler passes :class:`RemoteWork` to a use case; the use case asks it for the
:class:`~castsmith.providers.base.RemoteCall` of the provider it picked. Right after the
provider submits, the remote id (and the provider's name) is checkpointed on the job
and a cancel hook is registered, so cancelling the castsmith job cancels the remote
one. An attempt after a crash, a lost lease or a retry finds the id and follows that
remote job instead of submitting (and paying for) a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from castsmith.domain.errors import OutputExpired
from castsmith.jobs.registry import JobContext
from castsmith.providers.base import ImageProvider, RemoteCall


@dataclass
class RemoteWork:
    """The remote side of one job's provider call."""

    ctx: JobContext

    def resume_id(self, provider: ImageProvider) -> str | None:
        """The remote id an earlier attempt recorded with this provider, if any."""
        state = self.ctx.checkpoint_data
        if state.get("provider") != provider.name:
            return None
        remote_id = state.get("remote_id")
        return str(remote_id) if remote_id else None

    def call(self, provider: ImageProvider) -> RemoteCall:
        """What ``provider.run_workflow(..., remote=...)`` needs for this job."""
        resumed = self.resume_id(provider)

        def watch(remote_id: str) -> None:
            async def cancel() -> None:
                await provider.cancel(remote_id)

            self.ctx.on_cancel(cancel)

        async def submitted(remote_id: str) -> None:
            await self.ctx.checkpoint({"remote_id": remote_id, "provider": provider.name})
            watch(remote_id)

        if resumed is not None:
            watch(resumed)
        return RemoteCall(resume_id=resumed, on_submitted=submitted)

    async def forget(self, error: BaseException) -> None:
        """After the remote result expired, let the next attempt submit anew."""
        if isinstance(error, OutputExpired):
            await self.ctx.checkpoint({"remote_id": None})
