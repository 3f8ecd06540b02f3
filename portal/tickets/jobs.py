from portal.clock import utcnow
from portal.db import write_transaction
from portal.tickets.services import close_solved_tickets, mail_ticket_link
from portal.tickets.tables import TicketToken


async def close_solved(payload: dict) -> None:
    await close_solved_tickets()


async def purge_links(payload: dict) -> None:
    """Expired or revoked guest links can never open anything again."""
    async with write_transaction():
        await (
            TicketToken.delete().where((TicketToken.expires_at < utcnow()) | TicketToken.revoked_at.is_not_null()).run()
        )


async def resend_links(payload: dict) -> None:
    await mail_ticket_link(payload["number"], payload["email"])
