"""A ready-to-run training folder for teams that train on their own GPUs.

``zip`` is the dataset alone (images and same-name ``.txt`` captions). ``ai-toolkit``
adds ``ai-toolkit/config.yaml`` (run ``python run.py ai-toolkit/config.yaml`` from an
ai-toolkit checkout, in the unpacked folder); ``kohya`` adds ``kohya/dataset.toml``, a
fluxgym-style ``kohya/train.sh`` for sd-scripts' ``flux_train_network.py`` and
``kohya/sample_prompts.txt``. The trigger word starts every caption, because kohya never
adds it. Everything is streamed, one image at a time.
"""

from __future__ import annotations

import asyncio
import json
import zipfile
from collections.abc import AsyncIterator
from typing import Any

from castsmith.domain.errors import ValidationError
from castsmith.domain.lora import TEST_PROMPTS, TrainingParams, check_trigger_word
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.dataset import SnapshotItem, snapshot, zip_chunks
from castsmith.pipelines.lora.records import load_actor
from castsmith.pipelines.training.dataset import Sink

FORMATS = ("zip", "ai-toolkit", "kohya")


def _q(text: str) -> str:
    # JSON strings are valid YAML and TOML basic strings for these plain values.
    return json.dumps(text)


def ai_toolkit_yaml(name: str, params: TrainingParams) -> str:
    """The ai-toolkit job for a Flux LoRA on the exported ``dataset/`` folder."""
    prompts = "\n".join(f"          - {_q(p.format(trigger='[trigger]'))}" for p in TEST_PROMPTS)
    return f"""job: extension
config:
  name: {_q(name)}
  process:
    - type: "sd_trainer"
      training_folder: "output"
      device: cuda:0
      trigger_word: {_q(params.trigger_word)}
      network:
        type: "lora"
        linear: {params.rank}
        linear_alpha: {params.rank}
      save:
        dtype: float16
        save_every: 250
        max_step_saves_to_keep: 4
        push_to_hub: false
      datasets:
        - folder_path: "dataset"
          caption_ext: "txt"
          caption_dropout_rate: 0.05
          shuffle_tokens: false
          cache_latents_to_disk: true
          resolution: [{params.resolution}]
      train:
        batch_size: 1
        steps: {params.steps}
        gradient_accumulation_steps: 1
        train_unet: true
        train_text_encoder: false
        gradient_checkpointing: true
        noise_scheduler: "flowmatch"
        optimizer: "adamw8bit"
        lr: {params.learning_rate}
        ema_config:
          use_ema: true
          ema_decay: 0.99
        dtype: bf16
      model:
        name_or_path: "black-forest-labs/FLUX.1-dev"
        is_flux: true
        quantize: true
      sample:
        sampler: "flowmatch"
        sample_every: 250
        width: 1024
        height: 1024
        neg: ""
        seed: 42
        walk_seed: true
        guidance_scale: 4
        sample_steps: 20
        prompts:
{prompts}
meta:
  name: "[name]"
  version: "1.0"
"""


