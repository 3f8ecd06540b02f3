"""Outgoing mail: rendered from templates, stored in the outbox, delivered by a job.

``queue_mail`` must run inside the write transaction of the change that causes the mail, so a rolled
back change sends nothing and a committed one always sends.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from portal.clock import utcnow
from portal.db import insert_row, write_transaction
from portal.errors import NotFound
from portal.jobs import queue
from portal.mail.tables import OutboundMail
from portal.settings import get_settings
from portal.web.access import secret_link_prefixes
from portal.web.templating import environment


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(template: str, context: dict[str, Any]) -> RenderedMail:
    """``emails/<template>.txt`` and ``.html``; the subject is the text template's first line."""
    settings = get_settings()
    ctx = {"site_name": settings.site_name, "base_url": settings.base_url, **context}
    env = environment()
    text = env.get_template(f"emails/{template}.txt").render(ctx)
    subject, _, body = text.partition("\n")
    html = env.get_template(f"emails/{template}.html").render({**ctx, "subject": subject.strip()})
    return RenderedMail(subject=subject.strip()[:300], text=body.lstrip("\n"), html=html)


@dataclass(frozen=True)
class Envelope:
    """Who a mail is from and how it threads: the From header ("Name <address>"; empty: the site's
    PORTAL_MAIL_FROM), our Message-ID (without <>), the ticket it belongs to, and headers
    (Reply-To, In-Reply-To, References). ``automatic`` is the Auto-Submitted value (RFC 3834):
    "auto-generated" for notifications, "auto-replied" for acknowledgements, "" for a person's words."""

    sender: str = ""
    message_id: str = ""
    ticket: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    automatic: str = "auto-generated"

    def all_headers(self) -> dict[str, str]:
        extra = {"Auto-Submitted": self.automatic} if self.automatic else {}
        return {**self.headers, **extra}


PLAIN = Envelope()


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str
    data: bytes

    def as_json(self) -> dict:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "data": base64.b64encode(self.data).decode(),
        }


async def queue_mail(
    to: str,
    template: str,
    context: dict[str, Any],
    attachments: list[MailAttachment] | None = None,
    envelope: Envelope = PLAIN,
) -> int:
    mail = render(template, context)
    mail_id = await insert_row(
        "outbound_mail",
        {
            "to_address": to,
            "subject": mail.subject,
            "body_text": mail.text,
            "body_html": mail.html,
            "template": template,
            "status": "queued",
            "created_at": utcnow(),
            "attachments": json.dumps([a.as_json() for a in attachments or []]),
            "from_address": envelope.sender,
            "headers": json.dumps(envelope.all_headers()),
            "ticket": envelope.ticket,
            "message_id": envelope.message_id,
        },
    )
    await queue.enqueue("mail.send", {"mail_id": mail_id})
    return mail_id


@dataclass(frozen=True)
class OutboxRow:
    id: int
    to_address: str
    subject: str
    status: str
    template: str
    created_at: datetime
    sent_at: datetime | None
    error: str


OUTBOX_PAGE = 50


async def outbox_page(before_id: int | None = None, to: str = "") -> tuple[list[OutboxRow], int | None]:
    """Newest first, keyset-paginated by id; returns rows and the cursor for the next page."""
    query = (
        OutboundMail.select(
            OutboundMail.id,
            OutboundMail.to_address,
            OutboundMail.subject,
            OutboundMail.status,
            OutboundMail.template,
            OutboundMail.created_at,
            OutboundMail.sent_at,
            OutboundMail.error,
        )
        .order_by(OutboundMail.id, ascending=False)
        .limit(OUTBOX_PAGE + 1)
    )
    if before_id:
        query = query.where(OutboundMail.id < before_id)
    if to:
        query = query.where(OutboundMail.to_address == to.strip().lower())
    rows = [OutboxRow(**row) for row in await query]
    next_cursor = rows[OUTBOX_PAGE - 1].id if len(rows) > OUTBOX_PAGE else None
    return rows[:OUTBOX_PAGE], next_cursor


async def outbox_message(mail_id: int) -> dict:
    """A message as an administrator may read it: links that carry a secret are masked, except in
    mail kept here because no SMTP server is configured (``stored``, or still ``queued`` for it),
    for which the outbox is the only mailbox there is."""
    row = await OutboundMail.select().where(OutboundMail.id == mail_id).first()
    if row is None:
        raise NotFound("No such message in the outbox.")
    # Without SMTP a queued mail is on its way to ``stored`` (the job has not run yet): the outbox is
    # its mailbox too, so its links stay readable.
    kept_here = row["status"] == "stored" or (row["status"] == "queued" and not get_settings().smtp_url)
    row["links_masked"] = not kept_here
    if row["links_masked"]:
        row["body_text"], row["body_html"] = mask_secret_links(row["body_text"]), mask_secret_links(row["body_html"])
    row["attachment_list"] = mail_attachments(row)
    return row


# --- secret links: masked in the outbox view, redacted after the retention ---------------------

MASK = "…"
REDACT_BATCH = 500


@functools.cache
def _secret_link() -> re.Pattern:
    prefixes = "|".join(re.escape(prefix) for prefix in secret_link_prefixes())
    return re.compile(rf"({prefixes})[A-Za-z0-9_-]{{16,}}")  # our tokens are ≥ 43 URL-safe characters


def mask_secret_links(text: str) -> str:
    """``text`` with the secret of every link to a token route replaced by "…"; the rest of the link
    (and of the mail) stays readable, so support can still see what was sent."""
    return _secret_link().sub(lambda match: match.group(1) + MASK, text)


def redacted_bodies(text: str, html: str) -> dict:
    return {
        OutboundMail.body_text: mask_secret_links(text),
        OutboundMail.body_html: mask_secret_links(html),
        OutboundMail.redacted_at: utcnow(),
    }


async def redact_delivered_mail(now: datetime | None = None) -> int:
    """Mask the secret links kept in mail delivered more than PORTAL_OUTBOX_RETENTION_DAYS ago.

    Only delivered mail (``sent``, or ``stored`` without SMTP; both have ``sent_at``) is redacted:
    queued and failed mail keeps its bodies, so nothing undelivered is lost. Returns the count."""
    cutoff = (now or utcnow()) - timedelta(days=get_settings().outbox_retention_days)
    done = 0
    while True:
        async with write_transaction():
            rows = (
                await OutboundMail.select(OutboundMail.id, OutboundMail.body_text, OutboundMail.body_html)
                .where(
                    OutboundMail.redacted_at.is_null()
                    & OutboundMail.sent_at.is_not_null()
                    & (OutboundMail.sent_at <= cutoff)
                )
                .order_by(OutboundMail.sent_at)
                .limit(REDACT_BATCH)
            )
            for row in rows:
                await (
                    OutboundMail.update(redacted_bodies(row["body_text"], row["body_html"]))
                    .where(OutboundMail.id == row["id"])
                    .run()
                )
        done += len(rows)
        if len(rows) < REDACT_BATCH:
            return done


def mail_attachments(row: dict) -> list[MailAttachment]:
    raw = row.get("attachments") or "[]"
    items = json.loads(raw) if isinstance(raw, str) else raw
    return [MailAttachment(i["filename"], i["content_type"], base64.b64decode(i["data"])) for i in items]
