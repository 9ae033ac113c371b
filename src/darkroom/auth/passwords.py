"""Operator passwords: argon2id hashes (argon2-cffi).

An unknown user is checked against a dummy hash, so a miss costs as much time as a hit and
timing does not reveal who exists.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from darkroom.errors import Invalid

__all__ = ["MIN_PASSWORD_LENGTH", "dummy_hash", "hash_password", "needs_rehash", "verify_password"]

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (rehash on the next sign-in)."""
    return _hasher.check_needs_rehash(hashed)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so a miss costs as much as a hit.

    Made on first use: hashing at import would slow every `darkroom` command by a second.
    """
    return _hasher.hash(secrets.token_urlsafe(16))
