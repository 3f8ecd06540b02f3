"""Delivery of outbox messages: SMTP when PORTAL_SMTP_URL is set, otherwise kept as ``stored``."""

from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from piccolo.columns import Column

from portal.clock import utcnow
from portal.db import write_transaction
from portal.mail.services import mail_attachments, redact_delivered_mail, redacted_bodies
from portal.mail.tables import OutboundMail
from portal.settings import get_settings


def build_message(row: dict, sender: str) -> EmailMessage:
    """The mail as sent: From is the row's (a mailbox) or ``sender``; every mail carries X-Loop
    with that address, so a copy that comes back to us is known for ours and never answered."""
    message = EmailMessage()
    message["From"] = row.get("from_address") or sender
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{row['message_id']}>" if row.get("message_id") else make_msgid(domain="front-desk")
    message["X-Loop"] = parseaddr(message["From"])[1].lower()
    raw_headers = row.get("headers") or "{}"
    for name, value in (json.loads(raw_headers) if isinstance(raw_headers, str) else raw_headers).items():
        message[name] = value
    message.set_content(row["body_text"])
    message.add_alternative(row["body_html"], subtype="html")
    for item in mail_attachments(row):
        # "text/calendar; method=CANCEL" → text, calendar, {"method": "CANCEL"}
        kind, *raw_params = [part.strip() for part in item.content_type.split(";")]
        maintype, _, subtype = kind.partition("/")
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        message.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename, params=params)
    return message


def smtp_options(url: str) -> dict:
    parts = urlsplit(url)
    implicit_tls = parts.scheme == "smtps"
    options = {
        "hostname": parts.hostname or "127.0.0.1",
        "port": parts.port or (465 if implicit_tls else 587 if parts.scheme == "smtp+starttls" else 25),
        "use_tls": implicit_tls,
        "start_tls": parts.scheme == "smtp+starttls",
        "timeout": 30,
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return options


async def mark_failed(payload: dict, error: str) -> None:
    async with write_transaction():
        await (
            OutboundMail.update({OutboundMail.status: "failed", OutboundMail.error: error[:2000]})
            .where(OutboundMail.id == payload["mail_id"])
            .run()
        )


async def send_mail(payload: dict) -> None:
    settings = get_settings()
    row = await OutboundMail.select().where(OutboundMail.id == payload["mail_id"]).first()
    if row is None or row["status"] in {"sent", "stored"}:
        return  # already delivered: a retried job must not send twice
    if not settings.smtp_url:
        status = "stored"
    else:
        try:
            await aiosmtplib.send(build_message(row, settings.mail_from), **smtp_options(settings.smtp_url))
        except Exception as exc:
            async with write_transaction():
                await (
                    OutboundMail.update({OutboundMail.error: str(exc)[:2000]}).where(OutboundMail.id == row["id"]).run()
                )
            raise
        status = "sent"
    changes: dict[Column | str, Any] = {
        OutboundMail.status: status,
        OutboundMail.sent_at: utcnow(),
        OutboundMail.error: "",
    }
    if settings.outbox_retention_days == 0:  # no retention: the links are masked as soon as delivered
        changes.update(redacted_bodies(row["body_text"], row["body_html"]))
    async with write_transaction():
        await OutboundMail.update(changes).where(OutboundMail.id == row["id"]).run()


async def redact_delivered(payload: dict) -> None:
    await redact_delivered_mail()
