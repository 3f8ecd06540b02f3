"""Single-purpose link tokens: 256 random bits in the link, only the SHA-256 in the database."""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.tables import AuthToken
from portal.clock import utcnow
from portal.errors import Invalid
from portal.tokens import new_token, plausible_token, token_digest

LIFETIMES = {
    "verify": timedelta(days=2),
    "reset": timedelta(hours=1),
    "invite": timedelta(days=7),
}
# The same message for unknown, used, expired and foreign tokens: a link is either good or not.
BAD_LINK = "This link is invalid or has expired. Ask for a new one."


async def issue(user_id: int, purpose: str) -> str:
    """Create a token (inside the caller's write transaction); earlier ones of that purpose die."""
    now = utcnow()
    await (
        AuthToken.update({AuthToken.used_at: now})
        .where((AuthToken.user == user_id) & (AuthToken.purpose == purpose) & AuthToken.used_at.is_null())
        .run()
    )
    raw = new_token()
    await AuthToken.insert(
        AuthToken(
            user=user_id,
            purpose=purpose,
            token_hash=token_digest(raw),
            expires_at=now + LIFETIMES[purpose],
            created_at=now,
        )
    ).run()
    return raw


async def peek(raw: str, purposes: tuple[str, ...]) -> dict:
    """The live token row for ``raw`` or Invalid; does not use it up."""
    if not plausible_token(raw):
        raise Invalid(BAD_LINK)
    row = await AuthToken.select().where(AuthToken.token_hash == token_digest(raw)).first()
    if row is None or row["purpose"] not in purposes or row["used_at"] is not None or row["expires_at"] <= utcnow():
        raise Invalid(BAD_LINK)
    return row


async def consume(raw: str, purposes: tuple[str, ...]) -> dict:
    """Use the token once (inside the caller's write transaction); a second use is refused."""
    row = await peek(raw, purposes)
    used = (
        await AuthToken.update({AuthToken.used_at: utcnow()})
        .where((AuthToken.id == row["id"]) & AuthToken.used_at.is_null())
        .returning(AuthToken.id)
        .run()
    )
    if not used:
        raise Invalid(BAD_LINK)
    return row
