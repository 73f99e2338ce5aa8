"""``GET /api/assets/{asset_id}/thumb``: an image's small WebP thumbnail, made on first use.

Listings give each image a ``thumb_url``: the thumbnail's own signed link when one was
made as the image was stored, else this route. It makes the thumbnail once (it is kept
as the asset's ``thumb`` rendition) and redirects to its signed link, so an image stored
before thumbnails existed costs one encode, ever. Another user's image is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from castsmith.api.schemas.common import RowId
from castsmith.auth.scope import container_of
from castsmith.pipelines import thumbnails

router = APIRouter(tags=["files"])

# A browser that shows the grid again soon skips the round trip through the app; the
# signed link the redirect points to must outlive that, hence at most half its life.
REDIRECT_CACHE_SECONDS = 300


@router.get(
    "/api/assets/{asset_id}/thumb",
    response_class=RedirectResponse,
    status_code=302,
    responses={
        302: {"description": "To the thumbnail (WebP, at most 320 px on its long side)."},
        404: {"description": "No such image, or not the caller's."},
    },
)
async def asset_thumbnail(asset_id: RowId, request: Request) -> RedirectResponse:
    """Redirect to the image's thumbnail, making it first if it has none yet."""
    services = container_of(request)
    thumb = await thumbnails.ensure_thumbnail(services, asset_id)
    url = await thumbnails.thumb_url(services, asset_id, thumb.key)
    seconds = min(REDIRECT_CACHE_SECONDS, services.settings.presigned_url_expiry // 2)
    headers = {"Cache-Control": f"private, max-age={seconds}"}
    return RedirectResponse(url, status_code=302, headers=headers)
