"""Mailboxes as the rest of the portal needs them: who a ticket's mail is from, and which
addresses are ours (never answered automatically, never made requesters or CCs)."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from portal.db import fetch
from portal.mail import threads
from portal.settings import get_settings


@dataclass(frozen=True)
class Identity:
    """The mailbox a ticket's mail goes out from (its address, From name and signature)."""

    address: str
    name: str
    signature: str = ""
    mailbox_id: int | None = None

    @property
    def sender(self) -> str:
        return formataddr((self.name, self.address)) if self.name else self.address


def site_identity() -> Identity:
    name, address = parseaddr(get_settings().mail_from)
    return Identity(address.lower() or "desk@localhost", name)


async def identity_for(mailbox_id: int | None, team_id: int | None) -> Identity:
    """The ticket's own mailbox; else the first active mailbox of its team; else the first active
    mailbox; else PORTAL_MAIL_FROM. One statement."""
    rows = await fetch(
        "SELECT id, address, name, signature FROM mailbox WHERE is_active = {} "
        "ORDER BY CASE WHEN id = {} THEN 0 WHEN team = {} THEN 1 ELSE 2 END, id LIMIT 1",
        True,
        mailbox_id or 0,
        team_id or 0,
    )
    if not rows:
        return site_identity()
    row = rows[0]
    return Identity(row["address"], row["name"] or get_settings().site_name, row["signature"], row["id"])


async def our_addresses() -> frozenset[str]:
    """Every address the desk receives at or sends from (lower-cased, without reply keys)."""
    rows = await fetch("SELECT address FROM mailbox")
    return frozenset({row["address"].lower() for row in rows} | {site_identity().address})


def is_ours(address: str, ours: frozenset[str]) -> bool:
    return threads.base_address(address) in ours


def mail_keys() -> tuple[bytes, ...]:
    settings = get_settings()
    return threads.derive_keys(settings.mail_keys, settings.secret_key)
