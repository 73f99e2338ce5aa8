"""Persona data: one text-provider request per persona, several in flight at once.

Each request asks for one persona (so one bad answer costs one persona, not a batch)
and carries the task's locale and constraints as variables; at most
``MULTITHREAD_FLOWISE`` requests run at a time, as in the older workers. An answer
that does not pass :func:`castsmith.domain.personas.validate_persona` is asked again
with another seed, up to :data:`ASKS_PER_PERSONA` times.

The same answer carries the persona's selfie prompt, so the image stage needs no
extra text round trip per persona (the older worker made one while holding its single
image slot); a persona whose answer lacks it gets its prompt in the image stage.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from castsmith.domain import personas as rules
from castsmith.domain.errors import InvalidRequest, ValidationError
from castsmith.pipelines._failover import ask_text
from castsmith.providers.base import TextProvider, TextRequest

ASKS_PER_PERSONA = 3
SYSTEM = "You write realistic, varied persona profiles for synthetic avatars. Answer in JSON."

Progress = Callable[[int, int], Awaitable[None]]


def persona_seed(task_id: str, index: int, ask: int) -> int:
    """A stable seed per task, persona and ask, so reruns are reproducible."""
    digest = hashlib.sha256(f"{task_id}:{index}:{ask}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def persona_variables(locale: str, constraints: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Hints for the provider: locale, count 1 and the constraints made concrete."""
    variables: dict[str, Any] = {"locale": locale, "count": 1}
    rng = random.Random(seed)
    if "age_min" in constraints or "age_max" in constraints:
        low = int(constraints.get("age_min", rules.MIN_AGE))
        high = int(constraints.get("age_max", rules.MAX_AGE))
        # A concrete age keeps providers that cannot read ranges inside them.
        variables["age"] = rng.randint(low, high)
    for key in ("gender", "occupation", "location", "ethnicity", "style", "nationality"):
        if key in constraints:
            variables[key] = constraints[key]
    return variables


async def _one(
    text: TextProvider,
    task_id: str,
    index: int,
    locale: str,
    constraints: Mapping[str, Any],
) -> rules.PersonaData:
    prompt = rules.persona_data_prompt(1, locale, constraints)
    problem = "no answer"
    for ask in range(ASKS_PER_PERSONA):
        seed = persona_seed(task_id, index, ask)
        # A line in the cost ledger per ask, under the persona task; a retryable
        # failure moves on along the ``persona_data`` failover providers.
        reply = await ask_text(
            text,
            TextRequest(
                prompt=prompt,
                schema=rules.PERSONA_ITEM_SCHEMA,
                system=SYSTEM,
                seed=seed,
                variables=persona_variables(locale, constraints, seed),
            ),
            persona_task_id=task_id,
        )
        data = reply.data if isinstance(reply.data, dict) else reply.data.model_dump()
        for record in rules.personas_from_reply(data)[:1]:
            try:
                return rules.validate_persona(record, constraints)
            except ValidationError as exc:
                problem = str(exc)
        if not rules.personas_from_reply(data):
            problem = "the answer held no persona"
    raise InvalidRequest(
        f"{text.name} gave no usable persona {index + 1} after {ASKS_PER_PERSONA} tries "
        f"(last problem: {problem})",
        text.name,
    )


async def generate_personas(
    text: TextProvider,
    *,
    task_id: str,
    count: int,
    locale: str,
    constraints: Mapping[str, Any],
    parallel: int,
    progress: Progress | None = None,
) -> list[rules.PersonaData]:
    """``count`` checked personas, in order; the first failure cancels the rest."""
    gate = asyncio.Semaphore(max(1, parallel))
    done = 0

    async def worker(index: int) -> rules.PersonaData:
        nonlocal done
        async with gate:
            persona = await _one(text, task_id, index, locale, constraints)
        done += 1
        if progress is not None:
            await progress(done, count)
        return persona

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(worker(i)) for i in range(count)]
    except ExceptionGroup as failure:
        # One clear error for the job engine (it reads ``retryable`` on it).
        raise failure.exceptions[0] from None
    return [task.result() for task in tasks]
