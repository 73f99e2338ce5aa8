"""Password hashing with scrypt and a per-user random salt.

Stored form: ``scrypt$N$r$p$<salt hex>$<hash hex>`` so the cost can be raised later
without invalidating existing hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# 2**15 * 8 * 128 bytes = 32 MiB of memory per hash: costly to brute-force, fast enough
# for a login (tens of milliseconds).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_PASSWORD_CHARS = 1024


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=2 * 128 * n * r + 1024 * 1024,
        dklen=KEY_BYTES,
    )


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in the stored form."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time; ``False`` for no hash)."""
    if not stored or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = _derive(password, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(digest_hex))


def dummy_verify(password: str) -> None:
    """Spend the time of a real check, so unknown user names answer as slowly."""
    verify_password(password, _DUMMY_HASH)


_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'00' * SALT_BYTES}${'00' * KEY_BYTES}"
