"""The loop guard's budgets: one acknowledgement per address a day, and a breaker that holds mail
from a sender (or into one ticket) beyond PORTAL_MAIL_SENDER_HOURLY_LIMIT an hour.

Two help desks (or a desk and an auto-responder that hides what it is) can answer each other
forever; these budgets end it within an hour even when every header lies. Held mail waits in
/back/inbound for an admin, who is told once an hour per sender.
"""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.services import admin_addresses
from portal.clock import utcnow
from portal.db import fetch
from portal.mail.services import queue_mail
from portal.settings import get_settings

ACK_WINDOW = timedelta(hours=24)
BREAKER_WINDOW = timedelta(hours=1)
ACK_TEMPLATE = "ticket_received"


async def may_acknowledge(address: str) -> bool:
    """No acknowledgement went to ``address`` in the last 24 hours."""
    rows = await fetch(
        "SELECT 1 AS found FROM outbound_mail WHERE to_address = {} AND created_at > {} AND template = {} LIMIT 1",
        address,
        utcnow() - ACK_WINDOW,
        ACK_TEMPLATE,
    )
    return not rows


async def over_budget(inbound_id: int, sender: str, ticket: int | None) -> str:
    """Why the breaker holds this mail ("" when within budget): the mails received in the last
    hour before it from its sender, or into its ticket, reached the limit."""
    limit = get_settings().mail_sender_hourly_limit
    if sender and await _received_in_the_hour("from_address", sender, inbound_id) >= limit:
        return f"more than {limit} mails from {sender} within an hour"
    if ticket is not None and await _received_in_the_hour("ticket", ticket, inbound_id) >= limit:
        return f"more than {limit} mails into #{ticket} within an hour"
    return ""


async def _received_in_the_hour(column: str, value: str | int, before_id: int) -> int:
    """Mails received in the breaker's window before ``before_id`` with ``column`` = ``value``
    (``column`` is one of this module's names, never input)."""
    rows = await fetch(
        f"SELECT COUNT(*) AS n FROM inbound_mail WHERE {column} = {{}} AND received_at > {{}} AND id < {{}}",
        value,
        utcnow() - BREAKER_WINDOW,
        before_id,
    )
    return int(rows[0]["n"])


async def tell_admins(inbound_id: int, sender: str, reason: str) -> None:
    """Inside the transaction that holds a mail: the first mail held from a sender in an hour tells
    the admins (once, not once per mail)."""
    earlier = await fetch(
        "SELECT 1 AS found FROM inbound_mail WHERE status = 'held' AND from_address = {} AND received_at > {} "
        "AND id <> {} LIMIT 1",
        sender,
        utcnow() - BREAKER_WINDOW,
        inbound_id,
    )
    if not earlier:
        link = f"{get_settings().base_url}/back/inbound?status=held"
        for address in await admin_addresses():
            await queue_mail(address, "mail_held", {"sender": sender, "reason": reason, "link": link})
