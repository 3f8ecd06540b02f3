"""Guest links (``/t/{token}``): each mail to a requester without an account carries a fresh one.

Only token digests are stored. A link expires after 30 idle days (each use slides it, at most
hourly so reading a ticket is not a write), and is revoked when its ticket is merged away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.clock import utcnow
from portal.db import insert_row, write_transaction
from portal.errors import NotFound
from portal.settings import get_settings
from portal.tickets import rules
from portal.tickets.tables import TicketToken
from portal.tokens import new_token, plausible_token, token_digest

EXPIRED = "This link is invalid or has expired. Ask for a new one with “Find my ticket”."


async def resolve(raw: str) -> int:
    """The id of the ticket a live link opens (NotFound otherwise); using it keeps it alive."""
    if not plausible_token(raw):
        raise NotFound(EXPIRED)
    now = utcnow()
    token = await TicketToken.select().where(TicketToken.token_hash == token_digest(raw)).first()
    if token is None or token["revoked_at"] is not None or token["expires_at"] <= now:
        raise NotFound(EXPIRED)
    if token["last_used_at"] is None or now - token["last_used_at"] > rules.GUEST_LINK_SLIDE_AFTER:
        async with write_transaction():
            await (
                TicketToken.update({TicketToken.last_used_at: now, TicketToken.expires_at: now + rules.GUEST_LINK_IDLE})
                .where(TicketToken.id == token["id"])
                .run()
            )
    return int(token["ticket"])


async def issue(ticket_id: int) -> str:
    """A fresh link path for a mail; call inside the write transaction that sends the mail."""
    raw = new_token()
    now = utcnow()
    await insert_row(
        "ticket_token",
        {
            "ticket": ticket_id,
            "token_hash": token_digest(raw),
            "expires_at": now + rules.GUEST_LINK_IDLE,
            "created_at": now,
        },
    )
    return f"/t/{raw}"


async def revoke_all(ticket_id: int, now: datetime) -> None:
    await (
        TicketToken.update({TicketToken.revoked_at: now})
        .where((TicketToken.ticket == ticket_id) & TicketToken.revoked_at.is_null())
        .run()
    )


async def link_for_mail(ticket: dict[str, Any]) -> str:
    """The absolute link a mail about ``ticket`` carries: the account's page, or a new guest link."""
    path = f"/tickets/{ticket['number']}" if ticket["requester"] else await issue(ticket["id"])
    return f"{get_settings().base_url}{path}"


async def purge() -> None:
    """Expired or revoked links can never open anything again."""
    async with write_transaction():
        await (
            TicketToken.delete().where((TicketToken.expires_at < utcnow()) | TicketToken.revoked_at.is_not_null()).run()
        )
