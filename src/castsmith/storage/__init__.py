"""Object storage (local folder or S3-compatible) and the URLs that point into it."""

from castsmith.storage.base import ObjectMeta, ObjectStore, PutItem, StoredObject

__all__ = ["ObjectMeta", "ObjectStore", "PutItem", "StoredObject"]
