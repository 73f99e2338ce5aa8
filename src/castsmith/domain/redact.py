"""Keep credentials written into URLs out of what castsmith prints, logs or stores."""

from __future__ import annotations

import re

MASK = "***"
# scheme://user:password@ or scheme://token@ - anywhere in a text (an error message,
# a setting, a log line). The user name stays readable; what proves it is masked.
_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s/?#@:\"'<>]*)"
    r"(?::(?P<password>[^\s/?#@\"'<>]*))?@"
)

# user:password@host with no scheme in front (a netloc printed on its own).
_BARE = re.compile(r"(?<![\w.+\-:/])(?P<user>[\w.\-~%]+):(?P<password>[^\s/?#@\"'<>]+)@(?=[\w\[])")


def mask_credentials(text: str) -> str:
    """``text`` with the secret part of every URL's user info replaced by ``***``."""
    if "@" not in text:
        return text

    def masked(match: re.Match[str]) -> str:
        scheme, user, password = match["scheme"], match["user"], match["password"]
        if password is None:
            return f"{scheme}{MASK}@" if user else match[0]
        return f"{scheme}{user}:{MASK}@"

    text = _USERINFO.sub(masked, text)
    return _BARE.sub(lambda match: f"{match['user']}:{MASK}@", text)
