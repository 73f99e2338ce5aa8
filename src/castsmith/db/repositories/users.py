"""Users and their API tokens; the caller owns the transaction."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from castsmith.db.models import ApiToken, User
from castsmith.db.models_auth import RevokedSession
from castsmith.domain.access import ADMIN, USER
from castsmith.domain.errors import Conflict, NotFound, ValidationError
from castsmith.domain.times import as_utc

TOUCH_INTERVAL = timedelta(seconds=60)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}\Z")


def validate_username(name: str) -> str:
    """``name`` when it is a usable user name (letters, digits, ``._@-``; 1-120)."""
    if not USERNAME.match(name):
        raise ValidationError(
            "username: use 1-120 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            "username",
        )
    return name


class UserRepository:
    """Queries over ``users`` and ``api_tokens``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- users -----------------------------------------------------------------------

    def create(
        self, username: str, *, admin: bool = False, password_hash: str | None = None
    ) -> User:
        """A new user; ``Conflict`` when the name is taken."""
        validate_username(username)
        if self.by_name(username) is not None:
            raise Conflict(f"a user named {username!r} already exists")
        user = User(username=username, role=ADMIN if admin else USER, password_hash=password_hash)
        try:
            with self.session.begin_nested():
                self.session.add(user)
                self.session.flush()
        except IntegrityError:
            raise Conflict(f"a user named {username!r} already exists") from None
        return user

    def by_name(self, username: str) -> User | None:
        """The user called ``username``, or ``None``."""
        return self.session.scalars(select(User).where(User.username == username)).first()

    # --- sessions ----------------------------------------------------------------------

    def revoke_session(self, nonce: str, expires_at: datetime) -> None:
        """End the session ``nonce`` now; forget revocations whose cookies expired."""
        now = datetime.now(UTC)
        self.session.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
        if self.session.get(RevokedSession, nonce) is None:
            self.session.add(RevokedSession(nonce=nonce, expires_at=expires_at))
            self.session.flush()

    def session_revoked(self, nonce: str) -> bool:
        """Whether the session ``nonce`` was ended by logging out."""
        return self.session.get(RevokedSession, nonce) is not None

    def get(self, user_id: int) -> User | None:
        """The user with ``user_id``, or ``None``."""
        return self.session.get(User, user_id)

    def require(self, username: str) -> User:
        """The user called ``username``; ``NotFound`` otherwise."""
        user = self.by_name(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        return user

    def all(self) -> Sequence[User]:
        """Every user in id order."""
        return list(self.session.scalars(select(User).order_by(User.id)))

    def set_disabled(self, username: str, disabled: bool = True) -> User:
        """Disable (or enable) a user: a disabled user's tokens and sessions stop working."""
        user = self.require(username)
        user.disabled = disabled
        self.session.flush()
        return user

    def set_password_hash(self, username: str, password_hash: str) -> User:
        """Store a new password hash for the user."""
        user = self.require(username)
        user.password_hash = password_hash
        self.session.flush()
        return user

    # --- tokens ----------------------------------------------------------------------

    def add_token(
        self,
        user: User,
        *,
        token_hash: str,
        prefix: str,
        name: str = "",
        expires_days: float | None = None,
    ) -> ApiToken:
        """Record a token (by its hash) for ``user``."""
        if expires_days is not None and expires_days <= 0:
            raise ValidationError("expires-days must be more than 0", "expires_days")
        now = datetime.now(UTC)
        token = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=token_hash,
            prefix=prefix,
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
        self.session.add(token)
        self.session.flush()
        return token

    def tokens(self, user: User | None = None) -> list[tuple[ApiToken, str]]:
        """Tokens with their user's name, of one user or everyone's, in id order."""
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
        if user is not None:
            query = query.where(ApiToken.user_id == user.id)
        return [(token, name) for token, name in self.session.execute(query.order_by(ApiToken.id))]

    def revoke(self, token_id: int) -> ApiToken:
        """Revoke a token for good; ``NotFound`` for an unknown id."""
        token = self.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"no token with id {token_id}")
        if token.revoked_at is None:
            token.revoked_at = datetime.now(UTC)
            self.session.flush()
        return token

    def user_for_token(self, token_hash: str) -> tuple[User, bool] | None:
        """The enabled user a live (unrevoked, unexpired) token belongs to, and whether
        the token's last use is due to be recorded (:meth:`touch_token`); ``None`` for
        no such token. Reads only."""
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        token, user = row
        now = datetime.now(UTC)
        expires = as_utc(token.expires_at)
        if token.revoked_at is not None or (expires is not None and expires <= now):
            return None
        if user.disabled:
            return None
        last = as_utc(token.last_used_at)
        # Record use at most once a minute: a write per request would serialise readers.
        return user, last is None or now - last > TOUCH_INTERVAL

    def touch_token(self, token_hash: str) -> None:
        """Record that the token was used now."""
        self.session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == token_hash)
            .values(last_used_at=datetime.now(UTC))
        )


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired``, for listings."""
    if token.revoked_at is not None:
        return "revoked"
    expires = as_utc(token.expires_at)
    if expires is not None and expires <= (now or datetime.now(UTC)):
        return "expired"
    return "active"
