"""A ticket's messages as stored: rendering the Markdown, storing uploads, one row per message.

Only the write path (``write.py``) calls these, inside its transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal import files
from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.content import link_inline_images, render_plain_text, render_stored
from portal.db import insert_row
from portal.errors import Invalid, Throttled, TooLarge
from portal.settings import get_settings
from portal.throttle import Throttle, minutes_text
from portal.tickets import rules
from portal.tickets.tables import Message


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes
    content_id: str = ""  # a mail's inline part (``cid:``): its HTML shows it as an image


@dataclass(frozen=True)
class MailOrigin:
    """Where a message that came by mail came from: its sanitized HTML ("" for a text-only mail,
    which is shown as text), its Message-ID (the thread of our answers) and the stored raw mail
    (the full original, one click away)."""

    html: str
    message_id: str
    inbound_id: int


async def render_off_loop(body: str, prefixes: tuple[str, ...] = ()) -> str:
    """The stored HTML of ``body`` (attachment URLs under ``prefixes`` become references).
    Markdown is pure Python: ~13 ms for 20 KB of prose, far more for hostile input. Off the loop."""
    return await asyncio.to_thread(render_stored, body, attachment_url_prefixes=prefixes)


async def preview(actor: Actor | None, body: str, *, ip: str, throttle: Throttle) -> str:
    """The editor's live preview. Anyone may use it (guests file tickets too), so for visitors who
    are not signed in it is throttled per address and bounded to a guest-sized text."""
    if actor is None:
        key = f"preview:{ip}"
        if wait := await throttle.retry_after(key, rules.GUEST_PREVIEWS_PER_IP):
            raise Throttled(
                f"Too many previews. The preview comes back in {minutes_text(wait)}; you can still send your message.",
                wait,
            )
        await throttle.hit(key, rules.GUEST_PREVIEW_WINDOW_SECONDS)
        if len(body.encode()) > rules.GUEST_PREVIEW_MAX_BYTES:
            raise TooLarge(
                f"The preview shows up to {rules.GUEST_PREVIEW_MAX_BYTES // 1024} KB of text when you "
                "are not signed in. Your full text is still sent with the form."
            )
    body = body[: rules.BODY_MAX]
    return await render_off_loop(body) if body.strip() else ""


def upload_root() -> Path:
    return get_settings().var_dir / "uploads"


async def store_uploads(uploads: list[Upload], limit: int | None = None) -> list[files.StoredFile]:
    """Store the files of one message (before its transaction: files are not rolled back, and an
    orphan file is harmless while a lost message is not). ``limit``: files per message, when not
    PORTAL_UPLOAD_MAX_FILES (a mail's count, inline images included)."""
    settings = get_settings()
    limit = limit or settings.upload_max_files
    if len(uploads) > limit:
        raise Invalid(errors={"files": f"Attach at most {limit} files."})
    stored = []
    for upload in uploads:
        try:
            stored.append(
                await files.store_upload(
                    upload_root(), upload.filename, upload.data, max_bytes=settings.upload_max_bytes
                )
            )
        except files.UploadRejected as error:
            raise Invalid(errors={"files": error.message}) from None
    return stored


def attachment_url_prefixes(number: int) -> tuple[str, ...]:
    """The attachment URLs a writer may use for an inline image or a link in a message of ticket
    ``number`` (as seen on the customer's page or in the console); they are stored as references."""
    return (f"/tickets/{number}/attachments/", f"/back/tickets/{number}/attachments/")


@dataclass(frozen=True)
class Author:
    """Who a message is from, as stored on it: the account (None for a guest or the system), the
    name shown, and whether the desk wrote it."""

    id: int | None
    name: str
    staff: bool

    @classmethod
    def of(cls, actor: Actor | None, name: str, *, staff: bool) -> Author:
        return cls(actor.id if actor else None, name, staff)


SYSTEM = Author(None, "System", staff=True)


async def add_message(
    ticket: dict[str, Any],
    author: Author,
    body: str,
    *,
    kind: str,
    via: rules.Channel,
    stored: Sequence[files.StoredFile] = (),
    origin: MailOrigin | None = None,
    content_ids: Sequence[str] = (),
) -> int:
    """Write one message; ``via`` records the channel it came through (web, email, api, phone, system).
    A mail (``origin``) keeps its own sanitized HTML, or its text as text, not Markdown; its inline
    images (``content_ids``, one per stored file) become references to their attachments."""
    now = utcnow()
    if origin is None:
        html = await render_off_loop(body, attachment_url_prefixes(ticket["number"]))
    else:
        html = origin.html or render_plain_text(body)
    message_id = await insert_row(
        "message",
        {
            "ticket": ticket["id"],
            "author": author.id,
            "author_name": author.name,
            "author_is_staff": author.staff,
            "kind": kind,
            "via": str(via),
            "body_source": body,
            "body_html": html,
            "created_at": now,
            "source_mail": origin.inbound_id if origin else None,
            "mail_message_id": origin.message_id if origin else "",
        },
    )
    inline: dict[str, int] = {}
    for index, item in enumerate(stored):
        attachment_id = await insert_row(
            "attachment",
            {
                "ticket": ticket["id"],
                "message": message_id,
                "filename": item.filename,
                "content_type": item.content_type,
                "size": item.size,
                "sha256": item.sha256,
                "storage_key": item.storage_key,
                "created_at": now,
            },
        )
        if index < len(content_ids) and content_ids[index]:
            inline[content_ids[index]] = attachment_id
    if origin and "cid:" in html:
        linked = link_inline_images(html, inline)
        await Message.update({Message.body_html: linked}).where(Message.id == message_id).run()
    return message_id


async def system_note(ticket: dict[str, Any], text: str) -> int:
    """A line in the thread that no person wrote ("Merged into #12", "The customer reopened it")."""
    return await add_message(ticket, SYSTEM, text, kind="system", via=rules.Channel.system)
