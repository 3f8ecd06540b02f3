"""argon2id hashing in a worker thread (each hash takes tens of ms; the event loop must not wait)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Verifying against this when the account does not exist keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and bool(stored)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored or "", password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
