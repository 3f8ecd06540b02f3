"""The parse job: one received mail → a new ticket, a reply, a note, a bounce, or nothing.

Runs as the ``mailin.process`` job for each stored mail. The parse runs in a thread (a 5 MB mail
must not stall the pages); the facts are read; ``routing.route`` decides; the kernel writes, and
the mail is marked done in the same commit. Anything that goes wrong leaves the mail ``failed``
with its error, for an admin to retry or drop: the raw message is never lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from portal.accounts.rules import Actor
from portal.accounts.services import staff_by_email
from portal.clock import utcnow
from portal.content import sanitize_mail_html
from portal.db import fetch, write_transaction
from portal.mail import mailboxes, threads
from portal.mailin import bounces, budget, parse
from portal.mailin.parse import MailRejected, ParsedMail
from portal.mailin.routing import Action, Facts, Route, route
from portal.settings import get_settings
from portal.tickets import reads, rules, write
from portal.tickets.access import SYSTEM, TicketAccess, for_actor, for_guest
from portal.tickets.messages import MailOrigin, Upload

log = logging.getLogger("portal.mailin")
NO_TEXT = "(This mail has no text.)"
SHORTENED = "\n\n[The mail was longer; this is its beginning. The full original is kept with the ticket.]"
UNPROVEN_NOTE = (
    "Possible reply from a new address: this mail names ticket #{number}, but it did not prove that it "
    "comes from someone on that ticket, so it became a ticket of its own. Compare the two and merge them "
    "if it belongs there."
)
FOLLOW_UP_NOTE = "Follow-up: this mail answers #{number}, which is closed, so it became a new ticket."


async def process(payload: dict[str, Any]) -> None:
    rows = await fetch("SELECT * FROM inbound_mail WHERE id = {}", payload["inbound_id"])
    if not rows or rows[0]["status"] not in ("received", "released"):
        return  # done already, or an admin dropped it
    inbound = rows[0]
    try:
        await _process(inbound)
    except Exception as error:  # noqa: BLE001 - kept for an admin, whatever it was
        log.exception("mail intake: message %s failed", inbound["id"])
        await _finish(inbound["id"], "failed", error=f"{type(error).__name__}: {error}"[:2000])


async def _process(inbound: dict[str, Any]) -> None:
    ours = await mailboxes.our_addresses()
    raw = bytes(inbound["raw_message"])
    envelope_from = None if inbound["envelope_from"] == "" else inbound["envelope_from"].strip("<>")
    limits = parse.Limits(max_bytes=get_settings().mail_max_bytes)
    try:
        mail = await asyncio.to_thread(parse.parse, raw, envelope_from=envelope_from, limits=limits, our_loop_ids=ours)
    except MailRejected as rejected:
        await _finish(inbound["id"], "failed", error=rejected.reason)
        return
    found = _Found.of(mail, raw)
    if await fetch("SELECT id FROM inbound_mail WHERE dedupe_key = {} AND id <> {}", found.key, inbound["id"]):
        await _finish(inbound["id"], "ignored", outcome="a copy of a mail already received")
        return
    facts, mailbox = await _facts(inbound, mail, ours)
    decided = route(facts)
    await _carry_out(decided, inbound, mail, mailbox, found)


@dataclass(frozen=True)
class _Found:
    """What the parse found that the inbound row keeps, written with its outcome. The dedupe key
    (Message-ID + content hash) is unique: a copy that slipped past the check above, processed at
    the same moment elsewhere, fails its commit instead of making a second ticket."""

    key: str
    message_id: str
    from_address: str
    subject: str

    @classmethod
    def of(cls, mail: ParsedMail, raw: bytes) -> _Found:
        key = hashlib.sha256(f"{mail.message_id}\n{parse.content_hash(raw)}".encode()).hexdigest()
        return cls(key, mail.message_id[:255], mail.from_address[:254], rules.one_line(mail.subject)[:300])


@dataclass(frozen=True)
class _Mailbox:
    id: int | None
    team: int | None
    acknowledge: bool
    ack_text: str


async def _mailbox(inbound: dict[str, Any], mail: ParsedMail) -> _Mailbox:
    """The mailbox a mail came to: by its envelope and addresses (a reply key's base address
    counts), else the one IMAP fetched it from, else the first active one."""
    wanted = [*_json_list(inbound["envelope_to"]), *mail.delivered_to, *mail.to, *mail.cc]
    candidates = list(dict.fromkeys(threads.base_address(a) for a in wanted if "@" in a))[:50]
    rows = await fetch(
        "SELECT id, address, team, acknowledge, ack_text FROM mailbox WHERE is_active = {} ORDER BY id", True
    )
    by_address = {row["address"].lower(): row for row in rows}
    row = next((by_address[a] for a in candidates if a in by_address), None)
    row = row or next((r for r in rows if r["id"] == inbound["mailbox"]), None) or (rows[0] if rows else None)
    if row is None:
        return _Mailbox(None, None, True, "")
    return _Mailbox(row["id"], row["team"], bool(row["acknowledge"]), row["ack_text"])


def _json_list(value: Any) -> list[str]:
    items = json.loads(value) if isinstance(value, str) else value
    return [str(item).lower() for item in items or []]


async def _facts(inbound: dict[str, Any], mail: ParsedMail, ours: frozenset[str]) -> tuple[Facts, _Mailbox]:
    mailbox = await _mailbox(inbound, mail)
    sender = mail.from_address
    ticket, proven = await _named_ticket(mail, sender)
    named = ticket["number"] if ticket else None
    staff = await staff_by_email(sender) if sender else None
    facts = Facts(
        automatic=mail.automatic,
        bounce=mail.bounce is not None,
        from_ours=bool(sender) and mailboxes.is_ours(sender, ours),
        held="" if inbound["status"] == "released" else await budget.over_budget(inbound["id"], sender, named),
        named=named,
        proven=proven,
        participant=ticket is not None and await _participant(ticket, sender, staff),
        staff=staff is not None,
        open_for_replies=ticket is None or _takes_replies(ticket),
        may_acknowledge=mailbox.acknowledge and bool(sender) and await budget.may_acknowledge(sender),
    )
    return facts, mailbox


async def _named_ticket(mail: ParsedMail, sender: str) -> tuple[dict[str, Any] | None, bool]:
    """The ticket the mail names by a key of ours: the first whose key verifies for the sender,
    else the first that exists (unproven)."""
    claims = threads.claims([*mail.to, *mail.cc, *mail.delivered_to], [*mail.in_reply_to, *mail.references])
    keys = mailboxes.mail_keys()
    found: list[tuple[threads.Claim, dict[str, Any]]] = []
    for claim in claims[:10]:
        ticket = await _ticket(claim.number)
        if ticket is None:
            continue
        if sender and threads.verifies(claim, sender, keys):
            merged_into = ticket["merged_into"] and await _ticket(ticket["merged_into"])
            return merged_into or ticket, True  # a reply to a merged ticket goes where it was merged
        found.append((claim, ticket))
    return (found[0][1], False) if found else (None, False)


async def _ticket(number: int) -> dict[str, Any] | None:
    return await reads.brief(SYSTEM, number)


async def _participant(ticket: dict[str, Any], sender: str, staff: Actor | None) -> bool:
    """Staff who may see the ticket, or its requester or a CC."""
    if staff is not None:
        return (await for_actor(staff)).sees(ticket)
    return await reads.takes_part(SYSTEM, ticket, sender)


def _takes_replies(ticket: dict[str, Any]) -> bool:
    return rules.status_after_customer_reply(ticket["status"], ticket["solved_at"], utcnow()) is not None


# --- carrying out ----------------------------------------------------------------------------------------


async def _carry_out(
    decided: Route, inbound: dict[str, Any], mail: ParsedMail, mailbox: _Mailbox, found: _Found
) -> None:
    if decided.action == Action.ignore:
        await _finish(inbound["id"], "ignored", outcome=decided.reason, found=found)
    elif decided.action == Action.hold:
        async with write_transaction():
            await _finish(inbound["id"], "held", outcome=decided.reason, found=found)
            await budget.tell_admins(inbound["id"], mail.from_address, decided.reason)
    elif decided.action == Action.bounce:
        assert mail.bounce is not None
        outcome = await bounces.record(mail.bounce)
        await _finish(inbound["id"], "ignored", outcome=outcome, found=found)
    else:
        await _write(decided, inbound, mail, mailbox, found)


def _body(mail: ParsedMail) -> str:
    text = (mail.reply_text or mail.text).strip() or NO_TEXT
    limit = rules.BODY_MAX - len(SHORTENED)
    return text if len(text) <= rules.BODY_MAX else text[:limit] + SHORTENED


def _mailed(inbound: dict[str, Any], mail: ParsedMail) -> write.Mailed:
    html = sanitize_mail_html(mail.reply_html) if mail.reply_html else ""
    copied = tuple((a, "") for a in [*mail.to, *mail.cc] if a != mail.from_address)
    return write.Mailed(
        sender_email=mail.from_address,
        sender_name=rules.one_line(mail.from_name)[:120],
        origin=MailOrigin(html=html, message_id=mail.message_id[:255], inbound_id=inbound["id"]),
        cc=copied,
    )


def _uploads(mail: ParsedMail) -> list[Upload]:
    """The mail's files that we keep (within the attachment size limit; the rest stay in the original)."""
    largest = get_settings().upload_max_bytes
    kept = [a for a in mail.attachments if a.data and len(a.data) <= largest]
    return [Upload(a.filename, a.data, a.content_id) for a in kept[: write.MAIL_FILES_MAX]]


