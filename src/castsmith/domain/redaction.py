"""Masking secrets in text that leaves castsmith (error messages, logs, stored job errors).

A secret is masked where it stands as a whole token: not preceded or followed by a
letter, digit, ``_`` or ``-``. Values shorter than :data:`MIN_SECRET_LENGTH` are never
masked; a short key such as ``test`` would otherwise turn a job id ``test-1`` into
``***-1`` and make messages unreadable while hiding nothing worth hiding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_SECRET_LENGTH = 8
MASK = "***"
_WORD_CHARS = r"A-Za-z0-9_\-"


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``secrets`` as a whole token, or None if none qualify."""
    usable = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len)
    if not usable:
        return None
    # Longest first, so a secret that contains another is masked whole.
    alternatives = "|".join(re.escape(s) for s in reversed(usable))
    return re.compile(rf"(?<![{_WORD_CHARS}])(?:{alternatives})(?![{_WORD_CHARS}])")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each whole-token occurrence of a secret replaced by ``***``."""
    pattern = secret_pattern(secrets)
    return text if pattern is None else pattern.sub(MASK, text)
