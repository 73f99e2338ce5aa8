"""Fake provider servers speaking the vendors' documented HTTP contracts on loopback.

Each fake is a real HTTP server (uvicorn in a background thread on a free port) so the
clients are tested end to end without patching anything. Shared knobs (from
:class:`tests.fakes.server.FakeServer`):

* ``FakeX(latency=0.5)``: delay every answer (benchmarks, timeouts).
* ``fake.calls`` / ``fake.calls_to("/run")``: what was received (method, path,
  query, headers, body; ``call.json()``).
* ``fake.script(path, status=429, headers={"Retry-After": "7"}, json=..., body=...,
  delay=..., times=1, method=None, passthrough=False)``: answer the next matching
  request(s) this way (``passthrough=True`` only delays). Use ``body=b"not json"``
  for malformed answers.
* ``fake.add_file(data)`` returns a URL the fake serves; ``fake.expire_files(403)``
  turns every such link into an expired one.
* ``with FakeX() as fake:`` or ``fake.start()`` / ``fake.stop()``; ``fake.url``.

Vendors:

* :class:`FakeRunPod` (``fake.base`` is the endpoint URL): output shapes 5.x and
  older, ``finish_next(status, error)``, ``forget(job_id)``, ``runsync_finishes``.
* :class:`FakeComfyUI`: websocket events, ``missing_models``, ``fail_execution``,
  ``drop_socket``, ``hang``, uploads with renames, ``/interrupt``.
* :class:`FakeReplicate`: ``Prefer: wait``, polling, ``output_mode``, ``fail_next``.
* :class:`FakeOpenAI` (``base_url=f"{fake.url}/v1"``): b64 or URL images, edits,
  chat completions (``chat_reply``, ``refuse_chat``), ``BLOCKED`` prompts.
* :class:`FakeGoogle`: Vertex Imagen ``:predict`` and Gemini ``generateContent``,
  ``filter_all``, prompts with ``sensitive``.
* :class:`FakeFlowise`: ``reply`` and ``reply_mode`` (json, fenced, prose).
"""

from tests.fakes.comfyui import FakeComfyUI
from tests.fakes.flowise import FakeFlowise
from tests.fakes.google import FakeGoogle
from tests.fakes.openai import FakeOpenAI
from tests.fakes.replicate import FakeReplicate
from tests.fakes.runpod import FakeRunPod
from tests.fakes.server import Call, FakeServer, Scripted, png

__all__ = [
    "Call",
    "FakeComfyUI",
    "FakeFlowise",
    "FakeGoogle",
    "FakeOpenAI",
    "FakeReplicate",
    "FakeRunPod",
    "FakeServer",
    "Scripted",
    "png",
]
