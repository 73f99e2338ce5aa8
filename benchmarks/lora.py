"""LoRA trainings: from the train request to the trainer's submission, and storing weights.

Run: ``.venv/bin/python benchmarks/lora.py`` (``--images 30,200``, ``--weights-mb 170``).
Each scenario runs in a fresh child process so its peak RSS (``ru_maxrss``) is its own.

1. ``submit``: N training images (about 150 KB JPEGs) of one actor on SQLite and an S3
   server (moto, in its own process). Timed from ``start_training`` (request checks, the
   version row, the job) through the dataset snapshot, the zip streamed into the bucket
   and presigned, to the moment the trainer's ``submit`` is called.
2. ``weights``: a trainer reports success with a W MB ``.safetensors`` served over HTTP
   by another process; timed from there to the stored, current LoRA (downloaded to a
   temporary file, checked, uploaded in parts to a local store, rows written). Goal:
   RSS grows by less than 50 MB (streamed, never whole in memory).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where sibling benchmarks (such
# as queue.py) would shadow standard-library modules.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from castsmith.bootstrap import build_container  # noqa: E402
from castsmith.config import Settings  # noqa: E402
from castsmith.db.engine import make_engine  # noqa: E402
from castsmith.db.migrate import upgrade  # noqa: E402
from castsmith.db.models import Actor  # noqa: E402
from castsmith.domain.access import OPERATOR  # noqa: E402
from castsmith.pipelines import lora  # noqa: E402
from castsmith.pipelines.lora.records import load  # noqa: E402
from castsmith.pipelines.lora.run import finish, submit  # noqa: E402
from castsmith.pipelines.training.images import load_actor, store_training_image  # noqa: E402
from castsmith.providers.trainers.base import (  # noqa: E402
    Submission,
    Submitted,
    TrainingState,
)
from castsmith.providers.trainers.fal import FalTrainer  # noqa: E402
from castsmith.providers.trainers.offline import OfflineTrainer  # noqa: E402
from castsmith.providers.trainers.registry import TrainerRegistry  # noqa: E402

GROWTH_GOAL_MB = 50.0


def rss_mb() -> float:
    """This process's peak resident set so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def jpeg(i: int) -> bytes:
    """A noisy 768x768 JPEG of about 150 KB (noise does not compress)."""
    rng = np.random.default_rng(i)
    pixels = rng.integers(0, 255, (768, 768, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=60)
    return out.getvalue()


class Recording(OfflineTrainer):
    """An offline trainer that notes when ``submit`` is reached."""

    submitted_at = 0.0

    async def submit(self, submission: Submission) -> Submitted:
        Recording.submitted_at = time.perf_counter()
        assert submission.dataset.url and "X-Amz-Signature" in submission.dataset.url
        return await super().submit(submission)


async def scenario_submit(images: int, port: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="castsmith-bench-"))
    wait_port(port)
    import boto3

    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    ).create_bucket(Bucket="bench")
    settings = Settings(
        data_dir=folder,
        storage_backend="s3",
        s3_bucket="bench",
        s3_endpoint=endpoint,
        s3_access_key="k",
        s3_secret_key="s",
        s3_addressing="path",  # type: ignore[arg-type]
        s3_allow_http=True,
    )
    engine = make_engine(str(settings.database_url))
    upgrade(engine)
    engine.dispose()
    container = build_container(settings).acting_for(OPERATOR)
    container.trainers_override = TrainerRegistry(
        {"offline": Recording(folder / "offline-trainer", 0.0)}
    )
    with container.sessions.begin() as session:
        actor = Actor(name="0500_bench_30_female", lora_trigger_word="zb500")
        session.add(actor)
        session.flush()
        actor_id = actor.id
    facts = load_actor(container, actor_id)
    for i in range(images):
        await store_training_image(
            container,
            facts,
            jpeg(i),
            prompt=f"prompt {i}",
            prompt_id=f"p{i}",
            job_id=None,
            provenance={"provider": "bench"},
        )
    before = rss_mb()
    start = time.perf_counter()
    # Forced past the readiness gate: these synthetic images show no face, and their
    # checks (benchmarks/curation.py measures those) are not what is timed here.
    view, _job = await lora.start_training(container, actor_id, lora.TrainRequest(force=True))
    row = await asyncio.to_thread(load, container, view["id"])
    trainer = container.trainers.get("offline")
    row = await submit(container, row, trainer, facts.name)
    elapsed = Recording.submitted_at - start
    return {
        "scenario": "submit",
        "images": images,
        "zip_mb": round((row.dataset_size or 0) / 1e6, 1),
        "seconds": round(elapsed, 3),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(rss_mb(), 1),
    }


