"""Ticket history: one ``ticket_event`` row per change, written by every path that changes a ticket."""

from __future__ import annotations

from datetime import datetime

from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.tickets.rules import Channel
from portal.tickets.tables import TicketEvent


async def record_event(
    ticket_id: int,
    actor: Actor | None,
    field: str,
    old: str,
    new: str,
    reason: str = "",
    at: datetime | None = None,
    via: Channel = Channel.system,
) -> None:
    """One history row; ``actor`` None is automation (round-robin, jobs)."""
    await TicketEvent.insert(
        TicketEvent(
            ticket=ticket_id,
            actor=actor.id if actor else None,
            actor_name=actor.name if actor else "Automation",
            field=field,
            old_value=str(old)[:200],
            new_value=str(new)[:200],
            reason=reason[:200],
            via=via,
            at=at or utcnow(),
        )
    ).run()
