"""OpenAI: Images (generations and edits, gpt-image family) and chat completions.

The image model is always sent explicitly (the API falls back to dall-e-2 otherwise).
GPT image models answer with ``b64_json``; dall-e style ``url`` items are downloaded
at once. Chat completions use ``response_format`` json_schema for structured text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import ContentFiltered, InvalidRequest, ProviderError
from castsmith.net.guard import GuardPolicy
from castsmith.providers import usage
from castsmith.providers._http import Boundary, decode_data_uri, secret_value
from castsmith.providers._support import Stopwatch, conform, ratio_value, schema_dict
from castsmith.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageProvider,
    ImageResult,
    ImageToImage,
    ProgressCallback,
    Provenance,
    RemoteCall,
    TextProvider,
    TextRequest,
    TextResult,
    TextToImage,
    report,
)

GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")
_FILTER_CODES = {"moderation_blocked", "content_policy_violation", "image_generation_user_error"}
_NO_RETRY_429 = {"insufficient_quota", "billing_hard_limit_reached"}


def _classify(response: httpx.Response, reason: str) -> ProviderError | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    codes = {str(error.get("code") or ""), str(error.get("type") or "")}
    if codes & _FILTER_CODES or reason.startswith("Your request was rejected by the safety"):
        return ContentFiltered(f"openai's safety system refused the request: {reason}", "openai")
    if response.status_code == 429 and codes & _NO_RETRY_429:
        # Quota and billing limits do not lift by waiting.
        return InvalidRequest(f"openai quota or billing limit reached: {reason}", "openai")
    return None


def gpt_image_size(width: int | None, height: int | None, ratio: str | None) -> str:
    """The gpt-image size closest in shape to the request."""
    if ratio:
        target = ratio_value(ratio)
    elif width and height:
        target = width / height
    else:
        return "1024x1024"
    return min(
        GPT_IMAGE_SIZES, key=lambda s: abs(int(s.split("x")[0]) / int(s.split("x")[1]) - target)
    )


class _OpenAIBase:
    name = "openai"

    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: SecretStr | str,
        base_url: str,
        timeout: float,
        download_guard: GuardPolicy | None = None,
    ) -> None:
        key = secret_value(api_key)
        self.base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {key}"}
        self._http = Boundary(
            self.name, http, timeout, secrets=[key], classify=_classify, guard=download_guard
        )

    async def check(self) -> str:
        """``GET /models`` proves the key works."""
        await self._http.request("GET", f"{self.base}/models", headers=self._headers)
        return "key accepted"


class OpenAIImages(_OpenAIBase, ImageProvider):
    """Images generations (JSON) and edits (multipart, several ``image[]``)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | str,
        base_url: str = "https://api.openai.com/v1",
        image_model: str = "gpt-image-1",
        timeout: float = 300.0,
        quality: str = "auto",
        download_guard: GuardPolicy | None = None,
    ) -> None:
        super().__init__(http, api_key, base_url, timeout, download_guard)
        self.image_model = image_model
        self.quality = quality
        self.capabilities = Capabilities(
            text_to_image=True, image_to_image=True, max_images=10, sizes=GPT_IMAGE_SIZES
        )

    @property
    def model(self) -> str:
        return self.image_model

    async def text_to_image(
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """``POST /images/generations``."""
        model = request.model or self.image_model
        body = {
            "model": model,
            "prompt": request.prompt,
            "n": max(1, min(10, request.count)),
            "size": gpt_image_size(request.width, request.height, request.aspect_ratio),
            "quality": self.quality,
        }
        await report(progress, 0.1, "openai is generating")
        watch = Stopwatch()
        response = await self._http.request(
            "POST", f"{self.base}/images/generations", json=body, headers=self._headers
        )
        return await self._result(response, model, watch)

    async def image_to_image(
        self,
        request: ImageToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """``POST /images/edits`` with every input image."""
        if not request.images:
            raise self._http.invalid("openai image edits need at least one input image")
        model = request.model or self.image_model
        field = "image" if len(request.images) == 1 else "image[]"
        files = [(field, (img.name, img.data, img.content_type)) for img in request.images]
        data = {
            "model": model,
            "prompt": request.prompt,
            "n": str(max(1, min(10, request.count))),
            "size": gpt_image_size(request.width, request.height, request.aspect_ratio),
            "quality": self.quality,
        }
        await report(progress, 0.1, "openai is editing")
        watch = Stopwatch()
        response = await self._http.request(
            "POST", f"{self.base}/images/edits", data=data, files=files, headers=self._headers
        )
        return await self._result(response, model, watch)

    async def _result(self, response: httpx.Response, model: str, watch: Stopwatch) -> ImageResult:
        body = self._http.json(response)
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise self._http.malformed("no images in data")
        watch.lap("generate")
        images: list[GeneratedImage] = []
        for item in items:
            if isinstance(item, dict) and item.get("b64_json"):
                try:
                    raw, content_type = decode_data_uri(str(item["b64_json"]))
                except ValueError:
                    raise self._http.malformed("b64_json is not valid base64") from None
            elif isinstance(item, dict) and item.get("url"):
                raw, content_type = await self._http.download(str(item["url"]))
            else:
                raise self._http.malformed("an image item has neither b64_json nor url")
            images.append(GeneratedImage(raw, content_type))
        watch.lap("download")
        # OpenAI bills per image by size and quality (gpt-image also reports tokens).
        usage.note(
            images=len(images),
            size=body.get("size"),
            quality=body.get("quality"),
            tokens=body.get("usage"),
        )
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(
                provider=self.name,
                model=model,
                provider_job_id=response.headers.get("x-request-id"),
                timings=watch.total(),
            ),
        )


class OpenAIText(_OpenAIBase, TextProvider):
    """Chat completions with ``response_format`` json_schema."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | str,
        base_url: str = "https://api.openai.com/v1",
        text_model: str = "gpt-4o-mini",
        timeout: float = 120.0,
    ) -> None:
        super().__init__(http, api_key, base_url, timeout)
        self.text_model = text_model

    async def generate_json(
        self, request: TextRequest, progress: ProgressCallback | None = None
    ) -> TextResult:
        """Ask for JSON matching the schema and validate what comes back."""
        schema = schema_dict(request.schema)
        name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "result"))[:64]
        messages = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        prompt = request.prompt
        if request.variables:
            prompt += "\n\nDetails: " + json.dumps(dict(request.variables), default=str)
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {
            "model": self.text_model,
            "messages": messages,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema},
            },
        }
        if request.seed is not None:
            body["seed"] = request.seed
        await report(progress, 0.1, "openai is writing")
        watch = Stopwatch()
        response = await self._http.request(
            "POST", f"{self.base}/chat/completions", json=body, headers=self._headers
        )
        answer = self._http.json(response)
        if isinstance(answer, dict):
            usage.note(tokens=answer.get("usage"))  # chat is billed by tokens
        try:
            choice = answer["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise self._http.malformed("no choices in the completion") from None
        if message.get("refusal") or choice.get("finish_reason") == "content_filter":
            raise ContentFiltered(
                self._http.redact(f"openai declined: {message.get('refusal') or 'content filter'}"),
                self.name,
            )
        try:
            parsed = json.loads(message.get("content") or "")
        except ValueError:
            raise self._http.malformed("the completion is not JSON") from None
        watch.lap("generate")
        return TextResult(
            data=conform(parsed, request.schema, self.name),
            provenance=Provenance(
                provider=self.name,
                model=str(answer.get("model") or self.text_model),
                seed=request.seed,
                provider_job_id=answer.get("id"),
                timings=watch.total(),
            ),
        )
