"""Login sessions that were ended before their cookie expired.

Kept apart from :mod:`castsmith.db.models` (which imports it, so the table is always in
the metadata). A session cookie is signed, not stored; logging out records its nonce
here until the cookie would have expired anyway, so a copy of it stops working.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from castsmith.db.base import Base


class RevokedSession(Base):
    """One logged-out session, by its nonce, kept until the cookie's own expiry."""

    __tablename__ = "revoked_sessions"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
