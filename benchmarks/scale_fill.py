"""Filling a scratch PostgreSQL database with a large library, in bulk, in SQL.

Rows are made by ``INSERT ... SELECT generate_series`` inside the server: nothing
crosses the wire row by row, so the fill is fast and light on a shared machine. Foreign
key triggers are switched off for the load (``session_replication_role = replica``)
and the events' secondary indexes are built after it; every id the fill makes exists.

Shape (``n`` actors, defaults from ``benchmarks/scale.py``): the first ``n // 100``
actors have 200 training images each (the manifest case), the rest share the remaining
images; every actor has a current poster with three renditions; finished jobs ended
between 35 and 95 days ago (5 % failed, 1 % cancelled), each with one run and ten
events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

KINDS = "array['poster.generate','training.generate_one','persona.base','persona.grid']"
BIG = 200  # training images of each of the first actors


@dataclass(frozen=True)
class Shape:
    """How many rows of each kind to make."""

    actors: int = 100_000
    images: int = 2_000_000
    jobs: int = 1_000_000
    events_per_job: int = 10

    @property
    def big_actors(self) -> int:
        return max(1, self.actors // 100)


def _sql(shape: Shape) -> list[tuple[str, str]]:
    n, imgs, jobs, big = shape.actors, shape.images, shape.jobs, shape.big_actors
    rest = n - big
    poster0 = imgs  # poster assets take the ids after the training images
    return [
        (
            "actors",
            f"""INSERT INTO actors (id, name, description, actor_type, sex, age, ethnicity,
                style, lora_name, lora_strength_model, lora_strength_clip, extra,
                created_at, updated_at)
            SELECT g, 'actor_' || g,
                'synthetic ' || (array['red-haired','blue-eyed','tall','smiling','bearded'])
                    [1 + g % 5] || ' character number ' || g,
                (array['person','creature','robot'])[1 + g % 3],
                (array['male','female'])[1 + g % 2], 18 + g % 60,
                (array['asian','black','white','latino','mixed'])[1 + g % 5],
                (array['photo','anime','painting'])[1 + g % 3],
                CASE WHEN g % 4 = 0 THEN 'lora_' || g END, 0.8, 0.8, '{{}}',
                now() - make_interval(secs => {n} - g), now()
            FROM generate_series(1, {n}) g""",
        ),
        (
            "training assets",
            f"""INSERT INTO assets (id, storage_key, kind, content_type, size_bytes, md5,
                sha256, width, height, provider, model, prompt, seed, meta, created_at)
            SELECT g, 'system_actors/training_data/img/img_' || g || '.jpg', 'image',
                'image/jpeg', 180000 + g % 50000, md5(g::text), md5(g::text) || md5(g::text),
                1024, 1024, 'replicate', 'flux-dev', 'portrait, synthetic', g, '{{}}',
                now() - make_interval(secs => {imgs} - g)
            FROM generate_series(1, {imgs}) g""",
        ),
        (
            "training items",
            f"""INSERT INTO training_data_items (id, actor_id, n, filename, asset_id, prompt,
                status, created_at, updated_at)
            SELECT g,
                CASE WHEN g <= {big * BIG} THEN 1 + (g - 1) / {BIG}
                     ELSE {big + 1} + (g - {big * BIG} - 1) % {rest} END,
                CASE WHEN g <= {big * BIG} THEN 1 + (g - 1) % {BIG}
                     ELSE 1 + (g - {big * BIG} - 1) / {rest} END,
                'img_' || g || '.jpg', g, 'portrait, synthetic', 'synced', now(), now()
            FROM generate_series(1, {imgs}) g""",
        ),
        (
            "poster assets",
            f"""INSERT INTO assets (id, storage_key, kind, content_type, size_bytes, md5,
                sha256, width, height, provider, model, meta, created_at)
            SELECT {poster0} + g, 'actors/actor_' || g || '/poster_frame/v1.png', 'image',
                'image/png', 900000, md5('p' || g), md5('p' || g) || md5('p' || g),
                1024, 1024, 'runpod', 'flux-dev', '{{}}', now()
            FROM generate_series(1, {n}) g""",
        ),
        (
            "poster versions",
            f"""INSERT INTO poster_frame_versions (id, actor_id, version, asset_id,
                is_current, params, created_at)
            SELECT g, g, 1, {poster0} + g, true, '{{}}', now()
            FROM generate_series(1, {n}) g""",
        ),
        (
            "poster renditions",
            f"""INSERT INTO asset_renditions (asset_id, name, storage_key, content_type,
                size_bytes, width, height, md5, created_at)
            SELECT {poster0} + g, s.name,
                'actors/actor_' || g || '/poster_frame/v1_' || s.name || '.webp',
                'image/webp', 20000 * s.k, 256 * s.k, 256 * s.k, md5(g || s.name), now()
            FROM generate_series(1, {n}) g,
                (VALUES ('sm', 1), ('md', 2), ('lg', 4)) AS s(name, k)""",
        ),
        (
            "jobs",
            f"""INSERT INTO jobs (id, kind, queue, status, payload, error, error_log,
                progress, attempts, max_attempts, priority, run_after, cancel_requested,
                stage, finalizer, created_at, started_at, finished_at, updated_at)
            SELECT g, ({KINDS})[1 + g % 4], 'default',
                CASE WHEN g % 100 = 7 THEN 'cancelled' WHEN g % 20 = 3 THEN 'failed'
                     ELSE 'completed' END,
                '{{}}', CASE WHEN g % 20 = 3 THEN 'provider failed' END, '[]', 100, 1, 3,
                0, t.at, false, 'run', false, t.at, t.at, t.at + interval '2 seconds',
                t.at + interval '2 seconds'
            FROM generate_series(1, {jobs}) g,
                LATERAL (SELECT now() - interval '95 days'
                         + make_interval(secs => 60 * 86400.0 * g / {jobs}) AS at) t""",
        ),
        (
            "runs",
            """INSERT INTO job_runs (id, job_id, attempt, worker_id, started_at, finished_at,
                outcome, provider)
            SELECT id, id, 1, 'bench-worker', started_at, finished_at,
                CASE WHEN status = 'failed' THEN 'failed' ELSE 'succeeded' END, 'replicate'
            FROM jobs""",
        ),
        (
            "events",
            f"""INSERT INTO job_events (job_id, kind, event, status, progress, created_at)
            SELECT j.id, j.kind, CASE WHEN e = 1 OR e = {shape.events_per_job} THEN 'status'
                ELSE 'progress' END,
                CASE WHEN e = 1 THEN 'running' WHEN e = {shape.events_per_job} THEN j.status
                ELSE 'running' END,
                100.0 * e / {shape.events_per_job},
                j.started_at + make_interval(secs => e * 0.2)
            FROM jobs j, generate_series(1, {shape.events_per_job}) e""",
        ),
    ]


JOB_STEPS = ("jobs", "runs", "events")


def fill(engine: Engine, shape: Shape, *, jobs_only: bool = False) -> dict[str, float]:
    """Fill the tables; returns seconds per step.

    ``jobs_only`` empties the job tables and fills only them again, so a database
    whose jobs a retention pass deleted serves another pass without a full refill.
    """
    took: dict[str, float] = {}
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))
        if jobs_only:
            start = time.perf_counter()
            # Other tables point at jobs, so no TRUNCATE; with the replica role no
            # foreign key trigger fires (the fill links no row of theirs to a job).
            for table in ("job_events", "job_runs", "jobs"):
                conn.execute(text(f"DELETE FROM {table}"))
            took["empty job tables"] = time.perf_counter() - start
        conn.execute(text("DROP INDEX ix_job_events_job_id, ix_job_events_created_at"))
        for name, sql in _sql(shape):
            if jobs_only and name not in JOB_STEPS:
                continue
            start = time.perf_counter()
            conn.execute(text(sql))
            took[name] = time.perf_counter() - start
        start = time.perf_counter()
        conn.execute(text("CREATE INDEX ix_job_events_job_id ON job_events (job_id)"))
        conn.execute(text("CREATE INDEX ix_job_events_created_at ON job_events (created_at)"))
        took["event indexes"] = time.perf_counter() - start
        for table in (
            *("actors", "assets", "training_data_items", "poster_frame_versions"),
            *("jobs", "job_runs", "job_events", "asset_renditions"),
        ):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    start = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables = " job_events, job_runs, jobs" if jobs_only else ""
        conn.execute(text("VACUUM ANALYZE" + tables))
    took["vacuum analyze"] = time.perf_counter() - start
    return took
