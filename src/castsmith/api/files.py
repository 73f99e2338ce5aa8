"""``GET /files/{key}``: serve a stored object behind an HMAC-signed, expiring link.

Links come from :meth:`castsmith.storage.urls.UrlBuilder.local_url`. A link that has
expired or was altered gets 403 with a JSON message; a missing object gets 404. Keys
are validated before the store is touched, so ``..`` and friends never reach the disk.
The type a file is served as comes from its bytes (see :mod:`castsmith.imaging.served`),
and only images are shown inline: nothing a user stored can run on the app's origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from castsmith.api.headers import file_headers
from castsmith.auth.scope import unscoped_container
from castsmith.domain.errors import InvalidName, NotFound
from castsmith.domain.keys import validate_key
from castsmith.imaging.served import served_type
from castsmith.storage.base import ObjectStore
from castsmith.storage.urls import UrlBuilder

router = APIRouter(tags=["files"])

CHUNK_SIZE = 256 * 1024


def _refuse(message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "error": "Forbidden"}, status_code=403)


@router.get("/files/{key:path}", response_model=None)
async def get_file(key: str, request: Request, expires: str = "", sig: str = "") -> Response:
    """Stream the object at ``key`` when ``expires`` and ``sig`` verify."""
    # The signature is the authorization: the store is read as the app holds it, for
    # nobody in particular (no caller is needed, or named).
    container = unscoped_container(request)
    store: ObjectStore = container.store
    urls: UrlBuilder = container.urls
    try:
        validate_key(key)
    except InvalidName as exc:
        return _refuse(f"invalid file key: {exc}")
    if not expires or not sig:
        return _refuse("this link is not signed; ask for a new link")
    try:
        expires_at = int(expires)
    except ValueError:
        return _refuse("the link's expiry is not a number")
    reason = urls.why_refused(key, expires_at, sig)
    if reason is not None:
        return _refuse(f"{reason}; ask for a new link")
    try:
        meta = await store.head(key)
    except InvalidName:
        meta = None  # e.g. a symlink leading out of the local storage folder
    if meta is None:
        return JSONResponse(
            {"detail": f"file {key!r} not found", "error": "NotFound"}, status_code=404
        )
    chunks = store.get_stream(key, chunk_size=CHUNK_SIZE)
    try:
        # Pull the first chunk now so a file deleted since ``head`` still yields a 404.
        first = await anext(chunks)
    except StopAsyncIteration:
        first = b""
    except NotFound:
        return JSONResponse(
            {"detail": f"file {key!r} not found", "error": "NotFound"}, status_code=404
        )

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    # No Content-Length: the file may be replaced between ``head`` and the read.
    served = served_type(first, meta.content_type)
    headers = file_headers(served, key.rsplit("/", 1)[-1])
    if meta.etag:
        headers["ETag"] = meta.etag
    headers["Cache-Control"] = meta.cache_control or "private, max-age=300"
    return StreamingResponse(body(), media_type=served.content_type, headers=headers)
