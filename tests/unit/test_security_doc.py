"""SECURITY.md states what the code does: the file CSP, word for word."""

from __future__ import annotations

from pathlib import Path

from castsmith.api.headers import FILE_CSP

SECURITY = Path(__file__).resolve().parents[2] / "SECURITY.md"


def test_the_file_csp_in_security_md_is_the_one_served() -> None:
    text = " ".join(SECURITY.read_text().split())
    assert f"`{FILE_CSP}`" in text
