"""The offline provider: deterministic, distinct, identity-keeping placeholder art."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydantic import BaseModel

from castsmith.domain.errors import InvalidRequest
from castsmith.providers.base import ImageToImage, InputImage, RunWorkflow, TextRequest, TextToImage
from castsmith.providers.offline import OfflineImages, OfflineText, read_graph

WOMAN = "a young European woman with long red hair and freckles"
MAN = "an elderly african man with glasses, a beard and grey hair"


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


async def draw(prompt: str, seed: int = 1, size: int = 256) -> bytes:
    result = await OfflineImages().text_to_image(
        TextToImage(prompt, width=size, height=size, seed=seed)
    )
    return result.images[0].data


async def test_same_request_same_bytes_and_labelled_placeholder() -> None:
    first = await OfflineImages().text_to_image(TextToImage(WOMAN, seed=5, width=320, height=480))
    second = await OfflineImages().text_to_image(TextToImage(WOMAN, seed=5, width=320, height=480))
    assert first.images[0].data == second.images[0].data
    image = Image.open(io.BytesIO(first.images[0].data))
    assert image.size == (320, 480) and "castsmith:placeholder" in image.text  # type: ignore[attr-defined]
    assert first.provenance.placeholder and first.provenance.provider == "offline"


async def test_different_descriptions_look_different() -> None:
    a, b = pixels(await draw(WOMAN)), pixels(await draw(MAN))
    assert np.abs(a - b).mean() > 20


async def test_seeds_move_the_pose_but_keep_the_character() -> None:
    a, b = pixels(await draw(WOMAN, seed=1)), pixels(await draw(WOMAN, seed=2))
    other = pixels(await draw(MAN, seed=1))
    assert not np.array_equal(a, b)
    # Colour palettes (mean colour) stay closer within one character than across two.
    assert (
        np.abs(a.mean((0, 1)) - b.mean((0, 1))).sum()
        < np.abs(a.mean((0, 1)) - other.mean((0, 1))).sum()
    )


def red_share(rgb: np.ndarray) -> float:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(((r > 150) & (g < 90) & (b < 60)).mean())


async def test_image_to_image_keeps_identity_cues() -> None:
    base = await draw(WOMAN, size=384)
    result = await OfflineImages().image_to_image(
        ImageToImage("same woman, different angle", (InputImage(base),), seed=3)
    )
    varied = result.images[0].data
    assert varied != base
    assert Image.open(io.BytesIO(varied)).size == (384, 384)
    # Her red hair survives the variation.
    assert red_share(pixels(varied)) > 0.5 * red_share(pixels(base)) > 0


async def test_grid_splits_back_into_four_images() -> None:
    from castsmith.imaging.grid import split_grid

    base = await draw(WOMAN, size=512)
    result = await OfflineImages().image_to_image(
        ImageToImage("a 2x2 grid of four selfies", (InputImage(base),), seed=4)
    )
    cells = split_grid(result.images[0].data)
    assert len(cells) == 4
    sizes = {Image.open(io.BytesIO(c)).size for c in cells}
    assert all(200 <= w <= 256 and 200 <= h <= 256 for w, h in sizes)
    flagged = await OfflineImages().text_to_image(
        TextToImage(MAN, width=512, height=512, grid=True)
    )
    assert len(split_grid(flagged.images[0].data)) == 4


async def test_run_workflow_reads_prompt_size_and_seed() -> None:
    graph = {
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": WOMAN, "clip": ["2", 0]}},
        "8": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["7", 0]}},
        "9": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}},
        "10": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 384, "height": 256, "batch_size": 2},
        },
        "11": {
            "class_type": "KSampler",
            "inputs": {"positive": ["8", 0], "negative": ["9", 0], "seed": 77},
        },
    }
    assert read_graph(graph) == (WOMAN, 384, 256, 2, 77)
    result = await OfflineImages().run_workflow(RunWorkflow(graph))
    assert len(result.images) == 2 and result.provenance.seed == 77
    assert result.images[0].data == await draw_rect(WOMAN, 77)
    with pytest.raises(InvalidRequest, match="no CLIPTextEncode"):
        await OfflineImages().run_workflow(
            RunWorkflow({"1": {"class_type": "SaveImage", "inputs": {}}})
        )


async def draw_rect(prompt: str, seed: int) -> bytes:
    result = await OfflineImages().text_to_image(
        TextToImage(prompt, width=384, height=256, seed=seed)
    )
    return result.images[0].data


class Persona(BaseModel):
    first_name: str
    last_name: str
    age: int
    gender: str
    location: str
    occupation: str
    bio: str
    image_prompt: str


class Batch(BaseModel):
    personas: list[Persona]


async def test_persona_data_fills_the_schema_deterministically() -> None:
    request = TextRequest("Generate German women", Batch, seed=9, variables={"count": 3})
    first = await OfflineText().generate_json(request)
    again = await OfflineText().generate_json(request)
    assert first.data == again.data and first.provenance.placeholder
    batch = first.data
    assert isinstance(batch, Batch) and len(batch.personas) == 3
    person = batch.personas[0]
    assert person.gender == "female" and 19 <= person.age <= 64
    assert person.first_name in person.bio or person.last_name in person.bio
    assert f"{person.age}-year-old woman" in person.image_prompt
    assert "Germany" in person.location or "Deutschland" in person.location
    names = {p.first_name for p in batch.personas}
    assert len(names) > 1


async def test_persona_from_a_plain_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "hobbies": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        },
    }
    result = await OfflineText().generate_json(TextRequest("a man from Japan", schema, seed=1))
    data = result.data
    assert isinstance(data, dict) and len(data["hobbies"]) == 2 and isinstance(data["age"], int)


async def test_variations_are_repeatable_valid_png_and_differ_by_seed() -> None:
    base = await draw(WOMAN, size=384)
    provider = OfflineImages()
    first, again, other = [
        (await provider.image_to_image(ImageToImage("same", (InputImage(base),), seed=s)))
        .images[0]
        .data
        for s in (3, 3, 4)
    ]
    assert first == again and first != other
    checked = Image.open(io.BytesIO(first))
    checked.verify()  # chunk CRCs and structure
    reopened = Image.open(io.BytesIO(first))
    assert reopened.text["castsmith:placeholder"] == "offline variation"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["RGBA", "L", "P"])
async def test_variations_of_large_or_non_rgb_sources(mode: str) -> None:
    # A 1024 px source drawn down to 384 px takes the shrink-first path.
    big = Image.open(io.BytesIO(await draw(WOMAN, size=1024))).convert(mode)
    out = io.BytesIO()
    big.save(out, format="PNG")
    result = await OfflineImages().image_to_image(
        ImageToImage("same woman", (InputImage(out.getvalue()),), seed=2, width=384, height=384)
    )
    varied = Image.open(io.BytesIO(result.images[0].data))
    assert varied.size == (384, 384) and varied.mode == "RGB"
    if mode != "L":
        assert red_share(pixels(result.images[0].data)) > 0.05


async def test_grid_cells_show_one_character_in_four_poses() -> None:
    from castsmith.imaging.grid import split_grid

    result = await OfflineImages().text_to_image(
        TextToImage(WOMAN, width=512, height=512, grid=True, seed=6)
    )
    cells = [pixels(c) for c in split_grid(result.images[0].data)]
    other = pixels(await draw(MAN, seed=6, size=cells[0].shape[0]))
    assert len(cells) == 4
    assert all(not np.array_equal(cells[0], c) for c in cells[1:])
    # Every cell keeps her red hair; the other character has none of it.
    assert all(red_share(c) > 0.05 for c in cells) and red_share(other) < 0.01
