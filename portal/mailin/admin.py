"""Admin work on the mail channel: mailboxes (addresses, IMAP settings, health) and received mail
that needs a person (failed or held: retry, release, drop).

Every function checks that the actor is an admin (the access policy already keeps others out) and
owns its transaction; a retried or released mail's parse job is queued in the same commit as its
new status, so it is never left waiting without one.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any

from portal.accounts.rules import Actor
from portal.accounts.services import audit
from portal.accounts.tables import Team
from portal.clock import utcnow
from portal.db import change_one, fetch, taken, write_transaction
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.jobs import queue
from portal.mail import secrets
from portal.mail.tables import Mailbox
from portal.mailin import raw_view
from portal.mailin.admin_forms import MailboxForm, MailboxInput, check_mailbox
from portal.mailin.intake import PROCESS_JOB
from portal.mailin.tables import InboundMail
from portal.tickets import reads
from portal.tickets.access import SYSTEM

INBOUND_PAGE = 50
# The inbound list's filters: the statuses each shows ("attention", the default: what waits for a person).
VIEWS: dict[str, tuple[str, ...]] = {
    "attention": ("failed", "held"),
    "failed": ("failed",),
    "held": ("held",),
    "ignored": ("ignored",),
    "done": ("done",),
    "dropped": ("dropped",),
    "all": (),
}
# What an admin can do with a received mail: the statuses it applies to, and the status it leaves.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "retry": (("failed",), "received"),
    "release": (("held",), "released"),
    "drop": (("failed", "held"), "dropped"),
}
MESSAGES = {
    "retry": "The mail is queued to be read again.",
    "release": "The mail is released: it is processed past the loop breaker.",
    "drop": "The mail is dropped. Its original stays here.",
}


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators manage mailboxes and received mail.")


# --- mailboxes -------------------------------------------------------------------------------------------


def health(row: dict[str, Any]) -> str:
    """Mailbox health: "failing" when the last error is newer than the last success, "ok" after a success, else
    "unknown" (nothing received or fetched yet)."""
    error_at, success_at = row.get("last_error_at"), row.get("last_success_at")
    if row.get("last_error") and error_at and (success_at is None or error_at >= success_at):
        return "failing"
    return "ok" if success_at else "unknown"


async def team_choices() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await Team.select(Team.id, Team.name).order_by(Team.name)
    return rows


async def mailboxes(actor: Actor) -> list[dict[str, Any]]:
    require_admin(actor)
    rows: list[dict[str, Any]] = await Mailbox.select(
        Mailbox.id,
        Mailbox.address,
        Mailbox.name,
        Mailbox.intake,
        Mailbox.is_active,
        Mailbox.imap_host,
        Mailbox.last_success_at,
        Mailbox.last_error,
        Mailbox.last_error_at,
        Mailbox.team.name.as_alias("team_name"),
    ).order_by(Mailbox.address)
    for row in rows:
        row["health"] = health(row)
    return rows


async def waiting_count() -> int:
    """Received mail waiting for a person (failed or held)."""
    rows = await fetch("SELECT COUNT(*) AS n FROM inbound_mail WHERE status IN ('failed', 'held')")
    return int(rows[0]["n"])


async def _mailbox_row(mailbox_id: int) -> dict[str, Any]:
    row: dict[str, Any] | None = await Mailbox.select().where(Mailbox.id == mailbox_id).first()
    if row is None:
        raise NotFound("We could not find that mailbox.")
    row["has_secret"] = bool(row["imap_secret"])
    row["imap_secret"] = ""  # nothing below the service layer ever sees it
    row["health"] = health(row)
    return row


async def mailbox(actor: Actor, mailbox_id: int) -> tuple[dict[str, Any], MailboxForm]:
    """The stored mailbox (without its secret) and its form."""
    require_admin(actor)
    row = await _mailbox_row(mailbox_id)
    return row, MailboxForm.from_row(row)


async def _checked(form: MailboxForm, has_secret: bool) -> MailboxInput:
    data, errors = check_mailbox(form, has_secret=has_secret)
    if data.team is not None and "team" not in errors and not await Team.exists().where(Team.id == data.team):
        errors["team"] = "That team does not exist any more: choose another."
    if errors:
        raise Invalid(errors=errors)
    return data


def _columns(data: MailboxInput) -> dict[str, Any]:
    """The row's values; the secret encrypted when a new one was typed, emptied when an environment
    variable now holds it, and left out (kept as stored) otherwise."""
    values = {key: value for key, value in asdict(data).items() if key != "imap_secret"}
    if data.imap_secret:
        values["imap_secret"] = secrets.encrypt(data.imap_secret)
    elif data.clear_secret:
        values["imap_secret"] = ""
    return values


async def _address_free(address: str, mailbox_id: int | None = None) -> None:
    if await taken(Mailbox.address, address, other_than=mailbox_id):
        raise Invalid(errors={"address": "Another mailbox has this address already."})


async def create_mailbox(actor: Actor, form: MailboxForm) -> int:
    require_admin(actor)
    data = await _checked(form, has_secret=False)
    async with write_transaction():
        await _address_free(data.address)
        rows = await Mailbox.insert(Mailbox(**_columns(data), created_at=utcnow())).run()
        mailbox_id = int(rows[0]["id"])
        await audit(actor.id, "mailbox.created", data.address, {"mailbox": mailbox_id})
    return mailbox_id


async def update_mailbox(actor: Actor, mailbox_id: int, form: MailboxForm) -> None:
    require_admin(actor)
    row = await _mailbox_row(mailbox_id)
    data = await _checked(form, has_secret=row["has_secret"])
    async with write_transaction():
        await _address_free(data.address, mailbox_id)
        values = {getattr(Mailbox, name): value for name, value in _columns(data).items()}
        await change_one(Mailbox.update(values).where(Mailbox.id == mailbox_id), "We could not find that mailbox.")
        secret = "changed" if data.imap_secret else "cleared" if data.clear_secret and row["has_secret"] else "kept"
        await audit(actor.id, "mailbox.updated", data.address, {"mailbox": mailbox_id, "secret": secret})


async def set_active(actor: Actor, mailbox_id: int, active: bool) -> str:
    """Take a mailbox in or out of service; returns its address. An inactive one receives nothing
    (the listener refuses its address) and sends nothing."""
    require_admin(actor)
    async with write_transaction():
        row = await _mailbox_row(mailbox_id)
        await Mailbox.update({Mailbox.is_active: active}).where(Mailbox.id == mailbox_id).run()
        await audit(actor.id, "mailbox.activated" if active else "mailbox.deactivated", row["address"])
    address: str = row["address"]
    return address


async def delete_mailbox(actor: Actor, mailbox_id: int, confirmed: bool) -> str:
    """Delete a mailbox that no ticket came in through (with the admin's confirmation); returns
    its address. One with tickets is deactivated instead: their history keeps the address."""
    require_admin(actor)
    async with write_transaction():
        row = await _mailbox_row(mailbox_id)
        if not confirmed:
            raise Invalid(errors={"confirm": "Tick “Yes, delete this mailbox” to confirm."})
        if await reads.came_through(SYSTEM, mailbox_id):
            raise Conflict(
                f"Tickets came in through {row['address']}, so it cannot be deleted: deactivate it instead "
                "(it then receives and sends nothing, and the tickets keep their history)."
            )
        await Mailbox.delete().where(Mailbox.id == mailbox_id).run()
        await audit(actor.id, "mailbox.deleted", row["address"])
    address: str = row["address"]
    return address


# --- received mail ---------------------------------------------------------------------------------------


def view_of(status: str) -> str:
    """The list's filter from the query string; anything unknown shows what needs attention."""
    return status if status in VIEWS else "attention"


async def inbound_page(
    actor: Actor, view: str, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest first, keyset-paginated by id; returns rows and the cursor for the next page."""
    require_admin(actor)
    query = (
        InboundMail.select(
            InboundMail.id,
            InboundMail.received_at,
            InboundMail.envelope_from,
            InboundMail.from_address,
            InboundMail.subject,
            InboundMail.status,
            InboundMail.outcome,
            InboundMail.error,
            InboundMail.ticket,
        )
        .order_by(InboundMail.id, ascending=False)
        .limit(INBOUND_PAGE + 1)
    )
    if statuses := VIEWS[view_of(view)]:
        query = query.where(InboundMail.status.is_in(list(statuses)))
    if before_id:
        query = query.where(InboundMail.id < before_id)
    rows: list[dict[str, Any]] = await query
    next_cursor = int(rows[INBOUND_PAGE - 1]["id"]) if len(rows) > INBOUND_PAGE else None
    return rows[:INBOUND_PAGE], next_cursor


async def _inbound_row(inbound_id: int) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await InboundMail.select(*InboundMail.all_columns(), InboundMail.mailbox.address.as_alias("mailbox_address"))
        .where(InboundMail.id == inbound_id)
        .first()
    )
    if row is None:
        raise NotFound("We could not find that mail.")
    row["raw_message"] = bytes(row["raw_message"])
    return row


def _addresses(value: Any) -> list[str]:
    items = json.loads(value) if isinstance(value, str) else value
    return [str(item) for item in items or []]


async def inbound_mail(actor: Actor, inbound_id: int) -> dict[str, Any]:
    """One received mail for its page: the row, its envelope and headers, its source as text."""
    require_admin(actor)
    row = await _inbound_row(inbound_id)
    row["envelope_to"] = _addresses(row["envelope_to"])
    row["view"] = await asyncio.to_thread(raw_view.view, row.pop("raw_message"))
    row["actions"] = [name for name, (statuses, _) in ACTIONS.items() if row["status"] in statuses]
    return row


async def inbound_raw(actor: Actor, inbound_id: int) -> bytes:
    """The message exactly as it was received."""
    require_admin(actor)
    rows = await InboundMail.select(InboundMail.raw_message).where(InboundMail.id == inbound_id).first()
    if rows is None:
        raise NotFound("We could not find that mail.")
    return bytes(rows["raw_message"])


async def act(actor: Actor, inbound_id: int, action: str) -> str:
    """Retry (failed), release (held) or drop (failed or held) one mail; returns what to tell the
    admin. The status changes only from the one the action applies to, so two admins (or an admin
    and the parse job) never both win."""
    require_admin(actor)
    allowed, new_status = ACTIONS[action]
    async with write_transaction():
        changes: dict[Any, Any] = {InboundMail.status: new_status}
        if action == "retry":
            changes[InboundMail.error] = ""
        if action == "drop":
            changes[InboundMail.processed_at] = utcnow()
        changed = (
            await InboundMail.update(changes)
            .where((InboundMail.id == inbound_id) & InboundMail.status.is_in(list(allowed)))
            .returning(InboundMail.id)
            .run()
        )
        if not changed:
            await _refuse(inbound_id, action)
        if action != "drop":
            await queue.enqueue(PROCESS_JOB, {"inbound_id": inbound_id}, max_attempts=5)
        await audit(actor.id, f"inbound.{action}", str(inbound_id))
    return MESSAGES[action]


async def _refuse(inbound_id: int, action: str) -> None:
    row = await InboundMail.select(InboundMail.status).where(InboundMail.id == inbound_id).first()
    if row is None:
        raise NotFound("We could not find that mail.")
    raise Conflict(f"This mail is {row['status']} now, so it cannot be {_past(action)}.")


def _past(action: str) -> str:
    return {"retry": "retried", "release": "released", "drop": "dropped"}[action]
