"""How a setting is named in the environment, and where the settings file is looked for."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices


def alias(name: str, *more: str) -> AliasChoices:
    """``CASTSMITH_<NAME>``, then any older names in ``more``, or the field name."""
    return AliasChoices(f"CASTSMITH_{name.upper()}", *more, name)


def config_file_path() -> Path:
    """Where the optional TOML settings file is looked for."""
    return Path(os.environ.get("CASTSMITH_CONFIG", "castsmith.toml"))
