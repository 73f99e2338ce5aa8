"""The local-folder object store.

Objects are plain files under ``root`` at their key, so the folder can be browsed,
backed up or synced like any other. obstore's local backend cannot keep attributes
(it refuses ``put`` with a content type), so content type and cache control are kept
in a small JSON sidecar under ``root/.castsmith-meta/<key>.json``. A sidecar was chosen
over guessing from the file name because callers store what they mean (``image/webp``
for a ``.webp``, but also extension-less keys and explicit cache headers), and ``head``
must give back exactly that. Where a sidecar is missing (files copied in by hand), the
content type is guessed from the extension. Keys starting with the sidecar folder are
refused and the folder is left out of listings.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import re
from pathlib import Path

import obstore
from obstore.store import LocalStore as ObstoreLocalStore

from castsmith.domain.errors import InvalidName, NotFound
from castsmith.domain.keys import validate_key
from castsmith.storage.base import DEFAULT_CONTENT_TYPE, ObjectMeta
from castsmith.storage.obstore_base import ObstoreBackedStore, meta_from

META_DIR = ".castsmith-meta"
_STAGING_NAME = re.compile(r"#\d+\Z")

mimetypes.add_type("image/webp", ".webp")


def guess_content_type(key: str) -> str:
    """A content type from the key's extension, or ``application/octet-stream``."""
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


class LocalStore(ObstoreBackedStore):
    """Objects as files under ``root``; writes are atomic (staged, then renamed)."""

    backend = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        handle = ObstoreLocalStore(self.root, automatic_cleanup=True)
        super().__init__(handle, handle)

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (checked to stay under the root)."""
        self._check_key(key)
        return (self.root / key).resolve()

    # --- hooks -------------------------------------------------------------------
    def _check_key(self, key: str) -> str:
        validate_key(key)
        if key.split("/", 1)[0] == META_DIR:
            raise InvalidName(f"keys under {META_DIR}/ are reserved", "key")
        # obstore stages local writes as ``name#<digits>`` and hides such files from
        # listings, so a key of that shape would vanish from ``list``.
        if _STAGING_NAME.search(key):
            raise InvalidName(f"key {key!r} must not end in '#' and digits", "key")
        # A symlink inside the folder must not lead reads or writes out of it.
        if not (self.root / key).resolve().is_relative_to(self.root):
            raise InvalidName(f"key {key!r} leaves the storage root", "key")
        return key

    @staticmethod
    def _meta_key(key: str) -> str:
        return f"{META_DIR}/{key}.json"

    def _put_attributes(self, attributes: dict[str, str]) -> dict[str, str] | None:
        return None

    async def _save_attributes(self, key: str, attributes: dict[str, str]) -> None:
        body = json.dumps(attributes, sort_keys=True).encode()
        await obstore.put_async(self._writer, self._meta_key(key), body)

    async def _load_attributes(self, key: str) -> dict[str, str]:
        try:
            result = await obstore.get_async(self._reader, self._meta_key(key))
            loaded = json.loads(bytes(await result.bytes_async()))
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    async def _forget_attributes(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self._writer, self._meta_key(key))

    async def _copy_attributes(self, src: str, dst: str) -> None:
        attributes = await self._load_attributes(src)
        if attributes:
            await self._save_attributes(dst, attributes)
        else:
            await self._forget_attributes(dst)

    def _listed(self, raw_path: str) -> bool:
        return not raw_path.startswith(f"{META_DIR}/")

    # --- reads and copies ----------------------------------------------------------
    async def head(self, key: str) -> ObjectMeta | None:
        self._check_key(key)
        with self._guard("inspect", key):
            try:
                raw = await obstore.head_async(self._reader, key)
            except FileNotFoundError:
                return None
            attributes = await self._load_attributes(key)
        return meta_from(
            raw,
            content_type=attributes.get("Content-Type") or guess_content_type(key),
            cache_control=attributes.get("Cache-Control"),
        )

    async def copy(self, src: str, dst: str) -> None:
        if not await self.exists(src):
            raise NotFound(f"object {src!r} not found in the local store")
        await super().copy(src, dst)