async def _write(decided: Route, inbound: dict[str, Any], mail: ParsedMail, mailbox: _Mailbox, found: _Found) -> None:
    body, uploads, mailed = _body(mail), _uploads(mail), _mailed(inbound, mail)
    async with write.one_transaction():
        if decided.action == Action.new_ticket:
            note = (UNPROVEN_NOTE if decided.reason == "new mail" else FOLLOW_UP_NOTE).format(number=decided.related)
            ticket = await write.file_mailed(
                write.MailedTicket(
                    mail=mailed,
                    subject=rules.one_line(mail.subject)[: rules.SUBJECT_MAX] or "(no subject)",
                    body=body,
                    uploads=uploads,
                    mailbox=mailbox.id,
                    team=mailbox.team,
                    acknowledge=decided.acknowledge,
                    ack_text=mailbox.ack_text,
                    related=decided.related,
                    related_note=note,
                )
            )
            outcome = f"new ticket #{ticket['number']}" + (
                f" ({decided.reason})" if decided.reason != "new mail" else ""
            )
        else:
            assert decided.ticket is not None
            ticket = await _add_to(decided, body, uploads, mailed)
            outcome = f"{decided.reason} on #{ticket['number']}"
        await _finish(inbound["id"], "done", outcome=outcome, ticket=ticket["number"], found=found)


