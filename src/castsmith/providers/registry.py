"""Which providers this process can use, built once from settings.

A remote provider is configured when its keys (or URL) are present; ``offline`` is
always there. ``auto`` picks the first configured remote in a sensible order, else
offline: images openai, google, replicate; posters (ComfyUI workflows) runpod,
comfyui; text openai, flowise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import httpx

from castsmith.config import Settings
from castsmith.domain.errors import CastsmithError, ConfigurationError
from castsmith.net.guard import GuardPolicy, allow_list
from castsmith.providers._comfy import WorkflowBuilder
from castsmith.providers.base import ImageProvider, TextProvider
from castsmith.providers.comfyui import ComfyUIProvider
from castsmith.providers.flowise import FlowiseText
from castsmith.providers.google import GoogleImages
from castsmith.providers.offline import OfflineImages, OfflineText
from castsmith.providers.openai import OpenAIImages, OpenAIText
from castsmith.providers.replicate import ReplicateProvider
from castsmith.providers.runpod import RunPodProvider

IMAGE_ORDER = ("openai", "google", "replicate")
POSTER_ORDER = ("runpod", "comfyui")
TEXT_ORDER = ("openai", "flowise")
KNOWN = ("offline", "runpod", "comfyui", "replicate", "openai", "google", "flowise")

ImageRole = Literal["image", "poster", "reference"]
"""What an image is made for: base images and training data, posters, references."""


@dataclass(frozen=True)
class ProviderInfo:
    """One line of ``castsmith providers list``."""

    name: str
    kinds: tuple[str, ...]
    configured: bool
    defaults: tuple[str, ...]
    needs: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of probing one provider."""

    name: str
    ok: bool
    verdict: str


NEEDS = {
    "offline": "nothing (built in)",
    "runpod": "CASTSMITH_RUNPOD_API_KEY and CASTSMITH_RUNPOD_ENDPOINT_ID (or _ENDPOINT_URL)",
    "comfyui": "CASTSMITH_COMFYUI_URL",
    "replicate": "CASTSMITH_REPLICATE_API_TOKEN",
    "openai": "CASTSMITH_OPENAI_API_KEY",
    "google": "CASTSMITH_GOOGLE_API_KEY (and CASTSMITH_GOOGLE_PROJECT for Imagen)",
    "flowise": "CASTSMITH_FLOWISE_URL and CASTSMITH_FLOWISE_CHATFLOW_ID",
}


class ProviderRegistry:
    """Configured providers by name, and the defaults the settings ask for."""

    def __init__(
        self,
        images: dict[str, ImageProvider],
        texts: dict[str, TextProvider],
        image_choice: str = "auto",
        poster_choice: str = "auto",
        text_choice: str = "auto",
        reference_choice: str = "auto",
    ) -> None:
        self.images = images
        self.texts = texts
        self.image_choice = image_choice.lower()
        self.poster_choice = poster_choice.lower()
        self.text_choice = text_choice.lower()
        self.reference_choice = reference_choice.lower()

    @overload
    def for_role(self, role: ImageRole, name: str | None = None) -> ImageProvider: ...

    @overload
    def for_role(self, role: Literal["text"], name: str | None = None) -> TextProvider: ...

    def for_role(
        self, role: ImageRole | Literal["text"], name: str | None = None
    ) -> ImageProvider | TextProvider:
        """The provider that does ``role``: the one called ``name``, else the configured one.

        This is the one place that decides which provider a feature uses; ``name`` is a
        request's explicit choice and wins over the settings.
        """
        if role == "text":
            return self.text(name) if name else self.default_text()
        if name:
            return self.image(name)
        if role == "poster":
            return self.default_poster()
        if role == "reference":
            return self.default_reference()
        return self.default_image()

    def configured(self) -> list[str]:
        """Names of every usable provider, offline first."""
        names = list(dict.fromkeys([*self.images, *self.texts]))
        return sorted(names, key=lambda n: KNOWN.index(n) if n in KNOWN else len(KNOWN))

    def image(self, name: str) -> ImageProvider:
        """The image provider called ``name``; ConfigurationError says how to set it up."""
        key = name.lower()
        if key in self.images:
            return self.images[key]
        if key in self.texts:
            raise ConfigurationError(f"{name} makes text, not images")
        raise _not_configured(name)

    def text(self, name: str) -> TextProvider:
        """The text provider called ``name``."""
        key = name.lower()
        if key in self.texts:
            return self.texts[key]
        if key in self.images:
            raise ConfigurationError(f"{name} makes images, not text")
        raise _not_configured(name)

    def _pick_image(self, choice: str, order: tuple[str, ...]) -> ImageProvider:
        if choice != "auto":
            return self.image(choice)
        for name in order:
            if name in self.images:
                return self.images[name]
        return self.images["offline"]

    def default_image(self) -> ImageProvider:
        """For base images, training data and references (CASTSMITH_IMAGE_PROVIDER)."""
        return self._pick_image(self.image_choice, IMAGE_ORDER)

    def default_poster(self) -> ImageProvider:
        """For poster frames, which run a ComfyUI workflow (CASTSMITH_POSTER_PROVIDER)."""
        return self._pick_image(self.poster_choice, POSTER_ORDER)

    def default_reference(self) -> ImageProvider:
        """For character references: Google's Imagen when configured (the seeds' choice),
        else the default image provider (CASTSMITH_REFERENCE_PROVIDER)."""
        if self.reference_choice != "auto":
            return self.image(self.reference_choice)
        if "google" in self.images:
            return self.images["google"]
        return self.default_image()

    def default_text(self) -> TextProvider:
        """For persona data and image prompts (CASTSMITH_TEXT_PROVIDER)."""
        if self.text_choice != "auto":
            return self.text(self.text_choice)
        for name in TEXT_ORDER:
            if name in self.texts:
                return self.texts[name]
        return self.texts["offline"]

    def describe(self) -> list[ProviderInfo]:
        """Every known provider: what it does, whether it is set up, what it is default for."""
        defaults: dict[str, list[str]] = {}
        for role, pick in (
            ("image", self.default_image),
            ("poster", self.default_poster),
            ("text", self.default_text),
        ):
            try:
                defaults.setdefault(pick().name, []).append(role)
            except ConfigurationError:
                continue
        rows = []
        for name in KNOWN:
            kinds = tuple(
                k for k, table in (("image", self.images), ("text", self.texts)) if name in table
            )
            rows.append(
                ProviderInfo(
                    name=name,
                    kinds=kinds or _KINDS[name],
                    configured=name in self.images or name in self.texts,
                    defaults=tuple(defaults.get(name, ())),
                    needs=NEEDS[name],
                )
            )
        return rows

    async def check(self, name: str) -> CheckResult:
        """Probe one provider and give a plain-language verdict."""
        key = name.lower()
        targets: list[ImageProvider | TextProvider] = []
        if key in self.images:
            targets.append(self.images[key])
        if key in self.texts and not targets:
            targets.append(self.texts[key])
        if not targets:
            if key in KNOWN:
                return CheckResult(key, False, f"not configured: set {NEEDS[key]}")
            return CheckResult(key, False, f"unknown provider (known: {', '.join(KNOWN)})")
        try:
            verdict = await targets[0].check()
        except CastsmithError as exc:
            return CheckResult(key, False, str(exc))
        return CheckResult(key, True, verdict)


