"""Response headers that keep served content from acting on the app's origin."""

from __future__ import annotations

from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from castsmith.imaging.served import Served

# Pages load only their own scripts, styles and images (plus data:/blob: previews and
# signed image links on object stores), are never framed, and post forms only here.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: https: http:; media-src 'self' https: http:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# FastAPI's interactive docs load Swagger UI / ReDoc from their CDN with an inline start.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
# User files may run nothing at all: no script, no plugin, no frame, no form.
FILE_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def attachment(filename: str) -> str:
    """A ``Content-Disposition: attachment`` value that survives any file name.

    HTTP headers are Latin-1; the plain ``filename`` gets an ASCII stand-in and
    ``filename*`` (RFC 6266 / 5987) carries the real name in UTF-8.
    """
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{plain or 'download'}\"; filename*=UTF-8''{encoded}"


def file_headers(served: Served, filename: str) -> dict[str, str]:
    """Headers for a stored file: no sniffing, no scripts, a download unless an image."""
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": FILE_CSP}
    if not served.inline:
        headers["Content-Disposition"] = attachment(filename)
    return headers


def page_headers(path: str) -> list[tuple[bytes, bytes]]:
    """Headers every answer gets unless it set its own (files set stricter ones)."""
    csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", csp.encode()),
        (b"referrer-policy", b"same-origin"),
    ]


class SecurityHeaders:
    """ASGI middleware adding :func:`page_headers` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = page_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
