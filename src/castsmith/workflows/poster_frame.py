"""The poster frame ComfyUI workflow: FLUX dev fp8 with a style + character LoRA stack.

The graph is API format (node id -> ``{class_type, inputs}``) and is built as a plain
dict so it can be sent to RunPod's worker-comfyui, to ComfyUI directly, or read back by
the offline renderer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from castsmith.domain.errors import ValidationError
from castsmith.domain.poster import DEFAULT_STYLE_LORA, poster_prompt

Workflow = dict[str, dict[str, Any]]
MAX_SEED = 2**53 - 1  # JSON-safe and inside ComfyUI's seed range

SAMPLERS = {"euler", "euler_ancestral", "heun", "dpmpp_2m", "dpmpp_2m_sde", "dpm_2", "lms", "ddim"}
SCHEDULERS = {"simple", "normal", "karras", "exponential", "sgm_uniform", "beta", "ddim_uniform"}


#: The TeaCache nodes (current and pre-March-2025 names): a speed-up only, so a poster
#: may be drawn without them when the server lacks them and the request did not ask.
TEACACHE_NODES = frozenset({"TeaCache", "TeaCacheForImgGen"})


@dataclass(frozen=True)
class LoraSpec:
    """One LoRA in the stack; ``name`` is a file name on the ComfyUI server."""

    name: str
    strength_model: float = 1.0
    strength_clip: float = 1.0

    @property
    def file_name(self) -> str:
        """The name with a ``.safetensors`` suffix, as ComfyUI's loaders expect."""
        base = self.name.rsplit("/", 1)[-1]
        return base if base.endswith(".safetensors") else f"{base}.safetensors"


@dataclass(frozen=True)
class PosterParams:
    """Everything that shapes a poster; every field can be overridden per request."""

    description: str
    character_lora: LoraSpec | None = None
    style_lora: LoraSpec | None = field(
        default_factory=lambda: LoraSpec(DEFAULT_STYLE_LORA, 0.9, 0.9)
    )
    trigger_word: str | None = None
    width: int = 1024
    height: int = 1024
    steps: int = 25
    guidance: float = 3.5
    sampler: str = "euler"
    scheduler: str = "simple"
    seed: int | None = None
    model_form: Literal["unet", "checkpoint"] = "unet"
    unet_name: str = "flux1-dev-fp8.safetensors"
    weight_dtype: str = "fp8_e4m3fn"
    checkpoint_name: str = "flux1-dev-fp8.safetensors"
    clip_names: tuple[str, str] = ("t5xxl_fp8_e4m3fn.safetensors", "clip_l.safetensors")
    vae_name: str = "ae.safetensors"
    teacache: Literal["current", "legacy", "off"] = "current"
    teacache_threshold: float = 0.4
    lora_clip: bool = True
    filename_prefix: str = "poster_frame"

    def validate(self) -> None:
        """Refuse values ComfyUI would reject, naming the field."""
        for name, value in (("width", self.width), ("height", self.height)):
            if not 256 <= value <= 2048 or value % 16:
                raise ValidationError(
                    f"{name} must be a multiple of 16 between 256 and 2048; got {value}", name
                )
        if not 1 <= self.steps <= 100:
            raise ValidationError(f"steps must be between 1 and 100; got {self.steps}", "steps")
        if not 0 <= self.guidance <= 100:
            raise ValidationError("guidance must be between 0 and 100", "guidance")
        if self.sampler not in SAMPLERS:
            raise ValidationError(f"unknown sampler '{self.sampler}'", "sampler")
        if self.scheduler not in SCHEDULERS:
            raise ValidationError(f"unknown scheduler '{self.scheduler}'", "scheduler")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ValidationError(f"seed must be between 0 and {MAX_SEED}", "seed")
        for lora, label in ((self.style_lora, "style_lora"), (self.character_lora, "lora")):
            if lora and not -20 <= lora.strength_model <= 20:
                raise ValidationError(f"{label} strength must be between -20 and 20", label)


def resolve_seed(seed: int | None) -> int:
    """The given seed, or a fresh random one (recorded so the poster can be reproduced)."""
    return seed if seed is not None else random.randint(0, 2**32 - 1)


