"""The full original of a mail in a ticket: headers, the whole text and HTML (quoted history
included), for staff. Remote images stay blocked unless the agent asks to load them."""

from __future__ import annotations

import asyncio
from typing import Any

from portal.content import has_remote_images, link_inline_images, sanitize_mail_html
from portal.db import fetch
from portal.errors import NotFound
from portal.mailin import parse
from portal.tickets import reads
from portal.tickets.access import TicketAccess

NOT_A_MAIL = "This message did not come by mail, or its original is no longer kept."


async def original(access: TicketAccess, number: int, message_id: int, *, remote_images: bool) -> dict[str, Any]:
    if not access.staff:
        raise NotFound(NOT_A_MAIL)
    ticket = await reads.ticket(access, number)
    source = await reads.mail_source(access, ticket, message_id)
    rows = await fetch("SELECT raw_message, received_at FROM inbound_mail WHERE id = {}", source) if source else []
    if not rows:
        raise NotFound(NOT_A_MAIL)
    mail = await asyncio.to_thread(parse.parse, bytes(rows[0]["raw_message"]))
    html = link_inline_images(sanitize_mail_html(mail.html, remote_images=remote_images), {}) if mail.html else ""
    return {
        "ticket": ticket,
        "message_id": message_id,
        "mail": mail,
        "received_at": rows[0]["received_at"],
        "html": html,
        "remote_images": remote_images,
        "has_remote_images": has_remote_images(mail.html),
        "files": [(a.filename, len(a.data)) for a in mail.attachments],
    }
