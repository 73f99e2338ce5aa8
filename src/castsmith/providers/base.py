"""The small interface every generator sits behind.

Requests and results are frozen dataclasses so a job can keep them, log them and
retry them unchanged. A provider translates one request into its vendor's calls and
maps every vendor failure into :mod:`castsmith.domain.errors` at its boundary; it never
retries on its own beyond polling a job it started (the job engine owns retries and
reads ``retryable`` on the error).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from castsmith.domain.errors import InvalidRequest
from castsmith.providers import usage

ProgressCallback = Callable[[float, str], Awaitable[None]]
"""``await progress(fraction, message)``: fraction in 0..1, message for a person."""


@dataclass(frozen=True)
class LoraRef:
    """A LoRA to apply: a file name known to the server or a URL."""

    name_or_url: str
    strength_model: float = 1.0
    strength_clip: float = 1.0


@dataclass(frozen=True)
class InputImage:
    """Image bytes sent to a provider (a reference face, a base image to vary)."""

    data: bytes
    name: str = "input.png"
    content_type: str = "image/png"


@dataclass(frozen=True)
class TextToImage:
    """Make ``count`` images from a prompt.

    Give either ``width``/``height`` or ``aspect_ratio`` (``"1:1"``, ``"16:9"``, ...);
    providers pick the closest size they support. ``grid=True`` asks for one 2x2 grid
    image with white gutters (the offline provider draws one; remote providers receive
    the wish through the prompt).
    """

    prompt: str
    width: int | None = 1024
    height: int | None = 1024
    aspect_ratio: str | None = None
    seed: int | None = None
    count: int = 1
    model: str | None = None
    loras: tuple[LoraRef, ...] = ()
    negative_prompt: str = ""
    grid: bool = False


@dataclass(frozen=True)
class ImageToImage:
    """Make ``count`` images from a prompt and one or more input images."""

    prompt: str
    images: tuple[InputImage, ...]
    aspect_ratio: str | None = None
    seed: int | None = None
    count: int = 1
    model: str | None = None
    width: int | None = None
    height: int | None = None
    negative_prompt: str = ""
    grid: bool = False


@dataclass(frozen=True)
class RunWorkflow:
    """Run a ComfyUI API-format graph; ``images`` are uploaded under their ``name``."""

    workflow: Mapping[str, Any]
    images: tuple[InputImage, ...] = ()
    #: Node classes the provider may take out when its server lacks them (a speed-up
    #: such as TeaCache that the caller did not ask for explicitly).
    optional_nodes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RemoteCall:
    """How a caller makes a paid remote job run once, across crashes and retries.

    A provider that submits work and then waits for it calls ``on_submitted(remote_id)``
    right after the submission, before waiting, so the caller can record the id. Given
    ``resume_id``, it submits nothing: it follows that remote job (status, then result).
    A provider that makes several remote jobs for one call (Replicate, one prediction
    per image) reports them comma-separated, the ones so far each time, and resumes
    the ones listed in ``resume_id``.
    """

    resume_id: str | None = None
    on_submitted: Callable[[str], Awaitable[None]] | None = None

    async def submitted(self, remote_id: str) -> None:
        """Tell the caller the remote id (no-op without a callback)."""
        usage.submitted(remote_id)
        if self.on_submitted is not None:
            await self.on_submitted(remote_id)


@dataclass(frozen=True)
class GeneratedImage:
    """One output image."""

    data: bytes
    content_type: str = "image/png"
    seed: int | None = None


@dataclass(frozen=True)
class Provenance:
    """Where an output came from; stored beside every asset."""

    provider: str
    model: str
    seed: int | None = None
    provider_job_id: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    placeholder: bool = False
    #: What the provider changed to serve the request (e.g. a node it took out).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageResult:
    """The images a call produced and how."""

    images: tuple[GeneratedImage, ...]
    provenance: Provenance


@dataclass(frozen=True)
class TextRequest:
    """Ask for JSON matching ``schema`` (a JSON Schema dict or a pydantic model class).

    ``variables`` carry structured hints (``count``, ``locale``, persona fields) that
    remote flows receive as override variables and the offline provider reads directly.
    """

    prompt: str
    schema: dict[str, Any] | type[BaseModel] | None = None
    system: str = ""
    seed: int | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextResult:
    """Parsed JSON (a dict, or an instance of the requested model) and provenance."""

    data: dict[str, Any] | BaseModel
    provenance: Provenance


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; the UI and the registry read this."""

    text_to_image: bool = False
    image_to_image: bool = False
    workflow: bool = False
    text: bool = False
    max_images: int = 1
    sizes: tuple[str, ...] = ()
    aspect_ratios: tuple[str, ...] = ()


def unsupported(provider: str, what: str, hint: str) -> InvalidRequest:
    """The error for an operation a provider cannot do, with what to do instead."""
    return InvalidRequest(f"{provider} cannot {what}; {hint}", provider)


WORKFLOW_HINT = "set CASTSMITH_POSTER_PROVIDER=runpod or comfyui (or offline)"


class ImageProvider(ABC):
    """A generator of images. Override the operations the provider supports."""

    name: str
    capabilities: Capabilities

    @property
    def model(self) -> str:
        """The model used when a request names none."""
        return self.name

    async def text_to_image(
        self,
        request: TextToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Generate images from a prompt (``remote``: as for :meth:`run_workflow`)."""
        raise unsupported(self.name, "make images from text", "choose another image provider")

    async def image_to_image(
        self,
        request: ImageToImage,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Generate images from a prompt and input images (``remote``: see :meth:`run_workflow`).

        Providers whose calls answer at once (OpenAI, Google, offline) ignore ``remote``.
        """
        raise unsupported(
            self.name, "make images from input images", "choose openai, google or replicate"
        )

    async def run_workflow(
        self,
        request: RunWorkflow,
        progress: ProgressCallback | None = None,
        *,
        remote: RemoteCall | None = None,
    ) -> ImageResult:
        """Run a ComfyUI workflow (``remote``: record the job id, or resume one)."""
        raise unsupported(self.name, "run ComfyUI workflows", WORKFLOW_HINT)

    async def cancel(self, provider_job_id: str) -> None:  # noqa: B027 - optional hook
        """Ask the provider to stop a job it is running; a no-op where jobs are instant."""

    @abstractmethod
    async def check(self) -> str:
        """Probe reachability and credentials; return a short verdict or raise."""


class TextProvider(ABC):
    """A generator of structured text (persona data, image prompts)."""

    name: str

    @abstractmethod
    async def generate_json(
        self, request: TextRequest, progress: ProgressCallback | None = None
    ) -> TextResult:
        """Return JSON matching ``request.schema``."""

    @abstractmethod
    async def check(self) -> str:
        """Probe reachability and credentials; return a short verdict or raise."""


async def report(progress: ProgressCallback | None, fraction: float, message: str) -> None:
    """Call ``progress`` when one was given, clamping the fraction to 0..1."""
    if progress is not None:
        await progress(min(1.0, max(0.0, fraction)), message)
