"""Password hashing with the standard library's scrypt; the stored string names its own cost.

A stored hash reads ``scrypt:N:r:p$salt$hash`` (hex), so raising the cost later still
verifies the hashes made before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["check_password", "hash_password"]

# scrypt's cost: N=2**14, r=8 uses 16 MiB and about 50 ms per hash on a laptop.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_MAXMEM = 64 * 1024 * 1024


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES
    )


def hash_password(password: str) -> str:
    """A salted hash of ``password`` to store instead of it."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; False for a malformed stored value."""
    try:
        method, salt_hex, digest_hex = stored.split("$")
        name, n, r, p = method.split(":")
        if name != "scrypt":
            return False
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
