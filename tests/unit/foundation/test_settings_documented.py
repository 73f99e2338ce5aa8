"""Every setting is documented, with each of its environment names."""

from __future__ import annotations

from pathlib import Path

import pytest

from castsmith.config import Settings

DOC = (Path(__file__).parents[3] / "docs" / "configuration.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_and_its_environment_names_are_in_the_docs(name: str) -> None:
    alias = Settings.model_fields[name].validation_alias
    env_names = [c for c in getattr(alias, "choices", []) if isinstance(c, str) and c.isupper()]
    row = next((line for line in DOC.splitlines() if line.startswith(f"| {name} |")), None)
    assert row is not None, f"docs/configuration.md has no row for {name}"
    for env_name in env_names:
        assert f"`{env_name}`" in row, f"{env_name} missing from the row of {name}"
