"""The offline trainer: the embedded default, no keys, no GPU.

It does not learn anything. It takes a few seconds, reports progress and log lines like
a real trainer, and then writes a real ``.safetensors`` file (through the
``safetensors`` package) holding small LoRA-shaped tensors under the key names Flux
LoRAs use, with the trigger word, rank, steps and the dataset's md5 list in its
metadata and ``placeholder`` set, like the offline provider's placeholder art.

Its "remote" state is a small JSON file per training in ``state_dir``, so a worker
that restarts mid-training finds the training where it left it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from castsmith.domain.errors import InvalidRequest, NotFound
from castsmith.providers.trainers.base import Submission, Submitted, Trainer, TrainingState

BLOCKS = 4
WIDTH = 64
TARGETS = ("attn.to_q", "attn.to_k", "attn.to_v", "proj_out")


class OfflineTrainer(Trainer):
    """``OfflineTrainer(state_dir, seconds=3.0)``."""

    name = "offline"
    min_images = 1
    placeholder = True

    def __init__(self, state_dir: Path, seconds: float = 3.0) -> None:
        self.state_dir = Path(state_dir)
        self.seconds = max(0.0, seconds)
        self.poll_interval = max(0.05, min(0.5, self.seconds / 10 or 0.05))

    def _path(self, remote_id: str) -> Path:
        if not remote_id.startswith("offline-") or "/" in remote_id or ".." in remote_id:
            raise NotFound(f"no offline training {remote_id!r}")
        return self.state_dir / f"{remote_id}.json"

    def _read(self, remote_id: str) -> dict[str, Any]:
        path = self._path(remote_id)
        if not path.exists():
            raise NotFound(f"no offline training {remote_id!r}")
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _write(self, remote_id: str, data: dict[str, Any]) -> None:
        path = self._path(remote_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    async def submit(self, submission: Submission) -> Submitted:
        """Record the training; it "runs" for ``seconds`` from now."""
        remote_id = f"offline-{uuid.uuid4().hex[:16]}"
        params = submission.params
        record = {
            "started": time.time(),
            "seconds": self.seconds,
            "trigger_word": params.trigger_word,
            "rank": params.rank,
            "steps": params.steps,
            "learning_rate": params.learning_rate,
            "md5s": list(submission.md5s),
            "dataset_md5": submission.dataset.md5,
            "canceled": False,
        }
        await asyncio.to_thread(self._write, remote_id, record)
        return Submitted(remote_id, {"state_file": f"{remote_id}.json"})

    async def status(self, remote_id: str, meta: dict[str, Any]) -> TrainingState:
        """Progress is the share of ``seconds`` elapsed since the submission."""
        record = await asyncio.to_thread(self._read, remote_id)
        if record["canceled"]:
            return TrainingState("canceled", logs=("training canceled",))
        seconds = float(record["seconds"]) or 1e-9
        elapsed = time.time() - float(record["started"])
        fraction = min(1.0, max(0.0, elapsed / seconds))
        steps = int(record["steps"])
        step = int(fraction * steps)
        logs = (
            f"offline placeholder trainer: {len(record['md5s'])} images, rank {record['rank']}",
            f"step {step}/{steps}",
        )
        if fraction >= 1.0:
            usage = {"predict_time": round(seconds, 3), "placeholder": True}
            return TrainingState("succeeded", 1.0, logs, weights=remote_id, usage=usage)
        return TrainingState("running", fraction, logs)

    async def cancel(self, remote_id: str, meta: dict[str, Any]) -> None:
        """Mark the training canceled."""
        record = await asyncio.to_thread(self._read, remote_id)
        record["canceled"] = True
        await asyncio.to_thread(self._write, remote_id, record)

    async def fetch_weights(self, state: TrainingState, dest: Path, max_bytes: int) -> int:
        """Write the placeholder LoRA for the finished training to ``dest``."""
        if state.weights is None:
            raise InvalidRequest("the offline training has no weights yet", self.name)
        record = await asyncio.to_thread(self._read, state.weights)
        return await asyncio.to_thread(write_placeholder_lora, dest, record)


def write_placeholder_lora(dest: Path, record: dict[str, Any]) -> int:
    """A small, valid LoRA-shaped safetensors file; returns its size. Sync."""
    rank = int(record["rank"])
    md5s = [str(m) for m in record["md5s"]]
    seed = int(hashlib.sha256("".join(md5s).encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray[Any, Any]] = {}
    for block in range(BLOCKS):
        for target in TARGETS:
            prefix = f"transformer.single_transformer_blocks.{block}.{target}"
            down = rng.standard_normal((rank, WIDTH)).astype(np.float16) * np.float16(0.01)
            tensors[f"{prefix}.lora_A.weight"] = down
            tensors[f"{prefix}.lora_B.weight"] = np.zeros((WIDTH, rank), dtype=np.float16)
    metadata = {
        "format": "pt",
        "castsmith.placeholder": "true",
        "castsmith.trainer": "offline",
        "trigger_word": str(record["trigger_word"]),
        "rank": str(rank),
        "steps": str(record["steps"]),
        "learning_rate": str(record["learning_rate"]),
        "dataset_md5s": json.dumps(md5s),
    }
    save_file(tensors, str(dest), metadata=metadata)
    return dest.stat().st_size
