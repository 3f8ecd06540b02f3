"""The SMTP/LMTP listener a mail server (Postfix, …) hands mail to.

It listens where PORTAL_MAIL_IN_LISTEN says: ``host:port`` speaks SMTP, ``unix:/path`` speaks
LMTP (what Postfix's ``lmtp:unix:`` transport and Dovecot expect). It takes mail only for active
mailboxes (with or without a reply key) and answers 250 only once the raw message is committed
(``intake.receive``); anything else it refuses or defers, so the sending server keeps the mail.
aiosmtpd ≥ 1.4.6 refuses bare line feeds in the data (SMTP smuggling).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from portal.jobs.worker import wake_workers
from portal.mailin.intake import MailTooLarge, accepts_recipient, receive
from portal.settings import get_settings

log = logging.getLogger("portal.mailin")
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
MAX_RECIPIENTS = 100
NULL_SENDER = "<>"  # stored for the null return path (bounces, auto-replies): "" means unknown


class IntakeHandler:
    """aiosmtpd's handler: RCPT checks the mailbox, DATA stores the message."""

    def __init__(self, lmtp: bool) -> None:
        self.lmtp = lmtp

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            ours = await accepts_recipient(address)
        except Exception:  # noqa: BLE001 - the database is away: the sender must keep the mail
            log.exception("mail intake: recipient check failed")
            return "451 4.3.0 Temporary failure, please try again later"
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await receive(
                raw,
                source="lmtp" if self.lmtp else "smtp",
                envelope_from=envelope.mail_from or NULL_SENDER,
                envelope_to=list(envelope.rcpt_tos),
            )
        except MailTooLarge:
            return "552 5.3.4 Message too big for this mailbox"
        except Exception:  # noqa: BLE001 - not stored: the sender must keep it and retry
            log.exception("mail intake: could not store a message")
            return "451 4.3.0 Temporary failure, please try again later"
        wake_workers()
        # LMTP answers once per recipient (RFC 2033); the message is stored once for all of them.
        count = len(envelope.rcpt_tos) if self.lmtp else 1
        return "\r\n".join(["250 2.0.0 Message accepted"] * count)


def _protocol(lmtp: bool) -> Any:
    settings = get_settings()
    handler = IntakeHandler(lmtp)
    kind = LMTP if lmtp else SMTP
    return lambda: kind(handler, data_size_limit=settings.mail_max_bytes, hostname="front-desk", timeout=120)


async def _answers(path: Path) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    return True


async def start(listen: str) -> asyncio.AbstractServer:
    """Start listening on ``listen`` (``host:port`` or ``unix:/path``) in the running loop."""
    loop = asyncio.get_running_loop()
    if listen.startswith("unix:"):
        path = Path(listen.removeprefix("unix:"))
        if path.exists() and await _answers(path):
            raise OSError(f"{path} is in use by another listener")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a stale socket of an earlier run
        server = await loop.create_unix_server(_protocol(lmtp=True), str(path))
        os.chmod(path, 0o660)
        return server
    host, _, port = listen.rpartition(":")
    return await loop.create_server(_protocol(lmtp=False), host.strip("[]") or "127.0.0.1", int(port), reuse_port=True)
