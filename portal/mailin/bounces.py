"""Bounces: attached to the mail they bounce, marking its address; never answered."""

from __future__ import annotations

from portal.clock import utcnow
from portal.db import fetch
from portal.mailin.parse import Bounce
from portal.tickets import write
from portal.tickets.access import SYSTEM


async def record(bounce: Bounce) -> str:
    """Mark the bounced mail and addresses, note it on the ticket; returns the outcome text."""
    now = utcnow()
    reason = bounce.reason[:300] or "delivery failed"
    sent = []
    if bounce.original_message_id:
        sent = await fetch(
            "SELECT id, ticket, to_address FROM outbound_mail WHERE message_id = {}", bounce.original_message_id
        )
    recipients = list(bounce.recipients) or [row["to_address"] for row in sent]
    async with write.one_transaction():
        for row in sent:
            await fetch(
                "UPDATE outbound_mail SET bounced_at = {}, error = {} WHERE id = {}",
                now,
                f"bounced: {reason}",
                row["id"],
            )
        for address in recipients:
            await fetch(
                "INSERT INTO bounced_address (email, reason, bounced_at) VALUES ({}, {}, {}) "
                "ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, bounced_at = excluded.bounced_at",
                address[:254],
                reason,
                now,
            )
        for row in sent:
            if row["ticket"]:
                await write.note_bounce(SYSTEM, row["ticket"], row["to_address"], reason)
    if sent:
        return f"bounce of our mail to {', '.join(recipients)[:150]}" + (
            f" (#{sent[0]['ticket']})" if sent[0]["ticket"] else ""
        )
    return f"bounce for {', '.join(recipients)[:150] or 'an unknown address'}: not one of our mails"
