"""Receiving mail: every raw message is stored unchanged, with its parse job, in one commit.

The listener answers 250 (and IMAP marks a mail fetched) only after ``receive`` returns: from then
on nothing is lost, whatever the parser later thinks of the message; a crash before parsing leaves
the job, which runs when a worker comes back.
"""

from __future__ import annotations

import hashlib
import json

from portal.clock import utcnow
from portal.db import fetch, insert_row, write_transaction
from portal.jobs import queue
from portal.mail import threads
from portal.settings import get_settings

PROCESS_JOB = "mailin.process"


class MailTooLarge(Exception):
    """Over PORTAL_MAIL_MAX_BYTES: refused before it is stored (the sender's server bounces it)."""


async def receive(
    raw: bytes,
    *,
    source: str,
    envelope_from: str = "",
    envelope_to: list[str] | tuple[str, ...] = (),
    mailbox_id: int | None = None,
) -> int:
    """Store one received message and queue its processing; returns its id once committed."""
    if len(raw) > get_settings().mail_max_bytes:
        raise MailTooLarge(f"message of {len(raw):,} bytes is over the limit")
    async with write_transaction():
        inbound_id = await insert_row(
            "inbound_mail",
            {
                "mailbox": mailbox_id,
                "source": source,
                "envelope_from": envelope_from[:320],
                "envelope_to": json.dumps([address[:320] for address in envelope_to][:100]),
                "raw_message": raw,
                "size": len(raw),
                "sha256": hashlib.sha256(raw).hexdigest(),
                "received_at": utcnow(),
            },
        )
        await queue.enqueue(PROCESS_JOB, {"inbound_id": inbound_id}, max_attempts=5)
    return inbound_id


async def accepts_recipient(address: str) -> bool:
    """Whether mail to ``address`` is ours to take: an active mailbox's address, with or without a
    reply key (``support+t.12.…@``). Anything else the listener refuses at RCPT (no open relay,
    no backscatter)."""
    rows = await fetch(
        "SELECT 1 AS found FROM mailbox WHERE is_active = {} AND address = {}",
        True,
        threads.base_address(address),
    )
    return bool(rows)
