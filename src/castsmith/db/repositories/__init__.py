"""Repositories: the queries each part of castsmith runs, over a sync SQLAlchemy session.

A repository never commits; the caller owns the transaction (``with sessions.begin()``),
so a use case that touches several tables commits them together or not at all.
"""

from castsmith.db.repositories.actors import ActorFilters, ActorPage, ActorRepository
from castsmith.db.repositories.assets import AssetRepository

__all__ = ["ActorFilters", "ActorPage", "ActorRepository", "AssetRepository"]
