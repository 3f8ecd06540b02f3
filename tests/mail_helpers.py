"""Mail for the channel's tests: a mailbox row, mails written like a client writes them, and
delivery through the real listener (a socket, SMTP) or ``intake.receive``."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.jobs.worker import drain
from portal.mail.tables import Mailbox, OutboundMail
from portal.mailin import listener

DESK = "support@desk.example"


async def make_mailbox(address: str = DESK, **fields) -> int:
    async with write_transaction():
        rows = await Mailbox.insert(
            Mailbox(address=address, name=fields.pop("name", "Example Support"), created_at=utcnow(), **fields)
        ).run()
    return rows[0]["id"]


def new_mail(
    sender: str = "ann@customer.example",
    subject: str = "Printer on fire",
    body: str = "The printer in room 4 is on fire.\nPlease help.",
    *,
    to: str = DESK,
    name: str = "Ann Customer",
    cc: str = "",
    headers: dict[str, str] | None = None,
    message_id: str = "",
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    return message


def reply_to(sent: dict, body: str, *, sender: str, name: str = "Ann Customer", quote: bool = True) -> EmailMessage:
    """What a mail client sends when its user presses Reply on ``sent`` (an outbox row)."""
    headers = json.loads(sent["headers"]) if isinstance(sent["headers"], str) else sent["headers"]
    reply_address = email.utils.parseaddr(headers["Reply-To"])[1]
    quoted = "\n".join("> " + line for line in sent["body_text"].splitlines())
    text = f"{body}\n\nOn Mon, 7 Dec 2026 at 10:00, Example Support <{DESK}> wrote:\n{quoted}\n" if quote else body
    message = new_mail(sender, f"Re: {sent['subject']}", text, to=reply_address, name=name)
    message["In-Reply-To"] = f"<{sent['message_id']}>"
    message["References"] = f"<{sent['message_id']}>"
    return message


class Listener:
    """The intake's real listener on a free port; ``send`` speaks SMTP to it from a thread."""

    def __init__(self) -> None:
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def __aenter__(self) -> Listener:
        self.server = await listener.start("127.0.0.1:0")
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def send(self, message: EmailMessage | bytes, *, sender: str = "", recipients: list[str] | None = None):
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=email.policy.SMTP)
        if recipients is None:
            assert isinstance(message, EmailMessage)
            recipients = [email.utils.parseaddr(a)[1] for a in message.get_all("To", []) + message.get_all("Cc", [])]
        if not sender and isinstance(message, EmailMessage):
            sender = email.utils.parseaddr(message["From"])[1]

        def deliver():
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
                return client.sendmail(sender, recipients, raw)

        return await asyncio.to_thread(deliver)


async def deliver(listening: Listener, message: EmailMessage | bytes, **kwargs) -> None:
    """Send, then run the jobs (the parse job) as the worker would."""
    await listening.send(message, **kwargs)
    await drain()


async def inbound() -> list[dict]:
    return await fetch("SELECT id, status, outcome, error, ticket, from_address FROM inbound_mail ORDER BY id")


async def sent_to(address: str, template: str | None = None) -> list[dict]:
    query = OutboundMail.select().where(OutboundMail.to_address == address).order_by(OutboundMail.id)
    if template:
        query = query.where(OutboundMail.template == template)
    return await query


def parsed(row: dict) -> dict:
    return json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"]


def as_message(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