async def _add_to(decided: Route, body: str, uploads: list[Upload], mailed: write.Mailed) -> dict[str, Any]:
    number = decided.ticket
    assert number is not None
    if decided.action == Action.note:
        text = f"{decided.reason.capitalize()} from {mailed.sender_email}:\n\n{body}"
        return await write.reply(SYSTEM, number, text, [], internal=True, via=rules.Channel.email, mail=mailed)
    access: TicketAccess
    if decided.action == Action.staff_reply:
        staff = await staff_by_email(mailed.sender_email)
        assert staff is not None
        access = await for_actor(staff)
    else:
        ticket = await _ticket(number)
        assert ticket is not None
        access = for_guest(ticket["id"])
    return await write.reply(access, number, body, uploads, via=rules.Channel.email, mail=mailed)


async def _finish(
    inbound_id: int,
    status: str,
    *,
    outcome: str = "",
    error: str = "",
    ticket: int | None = None,
    found: _Found | None = None,
) -> None:
    """The mail's outcome, with what the parse found (in the caller's transaction when there is one)."""
    found_sql = ""
    found_args: tuple[str, ...] = ()
    if found is not None:
        found_sql = ", dedupe_key = {}, message_id = {}, from_address = {}, subject = {}"
        found_args = (found.key, found.message_id, found.from_address, found.subject)
    async with write_transaction():
        await fetch(
            "UPDATE inbound_mail SET status = {}, outcome = {}, error = {}, ticket = COALESCE({}, ticket), "
            f"processed_at = {{}}, attempts = attempts + 1{found_sql} WHERE id = {{}}",
            status,
            outcome[:300],
            error,
            ticket,
            utcnow(),
            *found_args,
            inbound_id,
        )
