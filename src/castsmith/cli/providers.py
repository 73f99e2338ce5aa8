"""``castsmith generate`` and ``castsmith providers list|check``."""

from __future__ import annotations

import asyncio
import json
import mimetypes
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from castsmith.cli.common import fail, print_json, settings_from_context
from castsmith.config import Settings
from castsmith.domain.errors import CastsmithError

if TYPE_CHECKING:
    from castsmith.providers.base import ImageResult, InputImage
    from castsmith.providers.registry import ProviderRegistry

providers_app = typer.Typer(
    help="See and probe the image and text providers.", no_args_is_help=True
)

T = TypeVar("T")
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif"}


def _run(settings: Settings, action: Callable[[ProviderRegistry], Awaitable[T]]) -> T:
    """Build the registry around one HTTP client, run ``action``, map errors to exit 1."""

    import httpx

    from castsmith.bootstrap import build_providers

    async def main() -> T:
        async with httpx.AsyncClient(follow_redirects=True) as http:
            return await action(build_providers(settings, http))

    try:
        return asyncio.run(main())
    except CastsmithError as exc:
        fail(str(exc))


def _parse_size(size: str | None) -> tuple[int | None, int | None]:
    if not size:
        return 1024, 1024
    width, sep, height = size.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        fail(f"--size must look like 1024x1024, got {size!r}")
    return int(width), int(height)


def _input_image(spec: str, named: bool) -> InputImage:
    from castsmith.providers.base import InputImage

    name, sep, raw_path = spec.partition("=")
    if not (named and sep):
        raw_path, name = spec, Path(spec).name
    path = Path(raw_path)
    if not path.is_file():
        fail(f"image not found: {path}")
    content_type = mimetypes.guess_type(path.name)[0] or "image/png"
    return InputImage(path.read_bytes(), name, content_type)


def _write(result: ImageResult, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{result.provenance.provider}-{time.strftime('%Y%m%d-%H%M%S')}"
    written = []
    for index, image in enumerate(result.images):
        path = out / f"{stem}-{index}{EXTENSIONS.get(image.content_type, '.bin')}"
        path.write_bytes(image.data)
        written.append(path)
    return written


def generate(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder to write the images to."),
    provider: str | None = typer.Option(
        None, "--provider", help="offline, runpod, comfyui, replicate, openai or google."
    ),
    prompt: str | None = typer.Option(None, "--prompt", help="What to draw."),
    workflow: Path | None = typer.Option(
        None, "--workflow", help="A ComfyUI API-format workflow JSON file to run."
    ),
    image: list[str] = typer.Option(
        [], "--image", help="Input image PATH (with --workflow: NAME=PATH). Repeatable."
    ),
    size: str | None = typer.Option(None, "--size", help="WIDTHxHEIGHT, e.g. 1024x1024."),
    seed: int | None = typer.Option(None, "--seed", help="Seed for repeatable results."),
    count: int = typer.Option(1, "--count", min=1, max=10, help="How many images."),
    grid: bool = typer.Option(False, "--grid", help="Ask for one 2x2 grid image."),
) -> None:
    """Generate images with one provider and write them to a folder."""
    from castsmith.providers.base import ImageToImage, RunWorkflow, TextToImage

    settings = settings_from_context(ctx)
    if workflow is None and not prompt:
        fail("give --prompt TEXT, or --workflow FILE.json")
    graph: dict[str, Any] | None = None
    if workflow is not None:
        try:
            graph = json.loads(workflow.read_text())
        except (OSError, ValueError) as exc:
            fail(f"cannot read workflow {workflow}: {exc}")
        if not isinstance(graph, dict):
            fail("the workflow must be a JSON object in ComfyUI API format")
    inputs = tuple(_input_image(spec, named=graph is not None) for spec in image)
    width, height = _parse_size(size)

    async def action(registry: ProviderRegistry) -> ImageResult:
        if graph is not None:
            chosen = registry.for_role("poster", provider)
            return await chosen.run_workflow(RunWorkflow(graph, inputs))
        chosen = registry.for_role("image", provider)
        assert prompt is not None
        if inputs:
            return await chosen.image_to_image(
                ImageToImage(
                    prompt, inputs, seed=seed, count=count, width=width, height=height, grid=grid
                )
            )
        return await chosen.text_to_image(
            TextToImage(prompt, width=width, height=height, seed=seed, count=count, grid=grid)
        )

    result = _run(settings, action)
    for path in _write(result, out):
        typer.echo(str(path))
    note = " (placeholder art)" if result.provenance.placeholder else ""
    typer.echo(
        f"provider: {result.provenance.provider}{note}  model: {result.provenance.model}  "
        f"job id: {result.provenance.provider_job_id or '-'}  seed: {result.provenance.seed}"
    )


@providers_app.command("list")
def list_providers(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show every provider, whether it is configured and what it is the default for."""
    settings = settings_from_context(ctx)

    async def action(registry: ProviderRegistry) -> list[Any]:
        return registry.describe()

    rows = _run(settings, action)
    if as_json:
        print_json(
            [
                {
                    "name": r.name,
                    "kinds": list(r.kinds),
                    "configured": r.configured,
                    "default_for": list(r.defaults),
                    "needs": r.needs,
                }
                for r in rows
            ]
        )
        return
    for r in rows:
        state = "configured" if r.configured else f"not configured (set {r.needs})"
        default = f"  default for: {', '.join(r.defaults)}" if r.defaults else ""
        typer.echo(f"{r.name:<10} {'/'.join(r.kinds):<11} {state}{default}")


@providers_app.command("check")
def check_providers(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="One provider; all configured when omitted."),
) -> None:
    """Probe reachability and credentials; exit 1 if any check fails."""
    settings = settings_from_context(ctx)

    async def action(registry: ProviderRegistry) -> list[tuple[Any, list[str]]]:
        names = [name] if name else registry.configured()
        checked = []
        for each in names:
            result = await registry.check(each)
            lines = await _poster_needs(registry, each) if result.ok else []
            checked.append((result, lines))
        return checked

    results = _run(settings, action)
    for result, lines in results:
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(f"{mark} {result.name}: {result.verdict}")
        for line in lines:
            typer.echo(f"     {line}")
    if not all(r.ok for r, _ in results):
        raise typer.Exit(1)


async def _poster_needs(registry: ProviderRegistry, name: str) -> list[str]:
    """What the default poster workflow needs from a ComfyUI server and what it lacks."""
    from castsmith.providers.comfyui import ComfyUIProvider
    from castsmith.providers.runpod import RunPodProvider
    from castsmith.workflows.poster_frame import TEACACHE_NODES, PosterParams, build_poster_workflow

    provider = registry.images.get(name.lower())
    if isinstance(provider, RunPodProvider):
        return ["poster workflow: worker-comfyui lists no models; a run shows what is missing"]
    if not isinstance(provider, ComfyUIProvider):
        return []
    checked = await provider.preflight(build_poster_workflow(PosterParams("a poster check")))
    if checked is None:
        return ["poster workflow: the server offers no /object_info; not checked"]
    files = ", ".join(dict.fromkeys(f.file for f in checked.needed_files))
    lines = [f"poster workflow needs: {files} (and each actor's own LoRA)"]
    lines += [f"missing: {f.missing()}" for f in checked.missing_files]
    lines += [
        f"missing: node {node_id} {class_type}"
        + (" (optional: posters are drawn without it)" if class_type in TEACACHE_NODES else "")
        for node_id, class_type in checked.missing_nodes
    ]
    if len(lines) == 1:
        lines.append("nothing missing")
    return lines