def build_poster_workflow(params: PosterParams) -> Workflow:
    """Build the API-format graph for ``params`` (its seed must already be resolved)."""
    params.validate()
    text = poster_prompt(params.description, params.trigger_word)
    return build_flux_graph(params, text, (params.style_lora, params.character_lora))


def build_flux_graph(
    params: PosterParams,
    text: str,
    loras: Sequence[LoraSpec | None],
    *,
    negative: str = "",
    batch_size: int = 1,
) -> Workflow:
    """The FLUX text-to-image graph: model, LoRA stack, TeaCache, sampler, save.

    ``params`` gives the model, size, sampling and TeaCache options (its description,
    trigger word and LoRA fields are not read here); ``text`` is the prompt as sent and
    ``loras`` the stack in order (``None`` entries are skipped). A missing seed is
    drawn at random and written into the graph.
    """
    seed = resolve_seed(params.seed)
    graph: Workflow = {}

    def add(class_type: str, **inputs: Any) -> list[Any]:
        node_id = str(len(graph) + 1)
        graph[node_id] = {"class_type": class_type, "inputs": inputs}
        return [node_id, 0]

    if params.model_form == "checkpoint":
        ckpt = add("CheckpointLoaderSimple", ckpt_name=params.checkpoint_name)
        model, clip, vae = ckpt, [ckpt[0], 1], [ckpt[0], 2]
    else:
        model = add("UNETLoader", unet_name=params.unet_name, weight_dtype=params.weight_dtype)
        clip = add(
            "DualCLIPLoader",
            clip_name1=params.clip_names[0],
            clip_name2=params.clip_names[1],
            type="flux",
        )
        vae = add("VAELoader", vae_name=params.vae_name)

    for lora in loras:
        if lora is None:
            continue
        if params.lora_clip:
            node = add(
                "LoraLoader",
                model=model,
                clip=clip,
                lora_name=lora.file_name,
                strength_model=lora.strength_model,
                strength_clip=lora.strength_clip,
            )
            model, clip = node, [node[0], 1]
        else:
            model = add(
                "LoraLoaderModelOnly",
                model=model,
                lora_name=lora.file_name,
                strength_model=lora.strength_model,
            )

    # TeaCache goes after the LoRA loaders; the node was renamed in March 2025 and the
    # two versions take different inputs, so servers may have either.
    if params.teacache == "current":
        model = add(
            "TeaCache",
            model=model,
            model_type="flux",
            rel_l1_thresh=params.teacache_threshold,
            start_percent=0.0,
            end_percent=1.0,
            cache_device="cuda",
        )
    elif params.teacache == "legacy":
        model = add(
            "TeaCacheForImgGen",
            model=model,
            model_type="flux",
            rel_l1_thresh=params.teacache_threshold,
            steps=params.steps,
        )

    positive = add("CLIPTextEncode", clip=clip, text=text)
    guided = add("FluxGuidance", conditioning=positive, guidance=params.guidance)
    # Flux dev is guidance-distilled (cfg 1), but KSampler still needs a negative input.
    unwanted = add("CLIPTextEncode", clip=clip, text=negative)
    latent = add(
        "EmptySD3LatentImage", width=params.width, height=params.height, batch_size=batch_size
    )
    samples = add(
        "KSampler",
        model=model,
        positive=guided,
        negative=unwanted,
        latent_image=latent,
        seed=seed,
        steps=params.steps,
        cfg=1.0,
        sampler_name=params.sampler,
        scheduler=params.scheduler,
        denoise=1.0,
    )
    image = add("VAEDecode", samples=samples, vae=vae)
    add("SaveImage", images=image, filename_prefix=params.filename_prefix)
    return graph


def workflow_seed(graph: Workflow) -> int | None:
    """The sampler seed in a graph built here (or any KSampler/RandomNoise graph)."""
    for node in graph.values():
        inputs = node.get("inputs", {})
        for key in ("seed", "noise_seed"):
            if isinstance(inputs.get(key), int):
                return int(inputs[key])
    return None
