"""Fake LoRA trainers on loopback: Replicate's trainings API and fal's queue API.

Both record every call (``calls``), answer with the vendors' documented shapes and
errors (401, Replicate's 404 for a missing destination, fal's 422 ``detail`` list), and
can be scripted for 429 with Retry-After or slow answers through :meth:`script`.
A training stays queued/running for ``polls`` status polls (``step k/n`` log lines),
then succeeds with real weights (Replicate: an uncompressed tar holding one
``lora.safetensors``; fal: the ``.safetensors`` itself), or fails after
``fail_next(reason)``. Cancels are recorded and end the training. Replicate's
``lose_next_create_answer()`` creates a training but answers 504.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import httpx
import numpy as np
from safetensors.numpy import save
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.fakes.server import FakeServer, bearer_ok


def lora_bytes(rank: int = 4, padding: int = 0) -> bytes:
    """A small valid LoRA ``.safetensors`` (``padding`` adds a tensor of that many bytes)."""
    tensors = {
        "transformer.single_transformer_blocks.0.proj_out.lora_A.weight": np.ones(
            (rank, 8), dtype=np.float16
        ),
        "transformer.single_transformer_blocks.0.proj_out.lora_B.weight": np.zeros(
            (8, rank), dtype=np.float16
        ),
    }
    if padding:
        tensors["padding"] = np.zeros(padding, dtype=np.uint8)
    return save(tensors, metadata={"format": "pt"})


def weights_tar(weights: bytes, members: int = 1) -> bytes:
    """Replicate's ``trained_model.tar``: config, captions and ``members`` safetensors."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        folder = tarfile.TarInfo("output/flux_train_replicate")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        files = [("output/flux_train_replicate/config.yaml", b"job: extension\n")]
        for i in range(members):
            stem = "lora" if i == 0 else f"extra_{i}"
            files.append((f"output/flux_train_replicate/{stem}.safetensors", weights))
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class _Trainings(FakeServer):
    """What both fakes share: training state, polls, failures, fetched datasets."""

    def __init__(self, polls: int = 2, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.polls = polls
        self.trainings: dict[str, dict[str, Any]] = {}
        self.datasets: list[bytes] = []
        self.cancelled: list[str] = []
        self.weights = lora_bytes()
        self._failures: list[str] = []

    def fail_next(self, reason: str) -> None:
        """The next training ends failed with ``reason``."""
        self._failures.append(reason)

    async def _fetch_dataset(self, url: str, headers: dict[str, str] | None = None) -> None:
        # Like the real trainers, read the zip the URL points at (presigned S3, files API).
        if url.startswith(self.url):
            path = url[len(self.url) :]
            self.datasets.append(self.uploads[path.rsplit("/", 1)[-1]])
            return
        async with httpx.AsyncClient() as http:
            answer = await http.get(url, headers=headers)
        answer.raise_for_status()
        self.datasets.append(answer.content)

    uploads: dict[str, bytes]

    def _new(self, **fields: Any) -> dict[str, Any]:
        record = {"_polls": self.polls, "_fail": self._failures.pop(0) if self._failures else None}
        record.update(fields)
        return record


class FakeReplicateTrainings(_Trainings):
    """``FakeReplicateTrainings(polls=2)``; clients use ``base_url=fake.url``."""

    trainer = "ostris/flux-dev-lora-trainer"
    trainer_version = "e440909d3512c31646ee2e0c7d6f6f4923224863a6a10c494606e79fb5844497"

    def __init__(
        self,
        polls: int = 2,
        owner: str = "acme",
        token: str = "r8_train_token",  # noqa: S107
    ) -> None:
        super().__init__(polls)
        self.owner = owner
        self.token = token
        self.models: dict[str, dict[str, Any]] = {}
        self.uploads = {}
        self.tar_members = 1
        self.lost_answers = 0

    def lose_next_create_answer(self) -> None:
        """The next training is created, but its answer is a gateway timeout (504), as
        when the connection drops after Replicate accepted the request."""
        self.lost_answers += 1

    def _auth(self, request: Request) -> Response | None:
        if bearer_ok(request, self.token):
            return None
        return JSONResponse(
            {
                "title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token",
                "status": 401,
            },
            status_code=401,
            media_type="application/problem+json",
        )

    async def _account(self, request: Request) -> Response:
        return self._auth(request) or JSONResponse(
            {"type": "organization", "username": self.owner, "name": "Acme"}
        )

    async def _model(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        name = f"{request.path_params['owner']}/{request.path_params['name']}"
        if name == self.trainer:
            return JSONResponse({"owner": "ostris", "latest_version": {"id": self.trainer_version}})
        if name not in self.models:
            return JSONResponse({"detail": "Not found.", "status": 404}, status_code=404)
        return JSONResponse(self.models[name])

    async def _create_model(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        body = await request.json()
        name = f"{body['owner']}/{body['name']}"
        self.models[name] = {"owner": body["owner"], "name": body["name"], "latest_version": None}
        return JSONResponse(self.models[name], status_code=201)

    async def _upload(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        form = await request.form()
        content = form["content"]
        assert not isinstance(content, str)
        data = await content.read()
        file_id = self.next_id("f")
        self.uploads[file_id] = data
        url = f"{self.url}/v1/files/{file_id}"
        return JSONResponse(
            {"id": file_id, "name": content.filename, "size": len(data), "urls": {"get": url}},
            status_code=201,
        )

    def _public(self, t: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in t.items() if not k.startswith("_")}

    async def _create(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        body = await request.json()
        destination = body.get("destination", "")
        if destination not in self.models:
            return JSONResponse(
                {"detail": "The specified training destination does not exist", "status": 404},
                status_code=404,
            )
        images = (body.get("input") or {}).get("input_images")
        if not images:
            return JSONResponse(
                {"detail": "input: input_images is required", "status": 422}, status_code=422
            )
        await self._fetch_dataset(images)
        tid = self.next_id("t")
        self.trainings[tid] = self._new(
            id=tid,
            model=self.trainer,
            version=request.path_params["version"],
            destination=destination,
            input=body["input"],
            status="starting",
            logs="",
            output=None,
            error=None,
            metrics={},
            urls={"get": f"{self.url}/v1/predictions/{tid}"},
        )
        if self.lost_answers:
            self.lost_answers -= 1
            return JSONResponse({"detail": "upstream request timeout"}, status_code=504)
        return JSONResponse(self._public(self.trainings[tid]), status_code=201)

    def _advance(self, t: dict[str, Any]) -> None:
        if t["status"] not in ("starting", "processing"):
            return
        steps = int(t["input"].get("steps") or 1000)
        done = self.polls - t["_polls"]
        lines = [f"step {int(steps * i / self.polls)}/{steps}" for i in range(done + 1)]
        t["logs"] = "\n".join(lines)
        if t["_polls"] > 0:
            t["_polls"] -= 1
            t["status"] = "processing"
            return
        if t["_fail"]:
            t.update(status="failed", error=t["_fail"])
            return
        tar_bytes = weights_tar(self.weights, self.tar_members)
        tar = self.add_file(tar_bytes, "application/x-tar", ".tar")
        t.update(
            status="succeeded",
            output={"version": f"{t['destination']}:abc123", "weights": tar},
            metrics={"predict_time": 12.5, "total_time": 14.0},
        )

    async def _get(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        t = self.trainings.get(request.path_params["tid"])
        if t is None:
            return JSONResponse({"detail": "Not found.", "status": 404}, status_code=404)
        self._advance(t)
        return JSONResponse(self._public(t))

    async def _list(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        results = [self._public(t) for t in reversed(self.trainings.values())]
        return JSONResponse({"next": None, "previous": None, "results": results})

    async def _cancel(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        tid = request.path_params["tid"]
        t = self.trainings.get(tid)
        if t is None:
            return JSONResponse({"detail": "Not found.", "status": 404}, status_code=404)
        self.cancelled.append(tid)
        if t["status"] in ("starting", "processing"):
            t.update(status="canceled", metrics={"predict_time": 0.0})
        return JSONResponse(self._public(t))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/account", self._account, methods=["GET"]),
            Route("/v1/models", self._create_model, methods=["POST"]),
            Route("/v1/models/{owner}/{name}", self._model, methods=["GET"]),
            Route(
                "/v1/models/{owner}/{name}/versions/{version}/trainings",
                self._create,
                methods=["POST"],
            ),
            Route("/v1/files", self._upload, methods=["POST"]),
            Route("/v1/trainings", self._list, methods=["GET"]),
            Route("/v1/trainings/{tid}", self._get, methods=["GET"]),
            Route("/v1/trainings/{tid}/cancel", self._cancel, methods=["POST"]),
        ]


class FakeFal(_Trainings):
    """``FakeFal(polls=2)``: queue at ``fake.url``, storage REST at ``fake.url`` too."""

    def __init__(self, polls: int = 2, key: str = "fal_id:fal_secret") -> None:
        super().__init__(polls)
        self.key = key
        self.uploads = {}
        self.inputs: list[dict[str, Any]] = []

    def _auth(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Key {self.key}":
            return None
        return JSONResponse({"detail": "Unauthorized: invalid key"}, status_code=401)

    async def _token(self, request: Request) -> Response:
        return self._auth(request) or JSONResponse(
            {"token": "cdn-token", "token_type": "Bearer", "base_url": self.url, "expires_at": ""}
        )

    async def _cdn_upload(self, request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer cdn-token":
            return JSONResponse({"detail": "bad upload token"}, status_code=401)
        file_id = self.next_id("z")
        self.uploads[file_id] = await request.body()
        return JSONResponse({"access_url": f"{self.url}/cdn/{file_id}"})

    async def _submit(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        body = await request.json()
        if not body.get("images_data_url"):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "loc": ["body", "images_data_url"],
                            "msg": "field required",
                            "type": "value_error.missing",
                        }
                    ]
                },
                status_code=422,
            )
        self.inputs.append(body)
        await self._fetch_dataset(body["images_data_url"])
        rid = self.next_id("r")
        app = f"{request.path_params['owner']}/{request.path_params['app']}"
        base = f"{self.url}/{app}/requests/{rid}"
        self.trainings[rid] = self._new(id=rid, app=app, status="IN_QUEUE", input=body)
        return JSONResponse(
            {
                "request_id": rid,
                "gateway_request_id": rid,
                "status": "IN_QUEUE",
                "queue_position": 0,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
            }
        )

    async def _status(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        t = self.trainings.get(request.path_params["rid"])
        if t is None:
            return JSONResponse({"detail": "Request not found"}, status_code=404)
        if t["status"] in ("IN_QUEUE", "IN_PROGRESS"):
            if t["_polls"] > 0:
                t["_polls"] -= 1
                t["status"] = "IN_PROGRESS"
            else:
                t["status"] = "COMPLETED"
        steps = int(t["input"].get("steps") or 1000)
        done = self.polls - t["_polls"]
        logs = [
            {"message": f"step {int(steps * i / self.polls)}/{steps}", "level": "INFO"}
            for i in range(done + 1)
        ]
        body: dict[str, Any] = {"status": t["status"], "response_url": f"{self.url}/x"}
        if t["status"] == "IN_PROGRESS":
            body["logs"] = logs if "logs=1" in str(request.url.query) else None
        if t["status"] == "COMPLETED":
            body["metrics"] = {"inference_time": 33.0}
        return JSONResponse(body)

    async def _result(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        t = self.trainings.get(request.path_params["rid"])
        if t is None:
            return JSONResponse({"detail": "Request not found"}, status_code=404)
        if t["status"] != "COMPLETED":
            return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
        if t["_fail"]:
            return JSONResponse({"detail": t["_fail"]}, status_code=422)
        if t.get("cancelled"):
            return JSONResponse({"detail": "Request was cancelled"}, status_code=400)
        url = self.add_file(self.weights, "application/octet-stream", ".safetensors")
        return JSONResponse(
            {
                "diffusers_lora_file": {"url": url, "file_size": len(self.weights)},
                "config_file": {"url": self.add_file(b"{}", "application/json", ".json")},
            }
        )

    async def _cancel(self, request: Request) -> Response:
        if denied := self._auth(request):
            return denied
        rid = request.path_params["rid"]
        t = self.trainings.get(rid)
        if t is None:
            return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
        self.cancelled.append(rid)
        if t["status"] == "COMPLETED":
            return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)
        t.update(status="COMPLETED", cancelled=True)
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    async def _cdn_file(self, request: Request) -> Response:
        data = self.uploads.get(request.path_params["fid"])
        return Response(data, media_type="application/zip") if data else Response(status_code=404)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/storage/auth/token", self._token, methods=["POST"]),
            Route("/files/upload", self._cdn_upload, methods=["POST"]),
            Route("/cdn/{fid}", self._cdn_file, methods=["GET"]),
            Route("/{owner}/{app}/requests/{rid}/status", self._status, methods=["GET"]),
            Route("/{owner}/{app}/requests/{rid}/cancel", self._cancel, methods=["PUT"]),
            Route("/{owner}/{app}/requests/{rid}", self._result, methods=["GET"]),
            Route("/{owner}/{app}", self._submit, methods=["POST"]),
        ]
