"""Secret link tokens, the one way: 256 random bits in the link, only their SHA-256 in the database.

Every emailed or subscribed link (account verification and resets, guest ticket links, booking
manage links, staff calendar feeds) is made and looked up here, so a stolen database holds no usable
link. The digest is the hex SHA-256 of the raw token's UTF-8 bytes: links already sent keep working.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits: 43 URL-safe characters
TOKEN_MAX_LENGTH = 100  # longer input is never one of ours: refused before hashing


def new_token() -> str:
    """A fresh raw token for a link (give it out once; store only ``token_digest``)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(raw: str) -> str:
    """What the database stores and looks up for a raw token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def plausible_token(raw: str | None) -> bool:
    """Whether ``raw`` could be a token at all (non-empty, bounded): anything else is refused with
    the caller's usual "invalid link" answer, without a query."""
    return raw is not None and 0 < len(raw) <= TOKEN_MAX_LENGTH
