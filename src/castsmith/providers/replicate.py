"""Replicate predictions (default model ``black-forest-labs/flux-kontext-pro``).

Creates with ``Prefer: wait`` and polls ``urls.get`` when the wait ran out; outputs may
be a URL, a list of URLs or a data URI and are downloaded at once (Replicate deletes
them after an hour).

Each prediction is paid for once: its id is reported through ``remote`` (the ids so far,
comma-separated) right after it is created, and a later attempt given those ids follows
them (``GET /v1/predictions/{id}``) instead of creating new ones. A prediction that
Replicate no longer knows, or whose output it already deleted, raises
:class:`~castsmith.domain.errors.OutputExpired` so the caller can start afresh.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import ContentFiltered, OutputExpired, ProviderError
from castsmith.net.guard import GuardPolicy
from castsmith.providers import usage
from castsmith.providers._http import Boundary, secret_value, to_data_uri
from castsmith.providers._support import (
    ASPECT_RATIOS,
    Poller,
    Stopwatch,
    closest_ratio,
    finish_then_cancel,
)
from castsmith.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageProvider,
    ImageResult,
    ImageToImage,
    ProgressCallback,
    Provenance,
    RemoteCall,
    TextToImage,
    report,
)

DEFAULT_MODEL = "black-forest-labs/flux-kontext-pro"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}
_FILTERED = re.compile(r"nsfw|sensitive|flagged|safety|E005", re.IGNORECASE)


def _classify(response: httpx.Response, reason: str) -> ProviderError | None:
    if response.status_code in (400, 422) and _FILTERED.search(reason):
        return ContentFiltered(
            f"replicate's safety filter refused the request: {reason}", "replicate"
        )
    return None


class ReplicateProvider(ImageProvider):
    """Text-to-image and image-to-image through Replicate's model predictions API."""

    name = "replicate"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_token: SecretStr | str,
        base_url: str = "https://api.replicate.com",
        default_model: str = DEFAULT_MODEL,
        timeout: float = 60.0,
        wait_seconds: int = 60,
        poll_interval: float = 0.5,
        poll_max_interval: float = 5.0,
        max_wait: float = 1800.0,
        safety_tolerance: int = 2,
        output_format: str = "png",
        download_guard: GuardPolicy | None = None,
    ) -> None:
        self.base = base_url.rstrip("/").removesuffix("/v1")
        self.default_model = default_model
        self.wait_seconds = max(1, min(60, wait_seconds))
        self.poll_interval = poll_interval
        self.poll_max_interval = poll_max_interval
        self.max_wait = max_wait
        self.safety_tolerance = safety_tolerance
        self.output_format = output_format
        token = secret_value(api_token)
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = Boundary(
            self.name, http, timeout, secrets=[token], classify=_classify, guard=download_guard
        )
        self.capabilities = Capabilities(
            text_to_image=True, image_to_image=True, max_images=4, aspect_ratios=ASPECT_RATIOS
        )

    @property
    def model(self) -> str:
        return self.default_model

    async def text_to_image(
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """One prediction per requested image (the model returns a single image)."""
        ratio = request.aspect_ratio or closest_ratio(request.width, request.height)
        base_input: dict[str, Any] = {"prompt": request.prompt, "aspect_ratio": ratio}
        base_input["safety_tolerance"] = self.safety_tolerance
        return await self._generate(
            request.model, base_input, request.seed, request.count, progress, remote
        )

    async def image_to_image(
        self,
        request: ImageToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Edit the first input image (flux-kontext takes one ``input_image``)."""
        if not request.images:
            raise self._http.invalid("replicate image-to-image needs an input image")
        first = request.images[0]
        ratio = request.aspect_ratio or (
            closest_ratio(request.width, request.height)
            if request.width and request.height
            else "match_input_image"
        )
        base_input: dict[str, Any] = {
            "prompt": request.prompt,
            "input_image": to_data_uri(first.data, first.content_type),
            "aspect_ratio": ratio,
            # The model allows at most 2 when an input image is given.
            "safety_tolerance": min(2, self.safety_tolerance),
        }
        return await self._generate(
            request.model, base_input, request.seed, request.count, progress, remote
        )

    async def _generate(
        self,
        model: str | None,
        base_input: dict[str, Any],
        seed: int | None,
        count: int,
        progress: ProgressCallback | None,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        model = model or self.default_model
        call = remote or RemoteCall()
        resumed = [pid for pid in (call.resume_id or "").split(",") if pid]
        watch = Stopwatch()
        images: list[GeneratedImage] = []
        job_ids: list[str] = []
        for index in range(max(1, count)):
            payload = {**base_input, "output_format": self.output_format}
            image_seed = None if seed is None else seed + index
            if image_seed is not None:
                payload["seed"] = image_seed
            if index < len(resumed):
                # Created (and paid for) by an earlier attempt: follow it, never re-create.
                prediction = {"id": resumed[index], "status": "starting"}
                usage.submitted(resumed[index])
                job_ids.append(resumed[index])
            else:
                # Cancelling the job while the prediction is being created (or its id
                # recorded) waits for both: otherwise the prediction runs on, paid for,
                # with no id to cancel it by.
                prediction = await finish_then_cancel(
                    self._create_and_report(model, payload, call, job_ids)
                )
            fetch_first = index < len(resumed)
            prediction = await self._wait(prediction, progress, index, count, fetch_first)
            for url in _output_urls(prediction.get("output")):
                data, content_type = await self._http.download(url)
                images.append(GeneratedImage(data, content_type, image_seed))
        if not images:
            raise self._http.malformed("the prediction succeeded without output")
        usage.note(images=len(images))
        watch.lap("generate")
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(
                provider=self.name,
                model=model,
                seed=seed,
                provider_job_id=",".join(job_ids),
                timings=watch.total(),
            ),
        )

    async def _create_and_report(
        self, model: str, payload: dict[str, Any], call: RemoteCall, job_ids: list[str]
    ) -> dict[str, Any]:
        """Create a prediction, add its id to ``job_ids`` and report them all to ``call``."""
        prediction = await self._create(model, payload)
        usage.add("predictions", 1)
        job_ids.append(str(prediction.get("id", "")))
        await call.submitted(",".join(job_ids))
        return prediction

    async def _create(self, model: str, payload: dict[str, Any]) -> dict[str, Any]:
        owner, _, name = model.partition("/")
        if not owner or not name:
            raise self._http.invalid(f"replicate model must be owner/name, got {model!r}")
        response = await self._http.request(
            "POST",
            f"{self.base}/v1/models/{owner}/{name}/predictions",
            json={"input": payload},
            headers={**self._headers, "Prefer": f"wait={self.wait_seconds}"},
            timeout=self._http.timeout + self.wait_seconds,
        )
        return self._prediction(response)

    async def _wait(
        self,
        prediction: dict[str, Any],
        progress: ProgressCallback | None,
        index: int,
        count: int,
        fetch_first: bool = False,
    ) -> dict[str, Any]:
        """Poll until the prediction ends (``fetch_first``: ask at once, it was resumed)."""
        poller = Poller(self.poll_interval, self.poll_max_interval, self.max_wait)
        resumed = fetch_first
        while resumed or prediction.get("status") not in TERMINAL:
            if poller.expired:
                raise self._http.unavailable(
                    f"replicate prediction {prediction.get('id')} did not finish within "
                    f"{self.max_wait:g} s"
                )
            if not resumed:
                await report(
                    progress,
                    (index + 0.5) / max(1, count),
                    f"replicate prediction {prediction.get('id')}: {prediction.get('status')}",
                )
                await poller.wait()
            resumed = False
            response = await self._http.request(
                "GET",
                self._get_url(prediction),
                headers=self._headers,
                not_found=self._forgotten(str(prediction.get("id"))),
            )
            prediction = self._prediction(response)
        metrics = prediction.get("metrics")
        if isinstance(metrics, dict) and isinstance(metrics.get("predict_time"), int | float):
            usage.add("predict_time", float(metrics["predict_time"]))
        await report(progress, (index + 1) / max(1, count), "prediction finished")
        if prediction.get("data_removed"):
            raise OutputExpired(
                f"replicate prediction {prediction.get('id')} ended over an hour ago and "
                "its output was deleted",
                self.name,
            )
        return self._raise_for_terminal(prediction)

    def _forgotten(self, pid: str) -> Callable[[httpx.Response], ProviderError]:
        """The error for a prediction Replicate answers 404 for (expired or unknown)."""

        def expired(_: httpx.Response) -> ProviderError:
            return OutputExpired(f"replicate prediction {pid} is no longer known", self.name)

        return expired

    def _get_url(self, prediction: dict[str, Any]) -> str:
        urls = prediction.get("urls")
        if isinstance(urls, dict) and isinstance(urls.get("get"), str):
            return str(urls["get"])
        return f"{self.base}/v1/predictions/{prediction.get('id')}"

    def _prediction(self, response: httpx.Response) -> dict[str, Any]:
        body = self._http.json(response)
        if not isinstance(body, dict) or "status" not in body or "id" not in body:
            raise self._http.malformed("a prediction with id and status was expected")
        return body

    def _raise_for_terminal(self, prediction: dict[str, Any]) -> dict[str, Any]:
        status = prediction.get("status")
        pid = prediction.get("id")
        if status == "succeeded":
            return prediction
        # The prediction ended without output: a retry must create a new one.
        usage.note(remote_failed=status)
        error = " ".join(str(prediction.get("error") or "no reason given").split())
        if status == "failed" and _FILTERED.search(error):
            raise ContentFiltered(
                self._http.redact(f"replicate withheld the output: {error}"), self.name
            )
        if status == "failed":
            raise self._http.unavailable(f"replicate prediction {pid} failed: {error}")
        if status == "aborted":
            raise self._http.unavailable(
                f"replicate prediction {pid} was aborted before it started (deadline passed)"
            )
        raise ProviderError(f"replicate prediction {pid} was canceled", self.name)

    async def cancel(self, provider_job_id: str) -> None:
        """Cancel each prediction of a call (ids are comma-separated)."""
        for pid in filter(None, provider_job_id.split(",")):
            await self._http.request(
                "POST", f"{self.base}/v1/predictions/{pid}/cancel", headers=self._headers
            )

    async def check(self) -> str:
        """Listing predictions proves the token works."""
        await self._http.request("GET", f"{self.base}/v1/predictions", headers=self._headers)
        return "token accepted"


def _output_urls(output: Any) -> list[str]:
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [str(item) for item in output if isinstance(item, str)]
    return []
