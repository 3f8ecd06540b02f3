"""The tickets domain's jobs (registered by name in ``portal/job_handlers.py``)."""

from __future__ import annotations

from typing import Any

from portal.tickets import guest_links, write


async def close_solved(payload: dict[str, Any]) -> None:
    await write.close_solved_tickets()


async def purge_links(payload: dict[str, Any]) -> None:
    await guest_links.purge()


async def resend_links(payload: dict[str, Any]) -> None:
    await write.mail_ticket_link(payload["number"], payload["email"])
