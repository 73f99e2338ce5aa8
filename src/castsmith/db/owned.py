"""Narrowing a query of owned rows to what a caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

from castsmith.domain.access import Principal, owner_scope


def owned_by(
    owner_column: ColumnElement[Any] | QueryableAttribute[Any], caller: Principal
) -> list[ColumnElement[bool]]:
    """The conditions that keep only ``caller``'s rows, by their ``owner_column``; none
    for admins and the operator, who see everyone's."""
    scope = owner_scope(caller)
    return [] if scope is None else [owner_column == scope]
