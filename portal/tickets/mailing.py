"""The mails of a ticket, threaded: every one goes out from the ticket's mailbox, to one recipient,
with a reply address and Message-ID signed for that recipient (``mail.threads``), the thread's
In-Reply-To/References, and the ticket number in the subject (the templates).

Only the write path calls these, inside its transaction (the mail is queued with the change).
"""

from __future__ import annotations

from email.utils import formataddr
from typing import Any

from portal.db import fetch
from portal.mail import mailboxes, threads
from portal.mail.services import Envelope, MailAttachment, queue_mail
from portal.tickets.rows import Row

THREAD_DEPTH = 10  # References keeps the thread's first mail and the latest ones
AUTO_GENERATED = "auto-generated"  # notifications (RFC 3834)
AUTO_REPLIED = "auto-replied"  # the acknowledgement of a mail
PERSON = ""  # a person's words (an agent's reply): no Auto-Submitted


async def thread_ids(number: int) -> list[str]:
    """The Message-IDs of the ticket's mails so far (received and sent), oldest first."""
    rows = await fetch(
        "SELECT mid, at FROM ("
        " SELECT m.mail_message_id AS mid, m.created_at AS at FROM message m JOIN ticket t ON t.id = m.ticket"
        " WHERE t.number = {} AND m.mail_message_id <> ''"
        " UNION ALL SELECT message_id AS mid, created_at AS at FROM outbound_mail"
        " WHERE ticket = {} AND message_id <> '') x ORDER BY at",
        number,
        number,
    )
    ids = [row["mid"] for row in rows]
    return ids if len(ids) <= THREAD_DEPTH else [ids[0], *ids[-(THREAD_DEPTH - 1) :]]


async def _envelope(identity: mailboxes.Identity, ticket: Row, recipient: str, *, automatic: str) -> Envelope:
    key = mailboxes.mail_keys()[0]
    number = int(ticket["number"])
    headers = {"Reply-To": formataddr((identity.name, threads.reply_address(identity.address, number, recipient, key)))}
    if ids := await thread_ids(number):
        headers["In-Reply-To"] = f"<{ids[-1]}>"
        headers["References"] = " ".join(f"<{i}>" for i in ids)
    return Envelope(
        sender=identity.sender,
        message_id=threads.message_id(identity.address, number, recipient, key),
        ticket=number,
        headers=headers,
        automatic=automatic,
    )


async def mail_about(
    ticket: Row,
    recipient: str,
    template: str,
    context: dict[str, Any],
    *,
    automatic: str = AUTO_GENERATED,
    attachments: list[MailAttachment] | None = None,
) -> int:
    """Queue one mail about ``ticket`` to ``recipient``, in the ticket's thread."""
    identity = await mailboxes.identity_for(ticket.get("mailbox"), ticket.get("team"))
    full_context = {"signature": identity.signature, "reply_marker": threads.REPLY_MARKER, **context}
    thread = await _envelope(identity, ticket, recipient, automatic=automatic)
    return await queue_mail(recipient, template, full_context, attachments, thread)