async def scenario_weights(megabytes: int, folder: Path, port: int) -> dict[str, Any]:
    wait_port(port)
    settings = Settings(data_dir=folder, fetch_allow_hosts="127.0.0.1")
    engine = make_engine(str(settings.database_url))
    upgrade(engine)
    engine.dispose()
    container = build_container(settings).acting_for(OPERATOR)
    import httpx

    http = httpx.AsyncClient()
    fal = FalTrainer(http, api_key="k:s", queue_url=f"http://127.0.0.1:{port}")
    container.trainers_override = TrainerRegistry({"fal": fal}, "fal")
    with container.sessions.begin() as session:
        actor = Actor(name="0501_bench_30_male", lora_trigger_word="zb501")
        session.add(actor)
        session.flush()
        actor_id = actor.id
    from castsmith.db.repositories.lora import LoraRepository

    with container.sessions.begin() as session:
        training_id = (
            LoraRepository(session, OPERATOR)
            .create(actor_id, provider="fal", trigger_word="zb501", status="running")
            .id
        )
    row = await asyncio.to_thread(load, container, training_id)
    state = TrainingState("succeeded", 1.0, weights=f"http://127.0.0.1:{port}/lora.safetensors")
    before = rss_mb()
    start = time.perf_counter()
    await finish(container, row, fal, state, "0501_bench_30_male")
    elapsed = time.perf_counter() - start
    done = await lora.training(container, training_id)
    assert done["is_current"] and done["weights_size"] > megabytes * 1024 * 1024 // 2
    await http.aclose()
    return {
        "scenario": "weights",
        "weights_mb": round(done["weights_size"] / 1e6, 1),
        "seconds": round(elapsed, 3),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(rss_mb(), 1),
        "rss_growth_mb": round(rss_mb() - before, 1),
    }


def child(args: argparse.Namespace) -> None:
    port = free_port()
    if args.child == "submit":
        # The S3 server runs in its own process, so its memory is not counted here.
        command = [str(Path(sys.executable).with_name("moto_server")), "-p", str(port)]
        cwd = None
    else:
        folder = Path(tempfile.mkdtemp(prefix="castsmith-bench-"))
        served = folder / "served"
        served.mkdir()
        size = args.n * 1024 * 1024 // 2
        save_file(
            {"transformer.lora_A.weight": np.zeros(size, dtype=np.float16)},
            str(served / "lora.safetensors"),
            metadata={"format": "pt"},
        )
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        cwd = served
    server = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_port(port)
        if args.child == "submit":
            result = asyncio.run(scenario_submit(args.n, port))
        else:
            result = asyncio.run(scenario_weights(args.n, folder, port))
    finally:
        server.terminate()
        server.wait()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="30,200")
    parser.add_argument("--weights-mb", type=int, default=170)
    parser.add_argument("--child", choices=("submit", "weights"))
    parser.add_argument("--n", type=int, default=0)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"load: {os.getloadavg()}")
    runs = [("submit", int(n)) for n in args.images.split(",")] + [("weights", args.weights_mb)]
    for kind, n in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--n", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if kind == "submit":
            print(
                f"{result['images']:>4} images ({result['zip_mb']} MB zip): request -> "
                f"submission {result['seconds']:.2f} s, peak RSS {result['rss_peak_mb']} MB "
                f"(before {result['rss_before_mb']} MB)"
            )
        else:
            verdict = "ok" if result["rss_growth_mb"] < GROWTH_GOAL_MB else "OVER GOAL"
            print(
                f"{result['weights_mb']} MB weights: success -> stored current LoRA "
                f"{result['seconds']:.2f} s, RSS growth {result['rss_growth_mb']} MB "
                f"(goal < {GROWTH_GOAL_MB:g} MB: {verdict}), peak {result['rss_peak_mb']} MB"
            )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
