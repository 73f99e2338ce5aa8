"""Persona task test helpers on top of :mod:`tests.harness`: fakes and task shortcuts.

No tests live here; the persona pipeline and API tests import from it.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from PIL import Image
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from castsmith.config import Settings
from tests.fakes import FakeFlowise, FakeOpenAI
from tests.harness import AppEnv, running_app

FINISHED = {"completed", "completed_with_errors", "failed"}

PEOPLE = [
    ("Maren", "Holt", 31, "female", "Bergen, Norway", "Marine biologist"),
    ("Tobias", "Krüger", 44, "male", "Leipzig, Germany", "Carpenter"),
    ("Ines", "Carvalho", 27, "female", "Porto, Portugal", "Illustrator"),
    ("Kwame", "Mensah", 52, "male", "Accra, Ghana", "Pharmacist"),
    ("Yuki", "Tanaka", 38, "female", "Osaka, Japan", "Architect"),
]


def person(index: int) -> dict[str, Any]:
    """Persona data as a remote flow would answer it (seed field names)."""
    first, last, age, gender, location, job = PEOPLE[index % len(PEOPLE)]
    return {
        "firstname": first,
        "lastname": last if index < len(PEOPLE) else f"{last}-{index}",
        "age": age,
        "gender": gender,
        "location": location,
        "occupation": job,
        "bio": f"{first} works as a {job.lower()} in {location} and loves long walks.",
    }


class PersonaFlowise(FakeFlowise):
    """A Flowise flow that answers persona questions with different people in turn,
    and image-prompt questions with a selfie prompt naming the person asked about."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self._next = itertools.count()

    async def _predict(self, request: Request) -> Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        self.questions.append(body)
        question = str(body.get("question", ""))
        base = {"question": question, "chatId": "chat-1", "chatMessageId": "msg-1"}
        if question.startswith("Write one prompt"):
            name = question.split("this person: ", 1)[1].split(",", 1)[0]
            text = json.dumps({"image_prompt": f"a smartphone selfie of {name}, daylight"})
            return JSONResponse({**base, "text": f"```json\n{text}\n```"})
        return JSONResponse({**base, "json": person(next(self._next)), "text": ""})


def _refused() -> Response:
    return JSONResponse(
        {
            "error": {
                "message": "Your request was rejected by the safety system.",
                "type": "image_generation_user_error",
                "param": None,
                "code": "moderation_blocked",
            }
        },
        status_code=400,
    )


class GridOpenAI(FakeOpenAI):
    """OpenAI Images whose edits (the grid step) fail for prompts naming ``fail_for``,
    and whose generations (the base selfie) fail for prompts naming ``fail_selfies_for``."""

    def __init__(self, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.fail_for: set[str] = set()
        self.fail_selfies_for: set[str] = set()
        self.fail_all_edits = False

    async def _generate(self, request: Request) -> Response:
        body = await request.json()  # Starlette keeps the body for the fake's own read
        prompt = str(body.get("prompt", ""))
        if any(name in prompt for name in self.fail_selfies_for):
            return _refused()
        return await super()._generate(request)

    async def _edit(self, request: Request) -> Response:
        form = await request.form()
        prompt = str(form.get("prompt", ""))
        if self.fail_all_edits or any(name in prompt for name in self.fail_for):
            return _refused()
        return await super()._edit(request)


def remote_settings(base: Settings, openai: FakeOpenAI, flowise: FakeFlowise) -> Settings:
    """``base`` pointed at the fake OpenAI (images) and the fake Flowise (text)."""
    return base.model_copy(
        update={
            "openai_api_key": openai.api_key,
            "openai_base_url": f"{openai.url}/v1",
            "flowise_url": flowise.url,
            "flowise_chatflow_id": flowise.chatflow_id,
            "flowise_api_key": flowise.api_key,
            "text_provider": "flowise",
            "image_provider": "openai",
            "provider_timeout": 10.0,
        }
    )


@dataclass
class PersonaEnv(AppEnv):
    """The running app with persona task shortcuts."""

    async def create(self, count: int = 3, **body: Any) -> dict[str, Any]:
        answer = await self.client.post("/api/persona-tasks", json={"count": count, **body})
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    async def wait(self, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the task until it finished; return the detail view."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            answer = await self.client.get(f"/api/persona-tasks/{task_id}")
            assert answer.status_code == 200, answer.text
            body = dict(answer.json())
            if body["status"] in FINISHED:
                return body
            assert asyncio.get_running_loop().time() < deadline, body
            await asyncio.sleep(0.05)


@asynccontextmanager
async def persona_env(settings: Settings, concurrency: int = 8) -> AsyncIterator[PersonaEnv]:
    """The app on ``settings`` with an in-process worker running every job kind."""
    async with running_app(settings, concurrency=concurrency) as env:
        yield PersonaEnv(env.client, env.container, env.queue, env.worker)


def open_image(data: bytes) -> Image.Image:
    """Decode fully (a truncated file fails here)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
