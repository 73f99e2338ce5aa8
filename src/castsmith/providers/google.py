"""Google image models: Imagen ``:predict`` (Vertex AI URL shape) and Gemini images.

Imagen on the Gemini API was retired in 2026, so Imagen goes through Vertex AI
(``{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}
:predict`` with a bearer token). Gemini image models (``gemini-*``) go through
``{base}/v1beta/models/{model}:generateContent`` with ``x-goog-api-key`` and also do
image-to-image. Filtered results become ContentFiltered when nothing usable came back.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import httpx
from pydantic import SecretStr

from castsmith.domain.errors import ContentFiltered, ProviderError
from castsmith.imaging.sniff import sniff_content_type
from castsmith.providers import usage
from castsmith.providers._http import Boundary, secret_value
from castsmith.providers._support import Stopwatch, closest_ratio
from castsmith.providers.base import (
    Capabilities,
    GeneratedImage,
    ImageProvider,
    ImageResult,
    ImageToImage,
    InputImage,
    ProgressCallback,
    Provenance,
    RemoteCall,
    TextToImage,
    report,
)

IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
GEMINI_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_BLOCK_REASONS = {"SAFETY", "PROHIBITED_CONTENT", "IMAGE_SAFETY", "BLOCKLIST", "SPII", "OTHER"}
_FILTER_WORDS = ("sensitive words", "safety", "responsible ai", "violat")


def _classify(response: httpx.Response, reason: str) -> ProviderError | None:
    if response.status_code == 400 and any(w in reason.lower() for w in _FILTER_WORDS):
        return ContentFiltered(f"google's safety filter refused the prompt: {reason}", "google")
    return None


class GoogleImages(ImageProvider):
    """Imagen (text-to-image) and Gemini image models (text- and image-to-image)."""

    name = "google"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | str,
        image_model: str = "imagen-4.0-generate-001",
        project: str = "",
        location: str = "us-central1",
        base_url: str = "",
        timeout: float = 120.0,
    ) -> None:
        self.image_model = image_model
        self.project = project
        self.location = location
        self.base_url = base_url.rstrip("/")
        key = secret_value(api_key)
        self._key = key
        self._http = Boundary(self.name, http, timeout, secrets=[key], classify=_classify)
        gemini = image_model.startswith("gemini")
        self.capabilities = Capabilities(
            text_to_image=True,
            image_to_image=gemini,
            max_images=1 if gemini else 4,
            aspect_ratios=GEMINI_RATIOS if gemini else IMAGEN_RATIOS,
        )

    @property
    def model(self) -> str:
        return self.image_model

    def _imagen_url(self, model: str) -> str:
        if not self.project:
            raise self._http.invalid(
                "google Imagen needs a Vertex AI project: set CASTSMITH_GOOGLE_PROJECT "
                "(or choose a gemini-* image model)"
            )
        base = self.base_url or f"https://{self.location}-aiplatform.googleapis.com"
        return (
            f"{base}/v1/projects/{self.project}/locations/{self.location}"
            f"/publishers/google/models/{model}:predict"
        )

    def _gemini_url(self, model: str) -> str:
        base = self.base_url or "https://generativelanguage.googleapis.com"
        return f"{base}/v1beta/models/{model}:generateContent"

    async def text_to_image(
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Imagen ``:predict`` or Gemini ``generateContent`` depending on the model."""
        model = request.model or self.image_model
        if model.startswith("gemini"):
            ratio = request.aspect_ratio or closest_ratio(
                request.width, request.height, GEMINI_RATIOS
            )
            return await self._gemini(model, request.prompt, (), ratio, request.count, progress)
        ratio = request.aspect_ratio or closest_ratio(request.width, request.height, IMAGEN_RATIOS)
        parameters: dict[str, Any] = {
            "sampleCount": max(1, min(4, request.count)),
            "aspectRatio": ratio,
            "personGeneration": "allow_adult",
            "includeRaiReason": True,
        }
        if request.seed is not None:
            # Vertex only honours a seed when watermarking is off.
            parameters.update(seed=request.seed, addWatermark=False)
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        await report(progress, 0.1, "imagen is generating")
        watch = Stopwatch()
        response = await self._http.request(
            "POST",
            self._imagen_url(model),
            json={"instances": [{"prompt": request.prompt}], "parameters": parameters},
            headers={"Authorization": f"Bearer {self._key}"},
        )
        body = self._http.json(response)
        predictions = body.get("predictions") if isinstance(body, dict) else None
        images: list[GeneratedImage] = []
        reasons: list[str] = []
        for item in predictions if isinstance(predictions, list) else []:
            if not isinstance(item, dict):
                continue
            if item.get("bytesBase64Encoded"):
                images.append(self._decode(item["bytesBase64Encoded"], item.get("mimeType")))
            elif item.get("raiFilteredReason"):
                reasons.append(str(item["raiFilteredReason"]))
        if not images:
            why = "; ".join(reasons) or "no images came back"
            raise ContentFiltered(
                self._http.redact(f"imagen withheld the output: {why}"), self.name
            )
        watch.lap("generate")
        usage.note(images=len(images))  # Google bills image models per image
        return ImageResult(
            images=tuple(images),
            provenance=Provenance(self.name, model, request.seed, None, watch.total()),
        )

    async def image_to_image(
        self,
        request: ImageToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Gemini image models take input images as inline parts."""
        model = request.model or self.image_model
        if not model.startswith("gemini"):
            return await super().image_to_image(request, progress)
        ratio = request.aspect_ratio or closest_ratio(request.width, request.height, GEMINI_RATIOS)
        return await self._gemini(
            model, request.prompt, request.images, ratio, request.count, progress
        )

    async def _gemini(
        self,
        model: str,
        prompt: str,
        inputs: tuple[InputImage, ...],
        ratio: str,
        count: int,
        progress: ProgressCallback | None,
    ) -> ImageResult:
        parts: list[dict[str, Any]] = [{"text": prompt}]
        parts += [
            {"inlineData": {"mimeType": i.content_type, "data": base64.b64encode(i.data).decode()}}
            for i in inputs
        ]
        body = {
            "contents": [{"role": "user", "parts": parts}],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": {"aspectRatio": ratio},
            },
        }
        watch = Stopwatch()
        images: list[GeneratedImage] = []
        for index in range(max(1, count)):
            await report(progress, index / max(1, count), "gemini is generating")
            response = await self._http.request(
                "POST", self._gemini_url(model), json=body, headers={"x-goog-api-key": self._key}
            )
            images += self._gemini_images(self._http.json(response))
        watch.lap("generate")
        usage.note(images=len(images))  # Google bills image models per image
        return ImageResult(
            images=tuple(images), provenance=Provenance(self.name, model, None, None, watch.total())
        )

    def _gemini_images(self, answer: Any) -> list[GeneratedImage]:
        if not isinstance(answer, dict):
            raise self._http.malformed("generateContent answer is not an object")
        images: list[GeneratedImage] = []
        reasons: list[str] = []
        feedback = answer.get("promptFeedback") or {}
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            reasons.append(f"prompt blocked ({feedback['blockReason']})")
        for candidate in answer.get("candidates") or []:
            if not isinstance(candidate, dict):
                continue
            for part in (candidate.get("content") or {}).get("parts") or []:
                inline = (
                    part.get("inlineData") or part.get("inline_data")
                    if isinstance(part, dict)
                    else None
                )
                if isinstance(inline, dict) and inline.get("data"):
                    images.append(self._decode(inline["data"], inline.get("mimeType")))
            if candidate.get("finishReason") in _BLOCK_REASONS:
                reasons.append(f"finish reason {candidate['finishReason']}")
        if not images:
            why = "; ".join(reasons) or "the model answered without an image"
            if reasons:
                raise ContentFiltered(
                    self._http.redact(f"gemini withheld the image: {why}"), self.name
                )
            raise self._http.malformed(why)
        return images

    def _decode(self, data: Any, mime: Any) -> GeneratedImage:
        try:
            raw = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise self._http.malformed("image bytes are not valid base64") from None
        return GeneratedImage(raw, sniff_content_type(raw, str(mime or "image/png")))

    async def check(self) -> str:
        """List models (Gemini API) or reach the Vertex model (Imagen)."""
        if self.image_model.startswith("gemini") or not self.project:
            base = self.base_url or "https://generativelanguage.googleapis.com"
            await self._http.request(
                "GET", f"{base}/v1beta/models", headers={"x-goog-api-key": self._key}
            )
            return "key accepted"
        url = self._imagen_url(self.image_model).removesuffix(":predict")
        await self._http.request("GET", url, headers={"Authorization": f"Bearer {self._key}"})
        return f"model {self.image_model} reachable in {self.project}/{self.location}"
