"""The demo's mailbox: mail to support@example.org becomes tickets of the first team."""

from __future__ import annotations

from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.mail.tables import Mailbox

DEMO_MAILBOX = "support@example.org"


async def seed_demo_mailbox() -> bool:
    """Idempotent: True when the mailbox was created."""
    if await fetch("SELECT id FROM mailbox WHERE address = {}", DEMO_MAILBOX):
        return False
    teams = await fetch("SELECT id FROM team ORDER BY id LIMIT 1")
    async with write_transaction():
        await Mailbox.insert(
            Mailbox(
                address=DEMO_MAILBOX,
                name="Front Desk Support",
                team=teams[0]["id"] if teams else None,
                signature="The Front Desk support team",
                created_at=utcnow(),
            )
        ).run()
    return True
