"""Paid remote calls made once: the job records the remote id, a later attempt resumes it.

A handler passes :class:`RemoteWork` to a use case; the use case asks it for the
:class:`~castsmith.providers.base.RemoteCall` of the provider it picked. Right after the
provider submits, the remote id (and the provider's name) is checkpointed on the job
and a cancel hook is registered, so cancelling the castsmith job cancels the remote
one. An attempt after a crash, a lost lease or a retry finds the id and follows that
remote job instead of submitting (and paying for) a new one.

What the cancel hook does depends on why the handler was stopped
(``ctx.cancel_reason``):

- ``"cancelled"`` (the user's cancel): the remote job is cancelled.
- ``"shutdown"`` (the worker stopped after its grace period): the remote job is left
  running and the checkpoint kept, so the next attempt follows it to its end and it is
  paid for once. Cancelling it here would leave the next attempt following a job that
  can only end ``CANCELLED``.
- ``"timeout"``: the remote job is cancelled (it ran too long) and the checkpointed id
  cleared, so a retry submits anew instead of following the cancelled job.
"""

from __future__ import annotations

from dataclasses import dataclass

from castsmith.domain.errors import OutputExpired
from castsmith.pipelines._services import Ctx
from castsmith.providers.base import ImageProvider, RemoteCall

#: ``ctx.cancel_reason`` values (see :func:`castsmith.jobs.registry.run_cancel_hooks`).
SHUTDOWN = "shutdown"
TIMEOUT = "timeout"


@dataclass
class RemoteWork:
    """The remote side of one job's provider call.

    ``step`` names the call when one job makes more than one (each keeps its own remote
    id); the default keeps the plain ``remote_id``/``provider`` checkpoint keys.
    """

    ctx: Ctx
    step: str | None = None

    def _keys(self) -> tuple[str, str]:
        if self.step is None:
            return "remote_id", "provider"
        return f"remote_id.{self.step}", f"provider.{self.step}"

    def resume_id(self, provider: ImageProvider) -> str | None:
        """The remote id an earlier attempt recorded with this provider, if any."""
        id_key, provider_key = self._keys()
        state = self.ctx.checkpoint_data
        if state.get(provider_key) != provider.name:
            return None
        remote_id = state.get(id_key)
        return str(remote_id) if remote_id else None

    def call(self, provider: ImageProvider) -> RemoteCall:
        """What ``provider.run_workflow(..., remote=...)`` (or an image call) needs."""
        id_key, provider_key = self._keys()
        resumed = self.resume_id(provider)
        # One hook per call, cancelling whatever the call has submitted by then (a
        # provider reports its ids again, comma-separated, as it submits more).
        latest: list[str] = []

        async def cancel() -> None:
            reason = self.ctx.cancel_reason
            if reason == SHUTDOWN or not latest:
                return  # the next attempt resumes it: paid for once
            await provider.cancel(latest[-1])
            if reason == TIMEOUT:
                # A cancelled remote job can never complete: a retry starts afresh.
                await self.ctx.checkpoint({id_key: None})

        def watch(remote_id: str) -> None:
            if not latest:
                self.ctx.on_cancel(cancel)
            latest.append(remote_id)

        async def submitted(remote_id: str) -> None:
            # The hook first: a cancel arriving while the checkpoint is written must
            # still find the remote id to cancel (the providers also hold a cancel back
            # until this has run, see ``providers._support.finish_then_cancel``).
            watch(remote_id)
            await self.ctx.checkpoint({id_key: remote_id, provider_key: provider.name})

        if resumed is not None:
            watch(resumed)
        return RemoteCall(resume_id=resumed, on_submitted=submitted)

    async def forget(self, error: BaseException, *, ended: bool = False) -> None:
        """After the remote result expired, or the remote job ``ended`` without one
        (failed, cancelled, timed out there), let the next attempt submit anew."""
        if ended or isinstance(error, OutputExpired):
            await self.ctx.checkpoint({self._keys()[0]: None})