def kohya_toml(params: TrainingParams, images: int) -> str:
    """sd-scripts' dataset config for the exported ``dataset/`` folder."""
    repeats = max(1, min(10, 200 // max(1, images)))
    return f"""[general]
shuffle_caption = false
caption_extension = '.txt'
keep_tokens = 1

[[datasets]]
resolution = {params.resolution}
batch_size = 1
keep_tokens = 1

  [[datasets.subsets]]
  image_dir = 'dataset'
  class_tokens = {_q(params.trigger_word)}
  num_repeats = {repeats}
"""


def kohya_train_sh(name: str, params: TrainingParams, images: int) -> str:
    """A fluxgym-style launch of ``flux_train_network.py`` (20 GB profile)."""
    repeats = max(1, min(10, 200 // max(1, images)))
    epochs = max(1, round(params.steps / max(1, images * repeats)))
    return f"""#!/usr/bin/env bash
# Run from the unpacked folder, with sd-scripts checked out in ./sd-scripts and the
# FLUX.1-dev files in ./models (see README.txt). Writes outputs/{name}/{name}.safetensors.
set -euo pipefail
mkdir -p outputs/{name}
accelerate launch --mixed_precision bf16 --num_cpu_threads_per_process 1 \\
  sd-scripts/flux_train_network.py \\
  --pretrained_model_name_or_path models/unet/flux1-dev.sft --ae models/vae/ae.sft \\
  --clip_l models/clip/clip_l.safetensors --t5xxl models/clip/t5xxl_fp16.safetensors \\
  --cache_latents_to_disk --save_model_as safetensors --sdpa --persistent_data_loader_workers \\
  --max_data_loader_n_workers 2 --seed 42 --gradient_checkpointing --mixed_precision bf16 \\
  --save_precision bf16 --network_module networks.lora_flux --network_dim {params.rank} \\
  --optimizer_type adamw8bit --learning_rate {params.learning_rate} \\
  --sample_prompts=kohya/sample_prompts.txt --sample_every_n_steps="200" \\
  --cache_text_encoder_outputs --cache_text_encoder_outputs_to_disk --fp8_base --highvram \\
  --max_train_epochs {epochs} --save_every_n_epochs 4 --dataset_config kohya/dataset.toml \\
  --output_dir outputs/{name} --output_name {name} \\
  --timestep_sampling shift --discrete_flow_shift 3.1582 --model_prediction_type raw \\
  --guidance_scale 1.0 --loss_type l2
"""


def sample_prompts(trigger: str) -> str:
    """One kohya sample prompt per line with its size, steps, seed and guidance flags."""
    lines = [
        f"{p.format(trigger=trigger)} --w 1024 --h 1024 --s 20 --d 42 --g 3.5" for p in TEST_PROMPTS
    ]
    return "\n".join(lines) + "\n"


def readme(name: str, fmt: str, images: int) -> str:
    """What is in the folder and how to run it."""
    how = {
        "ai-toolkit": "From an ai-toolkit checkout: python run.py /path/to/this/ai-toolkit/"
        "config.yaml, started in this folder. The LoRA appears in output/"
        f"{name}/{name}.safetensors.",
        "kohya": "Put sd-scripts in ./sd-scripts and flux1-dev.sft, ae.sft (FLUX.1-dev, which "
        "needs an accepted licence on Hugging Face), clip_l.safetensors and "
        "t5xxl_fp16.safetensors in ./models, then run bash kohya/train.sh.",
    }[fmt]
    return (
        f"castsmith training folder for {name} ({images} images).\n\n"
        "dataset/   the images, each with a same-name .txt caption starting with the "
        "trigger word\n\n"
        f"{how}\n\nImport the trained file back with: castsmith lora import {name} FILE\n"
    )


def extra_files(fmt: str, name: str, params: TrainingParams, images: int) -> list[tuple[str, str]]:
    """The configuration files of ``fmt`` as ``(path, text)``."""
    if fmt == "ai-toolkit":
        files = [("ai-toolkit/config.yaml", ai_toolkit_yaml(name, params))]
    else:
        files = [
            ("kohya/dataset.toml", kohya_toml(params, images)),
            ("kohya/train.sh", kohya_train_sh(name, params, images)),
            ("kohya/sample_prompts.txt", sample_prompts(params.trigger_word)),
        ]
    return [*files, ("README.txt", readme(name, fmt, images))]


async def export_folder(
    services: Services, actor_id: int, fmt: str, overrides: dict[str, Any] | None = None
) -> tuple[str, AsyncIterator[bytes]]:
    """The download name and the streamed zip of the folder in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", "format")
    actor = await asyncio.to_thread(load_actor, services, actor_id)
    # Like the dataset zip always did: without a trigger word, captions start with the name.
    trigger = check_trigger_word(
        actor.lora_trigger_word or (overrides or {}).get("trigger_word") or actor.name
    )
    params = TrainingParams(trigger_word=trigger, **(overrides or {})).validate()
    items = await asyncio.to_thread(snapshot, services, actor_id, trigger)
    if not items:
        raise ValidationError(f"actor {actor.name!r} has no training images to export", "dataset")
    if fmt == "zip":
        return f"{actor.name}_training_data.zip", zip_chunks(services, items)
    files = extra_files(fmt, actor.name, params, len(items))
    return f"{actor.name}_{fmt}.zip", _with_files(services, items, files)


async def _with_files(
    services: Services, items: list[SnapshotItem], files: list[tuple[str, str]]
) -> AsyncIterator[bytes]:
    sink = Sink()
    archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED)
    for path, text in files:
        info = zipfile.ZipInfo(path)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o755 if path.endswith(".sh") else 0o644) << 16
        archive.writestr(info, text)
    yield sink.take()
    for item in items:
        data = await services.store.get(item.key)
        stem = item.filename.rsplit(".", 1)[0]
        archive.writestr(f"dataset/{item.filename}", data, compress_type=zipfile.ZIP_STORED)
        archive.writestr(f"dataset/{stem}.txt", item.caption.encode() + b"\n")
        chunk = sink.take()
        if chunk:
            yield chunk
    archive.close()
    yield sink.take()
