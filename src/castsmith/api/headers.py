"""Response headers that keep served content from acting on the app's origin."""

from __future__ import annotations

from urllib.parse import quote

# Pages load only their own scripts, styles and images (plus data:/blob: previews and
# signed image links on object stores), are never framed, and post forms only here.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: https: http:; media-src 'self' https: http:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
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
