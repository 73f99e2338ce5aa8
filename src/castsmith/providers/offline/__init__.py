"""The offline provider: castsmith's default when no remote keys are configured.

A real code path, not a test double: it draws deterministic stylised portraits from
the description (same request and seed, same bytes), varies input images while
keeping the character recognisable, draws 2x2 grids with white gutters, runs ComfyUI
API-format graphs by reading their prompt, size and seed, and writes persona data with
Faker. Every image is labelled as placeholder art in provenance and in a PNG text
chunk (``castsmith:placeholder``).

Modules: ``images`` and ``text`` are the two providers; ``_traits`` reads a
description into drawable traits, ``_portrait`` draws them, ``_persona`` fills persona
schemas, ``_graph`` reads ComfyUI graphs, ``_common`` holds seeds and sizes.
"""

from castsmith.providers.offline._common import MODEL, stable_seed, wants_grid
from castsmith.providers.offline._graph import read_graph
from castsmith.providers.offline.images import OfflineImages
from castsmith.providers.offline.text import OfflineText

__all__ = ["MODEL", "OfflineImages", "OfflineText", "read_graph", "stable_seed", "wants_grid"]
