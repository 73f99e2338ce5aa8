"""One training from start to finish, resumable at every step.

The training row records each step as it completes, so a worker that dies anywhere
resumes where the last one stopped:

1. snapshot the dataset and stream its zip into the store (``dataset_key``);
2. submit to the trainer and record the remote id **before** polling; a retry that
   finds a remote id never submits again, and one that finds only the record of what
   was being submitted (the answer was lost) asks the trainer for that training first
   (Replicate lists its trainings; fal has no such list);
3. poll status, progress and log lines until the training ends (429s and outages
   while polling wait and poll again; they do not cost a new training);
4. download the weights to a temporary file, check them, store them streamed as
   the next version and make it current.

Cancelling the castsmith job cancels the remote training (see :func:`cancel_remote`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from castsmith.db.models import utcnow
from castsmith.db.models_lora import LoraTraining
from castsmith.domain.costs import CANCELLED, SUCCEEDED
from castsmith.domain.costs import FAILED as FAILED_CALL
from castsmith.domain.errors import CastsmithError, InvalidRequest, JobCancelled, ProviderError
from castsmith.domain.lora import CANCELED, FAILED, RUNNING, STORING, SUBMITTING, TrainingParams
from castsmith.domain.times import as_utc
from castsmith.pipelines._ledger import record_training
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.dataset import build_zip, dataset_for_trainer, snapshot_async
from castsmith.pipelines.lora.records import load, load_actor, trainer_registry, update_async
from castsmith.pipelines.lora.weights import store_weights
from castsmith.providers.trainers.base import Submission, Submitted, Trainer, TrainingState

log = logging.getLogger("castsmith.pipelines.lora")
Progress = Callable[[float, str], Awaitable[None]]
MAX_POLL_ERRORS = 30
KEEP_LOG_LINES = 50
# Key of ``remote`` (hidden from views by its underscore) for what is being submitted.
SUBMITTING_MARKER = "_submitting"


async def _dataset(services: Services, row: LoraTraining, name: str) -> LoraTraining:
    if row.dataset_key:
        return row
    items = await snapshot_async(services, row.actor_id, row.trigger_word)
    stored = await build_zip(services, name, row.version, items)
    await update_async(
        services,
        row.id,
        dataset=[item.as_dict() for item in items],
        dataset_key=stored.key,
        dataset_md5=stored.md5,
        dataset_size=stored.size,
        status=SUBMITTING,
    )
    return await asyncio.to_thread(load, services, row.id)


async def submit(
    services: Services, row: LoraTraining, trainer: Trainer, name: str
) -> LoraTraining:
    """Steps 1-2: make the zip and submit once; the remote id is recorded at once."""
    row = await _dataset(services, row, name)
    if row.remote_id:
        return row
    assert row.dataset_key is not None and row.dataset_md5 is not None
    dataset = await dataset_for_trainer(
        services, row.dataset_key, row.dataset_size or 0, row.dataset_md5, len(row.dataset)
    )
    md5s = tuple(str(item["md5"]) for item in row.dataset)
    params = TrainingParams.from_dict(row.params)
    # An earlier attempt recorded what it was about to submit, then died (or lost the
    # answer) before the remote id was recorded: look that training up, never pay twice.
    marker = (row.remote or {}).get(SUBMITTING_MARKER)
    found = await trainer.find_previous(marker) if isinstance(marker, dict) else None
    if found is not None:
        note = f"found the training an earlier attempt submitted: {found.remote_id}"
        return await _record_submission(services, row, found, note)
    submission, marker = await trainer.prepare(Submission(name, params, dataset, md5s))
    if marker:
        await update_async(services, row.id, remote={SUBMITTING_MARKER: marker})
    submitted = await trainer.submit(submission)
    note = f"submitted to {trainer.name} as {submitted.remote_id}"
    return await _record_submission(services, row, submitted, note)


async def _record_submission(
    services: Services, row: LoraTraining, submitted: Submitted, note: str
) -> LoraTraining:
    await update_async(
        services,
        row.id,
        remote_id=submitted.remote_id,
        remote=submitted.meta,
        status=RUNNING,
        submitted_at=utcnow(),
        logs=[note],
    )
    return await asyncio.to_thread(load, services, row.id)


async def poll(
    services: Services, row: LoraTraining, trainer: Trainer, progress: Progress
) -> TrainingState:
    """Step 3: poll until the training ends; progress and logs go to the row and job."""
    assert row.remote_id is not None
    deadline = time.monotonic() + services.settings.lora_poll_timeout
    errors = 0
    last: tuple[float | None, tuple[str, ...]] = (None, ())
    while True:
        try:
            state = await trainer.status(row.remote_id, row.remote or {})
            errors = 0
        except ProviderError as exc:
            if not exc.retryable or errors >= MAX_POLL_ERRORS:
                raise
            errors += 1
            wait = getattr(exc, "retry_after", None) or trainer.poll_interval * 2
            log.warning("polling %s training %s: %s", trainer.name, row.remote_id, exc)
            await asyncio.sleep(min(wait, 60.0))
            continue
        if (state.progress, state.logs) != last:
            last = (state.progress, state.logs)
            fraction = state.progress or 0.0
            await update_async(
                services,
                row.id,
                progress=round(10 + 80 * fraction, 2),
                logs=list(state.logs[-KEEP_LOG_LINES:]),
                usage=state.usage,
            )
            message = state.logs[-1] if state.logs else state.state
            await progress(10 + 80 * fraction, message[:200])
        if state.done:
            return state
        if time.monotonic() > deadline:
            raise InvalidRequest(
                f"the {trainer.name} training {row.remote_id} did not finish within "
                f"{services.settings.lora_poll_timeout:g} s",
                trainer.name,
            )
        await asyncio.sleep(trainer.poll_interval)


async def finish(
    services: Services, row: LoraTraining, trainer: Trainer, state: TrainingState, name: str
) -> None:
    """Step 4: fetch, check and store the weights; the version becomes current."""
    await update_async(services, row.id, status=STORING, usage=state.usage)
    limit = services.settings.lora_max_weights_bytes
    with tempfile.TemporaryDirectory(prefix="castsmith-lora-") as folder:
        dest = Path(folder) / "weights.safetensors"
        await trainer.fetch_weights(state, dest, limit)
        await store_weights(
            services,
            row.id,
            name,
            row.version,
            dest,
            meta={"provider": trainer.name, "remote_id": row.remote_id},
        )


async def cancel_remote(services: Services, row: LoraTraining) -> None:
    """Cancel the remote training (if it was submitted) and mark the version canceled."""
    remote_id, meta = row.remote_id, row.remote or {}
    marker = meta.get(SUBMITTING_MARKER)
    if remote_id or isinstance(marker, dict):
        trainer = trainer_registry(services).get(row.provider)
        if not remote_id and isinstance(marker, dict):
            # Submitted, but the answer was lost: cancel the training the trainer lists.
            found = await trainer.find_previous(marker)
            remote_id, meta = (found.remote_id, found.meta) if found else (None, meta)
        if remote_id:
            await trainer.cancel(remote_id, meta)
    await update_async(services, row.id, status=CANCELED, finished_at=utcnow())


async def _record_cost(
    services: Services, row: LoraTraining, provider: str, state: str, usage: Any
) -> None:
    """One ledger row for an ended training, timed from its submission."""
    status = {"succeeded": SUCCEEDED, "canceled": CANCELLED}.get(state, FAILED_CALL)
    elapsed = None
    if row.submitted_at is not None:
        elapsed = (utcnow() - as_utc(row.submitted_at)).total_seconds()
    await record_training(
        services,
        provider=provider,
        status=status,
        usage_fields=dict(usage) if isinstance(usage, dict) else {},
        remote_id=row.remote_id,
        actor_id=row.actor_id,
        elapsed=elapsed,
    )


async def run_training(
    services: Services,
    training_id: int,
    progress: Progress,
    cancel_requested: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Run (or resume) the training; return a small result for the job.

    ``cancel_requested`` tells a user's cancel (which reaches the trainer) from a
    shutdown or a lost lease (which leave the remote training for the next worker).
    """
    row = await asyncio.to_thread(load, services, training_id)
    if row.weights_key:
        return {"training_id": row.id, "version": row.version, "status": row.status}
    actor = await asyncio.to_thread(load_actor, services, row.actor_id)
    trainer = trainer_registry(services).get(row.provider)
    try:
        await progress(2, "packing the dataset")
        row = await submit(services, row, trainer, actor.name)
        await progress(10, f"training on {trainer.name}")
        state = await poll(services, row, trainer, progress)
        # The cost ledger gets the training once, when the trainer says it ended.
        await _record_cost(services, row, trainer.name, state.state, state.usage)
        if state.state == "canceled":
            await update_async(services, row.id, status=CANCELED, finished_at=utcnow())
            raise JobCancelled(f"the {trainer.name} training {row.remote_id} was canceled")
        if state.state == "failed":
            reason = state.error or "no reason given"
            await update_async(services, row.id, status=FAILED, error=reason, finished_at=utcnow())
            raise InvalidRequest(f"the {trainer.name} training failed: {reason}", trainer.name)
        await progress(92, "storing the weights")
        await finish(services, row, trainer, state, actor.name)
    except asyncio.CancelledError:
        if cancel_requested():
            latest = await asyncio.to_thread(load, services, training_id)
            await asyncio.shield(cancel_remote(services, latest))
            if latest.remote_id:
                await _record_cost(services, latest, latest.provider, "canceled", latest.usage)
        raise
    except JobCancelled:
        raise
    except CastsmithError as exc:
        if not exc.retryable:
            await update_async(
                services, training_id, status=FAILED, error=str(exc), finished_at=utcnow()
            )
        raise
    done = await asyncio.to_thread(load, services, training_id)
    return {
        "training_id": done.id,
        "version": done.version,
        "status": done.status,
        "weights_key": done.weights_key,
    }
