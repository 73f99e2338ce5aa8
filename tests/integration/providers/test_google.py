"""Google Imagen (Vertex shape) and Gemini image models against the fake API."""

from __future__ import annotations

import httpx
import pytest

from castsmith.domain.errors import ContentFiltered, InvalidRequest
from castsmith.providers.base import ImageToImage, InputImage, TextToImage
from castsmith.providers.google import GoogleImages
from tests.fakes import FakeGoogle


def imagen(http: httpx.AsyncClient, fake: FakeGoogle) -> GoogleImages:
    return GoogleImages(
        http,
        api_key=fake.api_key,
        project="proj",
        location="us-central1",
        base_url=fake.url,
        timeout=2.0,
    )


async def test_imagen_predict_in_the_vertex_url_shape(
    http: httpx.AsyncClient, google_fake: FakeGoogle
) -> None:
    result = await imagen(http, google_fake).text_to_image(
        TextToImage("a lighthouse", width=1920, height=1080, seed=4, count=2)
    )
    assert len(result.images) == 2
    call = google_fake.calls[0]
    assert (
        call.path == "/v1/projects/proj/locations/us-central1/publishers/google/models/"
        "imagen-4.0-generate-001:predict"
    )
    params = call.json()["parameters"]
    assert (
        params["aspectRatio"] == "16:9" and params["seed"] == 4 and params["addWatermark"] is False
    )


async def test_imagen_filtering(http: httpx.AsyncClient, google_fake: FakeGoogle) -> None:
    google_fake.filter_all = True
    with pytest.raises(ContentFiltered, match="Support codes"):
        await imagen(http, google_fake).text_to_image(TextToImage("a lighthouse"))
    with pytest.raises(ContentFiltered, match="sensitive words"):
        await imagen(http, google_fake).text_to_image(TextToImage("sensitive stuff"))


async def test_imagen_needs_a_project(http: httpx.AsyncClient, google_fake: FakeGoogle) -> None:
    provider = GoogleImages(http, api_key=google_fake.api_key, base_url=google_fake.url)
    with pytest.raises(InvalidRequest, match="CASTSMITH_GOOGLE_PROJECT"):
        await provider.text_to_image(TextToImage("a lighthouse"))


async def test_gemini_generate_content_with_input_images(
    http: httpx.AsyncClient, google_fake: FakeGoogle
) -> None:
    provider = GoogleImages(
        http,
        api_key=google_fake.api_key,
        image_model="gemini-2.5-flash-image",
        base_url=google_fake.url,
    )
    result = await provider.image_to_image(
        ImageToImage("same person, at night", (InputImage(b"\x89PNGx"),))
    )
    assert result.images[0].data.startswith(b"\x89PNG")
    call = google_fake.calls[0]
    assert call.path.endswith("/v1beta/models/gemini-2.5-flash-image:generateContent")
    assert call.headers["x-goog-api-key"] == google_fake.api_key
    assert call.json()["contents"][0]["parts"][1]["inlineData"]["mimeType"] == "image/png"
    google_fake.filter_all = True
    with pytest.raises(ContentFiltered, match="SAFETY"):
        await provider.text_to_image(TextToImage("x"))
    assert await provider.check() == "key accepted"