_KINDS = {
    "offline": ("image", "text"),
    "runpod": ("image",),
    "comfyui": ("image",),
    "replicate": ("image",),
    "openai": ("image", "text"),
    "google": ("image",),
    "flowise": ("text",),
}


def _not_configured(name: str) -> ConfigurationError:
    key = name.lower()
    if key in NEEDS:
        return ConfigurationError(f"provider {key} is not configured: set {NEEDS[key]}")
    return ConfigurationError(f"unknown provider {name!r} (known: {', '.join(KNOWN)})")


def download_guard(settings: Settings) -> GuardPolicy:
    """How provider outputs may be downloaded: public addresses, or a configured host.

    The hosts of the configured providers and of the S3 endpoint are trusted (they were
    chosen by whoever set castsmith up), as is every host in ``fetch_allow_hosts``.
    """
    hosts = allow_list(
        settings.fetch_allow_hosts,
        [
            settings.runpod_endpoint_url,
            settings.comfyui_url,
            settings.replicate_base_url,
            settings.openai_base_url,
            settings.google_base_url,
            settings.s3_endpoint,
        ],
    )
    return GuardPolicy(
        max_bytes=settings.provider_output_max_bytes,
        timeout=settings.provider_timeout,
        allow_hosts=hosts,
    )


def providers_from_settings(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    workflow_builder: WorkflowBuilder | None = None,
) -> ProviderRegistry:
    """Build every provider whose settings are present, plus offline.

    ``workflow_builder`` turns a text-to-image request into a ComfyUI graph; with it,
    RunPod and ComfyUI make images from text as well as run given workflows.
    """
    timeout = settings.provider_timeout
    guard = download_guard(settings)
    images: dict[str, ImageProvider] = {"offline": OfflineImages()}
    texts: dict[str, TextProvider] = {"offline": OfflineText()}
    if settings.runpod_api_key and (settings.runpod_endpoint_id or settings.runpod_endpoint_url):
        images["runpod"] = RunPodProvider(
            http,
            api_key=settings.runpod_api_key,
            endpoint_id=settings.runpod_endpoint_id,
            endpoint_url=settings.runpod_endpoint_url,
            mode=settings.runpod_mode,
            timeout=timeout,
            download_guard=guard,
            workflow_builder=workflow_builder,
        )
    if settings.comfyui_url:
        images["comfyui"] = ComfyUIProvider(
            http,
            base_url=settings.comfyui_url,
            timeout=timeout,
            download_guard=guard,
            workflow_builder=workflow_builder,
        )
    if settings.replicate_api_token:
        images["replicate"] = ReplicateProvider(
            http,
            api_token=settings.replicate_api_token,
            base_url=settings.replicate_base_url,
            timeout=timeout,
            download_guard=guard,
        )
    if settings.openai_api_key:
        images["openai"] = OpenAIImages(
            http,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            image_model=settings.openai_image_model,
            timeout=max(timeout, 120.0),
            download_guard=guard,
        )
        texts["openai"] = OpenAIText(
            http,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            text_model=settings.openai_text_model,
            timeout=max(timeout, 60.0),
        )
    if settings.google_api_key:
        images["google"] = GoogleImages(
            http,
            api_key=settings.google_api_key,
            image_model=settings.google_image_model,
            project=settings.google_project,
            location=settings.google_location,
            base_url=settings.google_base_url,
            timeout=timeout,
        )
    if settings.flowise_url and settings.flowise_chatflow_id:
        texts["flowise"] = FlowiseText(
            http,
            base_url=settings.flowise_url,
            chatflow_id=settings.flowise_chatflow_id,
            api_key=settings.flowise_api_key,
            timeout=max(timeout, 120.0),
        )
    return ProviderRegistry(
        images,
        texts,
        image_choice=settings.image_provider,
        poster_choice=settings.poster_provider,
        text_choice=settings.text_provider,
        reference_choice=settings.reference_provider,
    )
