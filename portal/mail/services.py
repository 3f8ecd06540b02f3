"""Outgoing mail: rendered from templates, stored in the outbox, delivered by a job.

``queue_mail`` must run inside the write transaction of the change that causes the mail, so a rolled
back change sends nothing and a committed one always sends.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.clock import utcnow
from portal.errors import NotFound
from portal.jobs import queue
from portal.mail.tables import OutboundMail
from portal.settings import get_settings
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
class MailAttachment:
    filename: str
    content_type: str
    data: bytes

    def as_json(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type,
                "data": base64.b64encode(self.data).decode()}


async def queue_mail(to: str, template: str, context: dict[str, Any],
                     attachments: list[MailAttachment] | None = None) -> int:
    mail = render(template, context)
    rows = await OutboundMail.insert(OutboundMail(
        to_address=to, subject=mail.subject, body_text=mail.text, body_html=mail.html,
        template=template, status="queued", created_at=utcnow(),
        attachments=json.dumps([a.as_json() for a in attachments or []]),
    )).run()
    mail_id = rows[0]["id"]
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
    query = OutboundMail.select(
        OutboundMail.id, OutboundMail.to_address, OutboundMail.subject, OutboundMail.status,
        OutboundMail.template, OutboundMail.created_at, OutboundMail.sent_at, OutboundMail.error,
    ).order_by(OutboundMail.id, ascending=False).limit(OUTBOX_PAGE + 1)
    if before_id:
        query = query.where(OutboundMail.id < before_id)
    if to:
        query = query.where(OutboundMail.to_address == to.strip().lower())
    rows = [OutboxRow(**row) for row in await query]
    next_cursor = rows[OUTBOX_PAGE - 1].id if len(rows) > OUTBOX_PAGE else None
    return rows[:OUTBOX_PAGE], next_cursor


async def outbox_message(mail_id: int) -> dict:
    row = await OutboundMail.select().where(OutboundMail.id == mail_id).first()
    if row is None:
        raise NotFound("No such message in the outbox.")
    row["attachment_list"] = mail_attachments(row)
    return row


def mail_attachments(row: dict) -> list[MailAttachment]:
    raw = row.get("attachments") or "[]"
    items = json.loads(raw) if isinstance(raw, str) else raw
    return [MailAttachment(i["filename"], i["content_type"], base64.b64decode(i["data"])) for i in items]
