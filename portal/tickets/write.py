"""The one write path of tickets: every change, whoever makes it and through whichever channel.

Filing, customer replies, staff replies and notes, field changes, tags, merges, bulk changes,
customer solve/reopen/rating and the jobs' status changes all come through here. Each change runs
in one transaction that writes the change, its history event (``ticket_event``), the SLA clock, the
search document and the mails (queued jobs), after checking the actor's ``TicketAccess`` on the
freshly locked row. Live events go out only after the commit (``_Changes``). The channel
(web, email, api, phone, system) is an argument, recorded on the ticket, message and event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from portal import files
from portal.accounts.contact import GuestContact, GuestOwnership
from portal.accounts.rules import Actor, email_problem, normalize_email
from portal.accounts.services import verified_account
from portal.clock import utcnow
from portal.db import fetch, insert_row, is_sqlite, write_transaction
from portal.errors import Invalid, NotFound, Throttled
from portal.ids import MAX_NUMBER, parse_int
from portal.jobs import queue
from portal.mail.mailboxes import is_ours, our_addresses
from portal.mail.services import MailAttachment
from portal.settings import get_settings
from portal.throttle import Throttle, minutes_text
from portal.tickets import guest_links, live, mailing, rules, search, sla, teams
from portal.tickets.access import NOT_FOUND, SYSTEM, TicketAccess, for_guest
from portal.tickets.history import record_event
from portal.tickets.messages import Author, MailOrigin, Upload, add_message, store_uploads, system_note, upload_root
from portal.tickets.reads import tags
from portal.tickets.rows import Row, aware_row
from portal.tickets.tables import Category, Tag, Ticket, TicketParticipant, TicketTag

Channel = rules.Channel
EDITABLE = ("status", "priority", "category", "team", "assignee")
CLOSED_FOR_REPLIES = "This ticket is closed. Please open a new ticket and mention #{number}."


# --- the transaction and its live events ---------------------------------------------------------------


@dataclass
class _Changes:
    """One transaction's changes: who makes them through which channel, and the live events to
    publish once it has committed."""

    access: TicketAccess
    via: Channel
    events: list[tuple[Row, str]] = field(default_factory=list)

    def announce(self, ticket: Row, what: str) -> None:
        self.events.append((ticket, what))

    async def record(
        self, ticket: Row, field: str, old: str, new: str, reason: str = "", at: datetime | None = None
    ) -> None:
        """The history event of one change, with its actor and channel."""
        await record_event(ticket["id"], self.access.actor, field, old, new, reason, at=at, via=self.via)


# Inside ``one_transaction``: the live events wait here for its commit.
_held_events: ContextVar[list[tuple[Row, Actor | None, str]] | None] = ContextVar("held_events", default=None)


@asynccontextmanager
async def _changing(access: TicketAccess, via: Channel) -> AsyncIterator[_Changes]:
    changes = _Changes(access, via)
    async with write_transaction():
        yield changes
    held = _held_events.get()
    if held is not None:  # an outer transaction has not committed yet
        held.extend((ticket, access.actor, what) for ticket, what in changes.events)
        return
    for ticket, what in changes.events:  # committed: now the consoles may re-read
        live.announce(ticket, access.actor, what)


@asynccontextmanager
async def one_transaction() -> AsyncIterator[None]:
    """Kernel writes and the caller's own bookkeeping committed together (the mail intake marks its
    received mail done in the commit that adds the message: a crash leaves both or neither). Live
    events go out once it has committed, and none if it rolled back."""
    held: list[tuple[Row, Actor | None, str]] = []
    reset = _held_events.set(held)
    try:
        async with write_transaction():
            yield
    finally:
        _held_events.reset(reset)
    for ticket, actor, what in held:
        live.announce(ticket, actor, what)


async def _locked(access: TicketAccess, number: int | None) -> Row:
    """The ticket, re-read inside the write transaction (PostgreSQL: row lock) and checked against
    ``access``: NotFound when it may not see it."""
    if number is None and not access.is_guest:
        raise NotFound(NOT_FOUND)
    lock = "" if is_sqlite() else " FOR UPDATE"
    if number is None:
        rows = await fetch(f"SELECT * FROM ticket WHERE id = {{}}{lock}", access.ticket_id)
    elif 0 < number <= MAX_NUMBER:
        rows = await fetch(f"SELECT * FROM ticket WHERE number = {{}}{lock}", number)
    else:
        rows = []
    if not rows or not access.sees(rows[0]):
        raise NotFound(NOT_FOUND)
    return aware_row(rows[0])


# --- filing ------------------------------------------------------------------------------------------------


@dataclass
class NewTicket(GuestContact):
    """A ticket as filed; ``name`` and ``email`` are asked of guests only."""

    subject: str = ""
    category: str = ""
    body: str = ""
    website: str = ""  # honeypot: people never see it, bots fill it
    uploads: list[Upload] = field(default_factory=list)


def _check_new(form: NewTicket, actor: Actor | None, category_ids: set[int]) -> dict[str, str]:
    errors = {}
    if problem := rules.text_problem(rules.one_line(form.subject), "a subject", rules.SUBJECT_MAX):
        errors["subject"] = problem
    if problem := rules.text_problem(form.body, "a description", rules.BODY_MAX):
        errors["body"] = problem
    if category_ids and (not form.category.isdecimal() or int(form.category) not in category_ids):
        errors["category"] = "Choose what your request is about."
    errors.update(form.problems(actor))
    return errors


async def _throttle_guest(throttle: Throttle, ip: str, email: str) -> None:
    keys = (
        (f"ticket:ip:{ip}", rules.GUEST_TICKETS_PER_IP_PER_HOUR),
        (f"ticket:email:{email}", rules.GUEST_TICKETS_PER_EMAIL_PER_HOUR),
    )
    for key, limit in keys:
        if wait := await throttle.retry_after(key, limit):
            raise Throttled(f"You have sent many requests in a short time. Try again in {minutes_text(wait)}.", wait)
    for key, _ in keys:
        await throttle.hit(key, 3600)


async def open_ticket(
    actor: Actor | None, form: NewTicket, *, ip: str, throttle: Throttle, via: Channel = Channel.web
) -> Row:
    """File a ticket. A guest's private link goes only to the mailbox: whoever typed the address has
    not proven it, so the ticket joins no account until that link is used (``use_guest_link``)."""
    if form.website:
        raise Invalid("Your request could not be sent. Please try again.")
    cats = {c["id"]: c for c in await Category.select(Category.id, Category.team).where(Category.is_active == True)}
    errors = _check_new(form, actor, set(cats))
    if errors:
        raise Invalid(errors=errors)
    email, name = form.email_and_name(actor)
    if actor is None:
        await _throttle_guest(throttle, ip, email)
    stored = await store_uploads(form.uploads)
    category = cats.get(int(form.category)) if form.category.isdecimal() else None
    async with _changing(SYSTEM, via) as changes:
        ticket = await _file(
            _Filing(form.subject, form.body, category, actor.id if actor else None, email, name, via),
            author_id=actor.id if actor else None,
            stored=stored,
        )
        await _mail_received(ticket, form.body)
        changes.announce(ticket, "new")
    return dict(ticket)


@dataclass
class _Filing:
    """What a new ticket starts from, whoever files it."""

    subject: str
    body: str
    category: Row | None
    requester: int | None
    email: str
    name: str
    via: Channel
    mailbox: int | None = None  # the mailbox it came in on (mail): its team and its From
    team: int | None = None  # when no category routes it (a mailbox's team)
    origin: MailOrigin | None = None
    uploads: list[Upload] = field(default_factory=list)


async def _file(filing: _Filing, *, author_id: int | None, stored: list[Any]) -> Row:
    """Insert a ticket and its first message (the customer's words), index it, route it and start
    its SLA clock, inside the caller's transaction."""
    now = utcnow()
    category = filing.category
    ticket_id = await insert_row(
        "ticket",
        {
            "number": -1,  # unique: the id is only known once inserted
            "subject": rules.one_line(filing.subject),
            "status": rules.Status.new.value,
            "priority": rules.Priority.normal.value,
            "priority_rank": rules.PRIORITY_RANK[rules.Priority.normal],
            "category": category["id"] if category else None,
            "team": category["team"] if category else filing.team,
            "mailbox": filing.mailbox,
            "requester": filing.requester,
            "requester_email": filing.email,
            "requester_name": filing.name,
            "via": filing.via.value,
            "created_at": now,
            "updated_at": now,
            "customer_seen_at": now,
            "customer_replied_at": now,
        },
    )
    ticket = aware_row((await fetch("UPDATE ticket SET number = id WHERE id = {} RETURNING *", ticket_id))[0])
    await add_message(
        ticket,
        Author(author_id, filing.name, staff=False),
        filing.body,
        kind="public",
        via=filing.via,
        stored=stored,
        origin=filing.origin,
        content_ids=[upload.content_id for upload in filing.uploads],
    )
    await search.index_ticket(ticket_id)
    await teams.assign_by_rotation(ticket)
    await sla.refresh(ticket_id)
    return aware_row((await fetch("SELECT * FROM ticket WHERE id = {}", ticket_id))[0])


async def _mail_received(ticket: Row, body: str) -> None:
    """The "we received your request" mail, with the link to the ticket."""
    link = await guest_links.link_for_mail(ticket)
    context = {"name": ticket["requester_name"], "ticket": ticket, "link": link, "body": body}
    await mailing.mail_about(ticket, ticket["requester_email"], "ticket_received", context)


# --- filing by mail ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailedTicket:
    """A new ticket from a mail, as the intake hands it over: parsed, checked, and with its
    decisions made (whether to acknowledge it, and a ticket it named without proving it)."""

    mail: Mailed
    subject: str
    body: str
    uploads: list[Upload]
    mailbox: int | None
    team: int | None
    acknowledge: bool
    ack_text: str = ""
    related: int | None = None  # a ticket the mail named: linked, with ``related_note`` for agents
    related_note: str = ""


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """``{name}``-style placeholders of an admin's text (never a template language: no code runs)."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


async def file_mailed(new: MailedTicket) -> Row:
    """File a ticket from a mail. Like a guest's, it joins no account until the address is proven
    (the link in the acknowledgement): a From header proves nothing."""
    stored = await store_uploads(new.uploads, limit=MAIL_FILES_MAX)
    mail = new.mail
    async with _changing(SYSTEM, Channel.email) as changes:
        filing = _Filing(
            new.subject,
            new.body,
            None,
            None,
            mail.sender_email,
            mail.sender_name or mail.sender_email,
            Channel.email,
            mailbox=new.mailbox,
            team=new.team,
            origin=mail.origin,
            uploads=new.uploads,
        )
        ticket = await _file(filing, author_id=None, stored=stored)
        await _copy_in(changes, ticket, mail.cc)
        if new.related:
            await _note_related(changes, ticket, new.related, new.related_note)
        if new.acknowledge:
            link = await guest_links.link_for_mail(ticket)
            values = {"name": ticket["requester_name"], "number": str(ticket["number"]), "subject": ticket["subject"]}
            custom = fill_placeholders(new.ack_text, {**values, "link": link})
            context = {
                "name": ticket["requester_name"],
                "ticket": ticket,
                "link": link,
                "body": new.body,
                "custom": custom,
            }
            await mailing.mail_about(
                ticket, ticket["requester_email"], "ticket_received", context, automatic=mailing.AUTO_REPLIED
            )
        changes.announce(ticket, "new")
    return ticket


async def _note_related(changes: _Changes, ticket: Row, number: int, note: str) -> None:
    """An internal note on a new ticket that named another one (agents only see it)."""
    author = Author(None, "Mail intake", staff=True)
    await add_message(ticket, author, note, kind="internal", via=Channel.system)
    await changes.record(ticket, "related", "", f"#{number}")


# --- filing for someone (the console) -----------------------------------------------------------------


@dataclass
class OnBehalf:
    """A ticket an agent files for someone who phoned or wrote: an existing customer (found by
    their address) or a new contact (name and address)."""

    email: str = ""
    name: str = ""
    subject: str = ""
    body: str = ""
    category: str = ""
    send_link: bool = False


async def open_ticket_for(access: TicketAccess, form: OnBehalf, *, via: Channel) -> Row:
    """File a ticket on someone's behalf from the console. An existing verified customer with that
    address becomes the requester (their name is theirs, not what was typed); anyone else is a
    contact by address, like a guest. The customer hears of it only when the agent chooses
    ``send_link`` (the usual "received" mail with the link): a phone call may be settled already."""
    me = access.actor
    if not access.staff or me is None:
        raise NotFound(NOT_FOUND)
    if via not in rules.AGENT_CHANNELS:
        raise Invalid(errors={"via": "Choose how they got in touch."})
    email = normalize_email(form.email)
    account = await verified_account(email) if not email_problem(email) else None
    cats = {c["id"]: c for c in await Category.select(Category.id, Category.team).where(Category.is_active == True)}
    errors = _check_new(replace(_as_new(form), category=form.category or "0"), None, set(cats) | {0})
    if account:
        errors.pop("name", None)
    if errors:
        raise Invalid(errors=errors)
    name = account["name"] if account else form.name.strip()
    category = cats.get(int(form.category)) if form.category.isdecimal() else None
    async with _changing(access, via) as changes:
        filing = _Filing(form.subject, form.body, category, account["id"] if account else None, email, name, via)
        ticket = await _file(filing, author_id=account["id"] if account else None, stored=[])
        await changes.record(ticket, "created", "", f"for {name} via {via.value}")
        await _agent_saw(me.id, ticket["id"], utcnow())
        if form.send_link:
            await _mail_received(ticket, form.body)
        changes.announce(ticket, "new")
    return ticket


def _as_new(form: OnBehalf) -> NewTicket:
    return NewTicket(subject=form.subject, category=form.category, body=form.body, name=form.name, email=form.email)


# --- guest links -------------------------------------------------------------------------------------------


async def use_guest_link(raw: str) -> TicketAccess:
    """The access a guest link gives. Links are only ever delivered by mail, so their first use
    proves the ticket's address: the ticket then joins the verified account with that address, if
    there is one (an unverified one claims it when it is verified, ``claim_guest_tickets``)."""
    ticket_id = await guest_links.resolve(raw)
    rows = await fetch("SELECT requester_email_proven_at FROM ticket WHERE id = {}", ticket_id)
    if not rows:
        raise NotFound(NOT_FOUND)
    if rows[0]["requester_email_proven_at"] is None:
        await GUEST.prove(ticket_id, utcnow())
    return for_guest(ticket_id, raw)


GUEST = GuestOwnership(Ticket.requester, Ticket.requester_email, Ticket.requester_email_proven_at)


async def claim_guest_tickets(user_id: int, email: str) -> int:
    """Guest tickets filed with a newly proven address join the account."""
    return await GUEST.claim(user_id, email)


# --- replies and notes -------------------------------------------------------------------------------------


async def reply(
    access: TicketAccess,
    number: int | None,
    body: str,
    uploads: list[Upload],
    *,
    internal: bool = False,
    status: str | None = None,
    via: Channel = Channel.web,
    mail: Mailed | None = None,
) -> Row:
    """Add a message to a ticket: a customer's reply (the requester, a guest link, or a mail the
    intake proved), or staff's public reply (mailed to the requester and the CCs) or internal note,
    optionally setting the status at once ("Reply and set pending", as agents do all day)."""
    if access.staff:
        return await _staff_reply(access, number, body, uploads, internal=internal, status=status, via=via, mail=mail)
    if internal or status:
        raise Invalid("Only staff write internal notes or set a status.")
    return await _customer_reply(access, number, body, uploads, via=via, mail=mail)


@dataclass(frozen=True)
class Mailed:
    """What the mail intake adds to a message: who sent it (a CC'd address replies under its own
    name), the mail itself (``MailOrigin``), and the addresses it copied (they become CCs)."""

    sender_email: str
    sender_name: str
    origin: MailOrigin
    cc: tuple[tuple[str, str], ...] = ()


def _origin(mail: Mailed | None) -> MailOrigin | None:
    return mail.origin if mail else None


async def _customer_reply(
    access: TicketAccess, number: int | None, body: str, uploads: list[Upload], *, via: Channel, mail: Mailed | None
) -> Row:
    if problem := rules.text_problem(body, "your reply", rules.BODY_MAX):
        raise Invalid(errors={"body": problem})
    stored = await store_uploads(uploads, limit=MAIL_FILES_MAX if mail else None)
    now = utcnow()
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        status = rules.status_after_customer_reply(ticket["status"], ticket["solved_at"], now)
        if status is None:
            raise Invalid(CLOSED_FOR_REPLIES.format(number=ticket["number"]))
        name = access.actor.name if access.actor else (mail.sender_name if mail else "") or ticket["requester_name"]
        author = Author.of(access.actor, name, staff=False)
        content_ids = [u.content_id for u in uploads]
        await add_message(
            ticket, author, body, kind="public", via=via, stored=stored, origin=_origin(mail), content_ids=content_ids
        )
        updates: dict[str, Any] = {"updated_at": now, "customer_seen_at": now, "customer_replied_at": now}
        if status != ticket["status"]:
            updates.update(_status_updates(ticket, status, now))
        await _update(ticket, updates)
        if status != ticket["status"]:
            await _status_event(changes, ticket, status, "the customer replied", now)
            await sla.refresh(ticket["id"], now)
        if mail:
            await _copy_in(changes, ticket, mail.cc)
        await _tell_assignee(ticket, name, body)
        await search.index_ticket(ticket["id"])
        changes.announce(ticket, "reply")
    return ticket


async def _staff_reply(
    access: TicketAccess,
    number: int | None,
    body: str,
    uploads: list[Upload],
    *,
    internal: bool,
    status: str | None,
    via: Channel,
    mail: Mailed | None = None,
) -> Row:
    if problem := rules.text_problem(body, "a note" if internal else "a reply", rules.BODY_MAX):
        raise Invalid(errors={"body": problem})
    if status is not None and status not in rules.STATUSES:
        raise Invalid(errors={"status": "Choose a status from the list."})
    stored = await store_uploads(uploads, limit=MAIL_FILES_MAX if mail else None)
    now = utcnow()
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        author = Author.of(access.actor, _actor_name(access), staff=True)
        kind = "internal" if internal else "public"
        content_ids = [u.content_id for u in uploads]
        await add_message(
            ticket, author, body, kind=kind, via=via, stored=stored, origin=_origin(mail), content_ids=content_ids
        )
        updates: dict[str, Any] = {"updated_at": now}
        if not internal:
            updates["staff_replied_at"] = now
            if ticket["first_response_at"] is None:
                updates["first_response_at"] = now
        await _update(ticket, updates)
        new_status = status or (rules.Status.open if not internal and ticket["status"] == rules.Status.new else None)
        if new_status and new_status != ticket["status"]:
            await _apply(changes, ticket, Change(status=new_status))
        elif not internal and ticket["first_response_at"] is None:
            await sla.refresh(ticket["id"], now)
        if not internal:
            await _mail_public_reply(ticket, _actor_name(access), body, stored)
        await search.index_ticket(ticket["id"])
        changes.announce(ticket, "note" if internal else "reply")
    return ticket


MAIL_FILES_MAX = 20  # a mail's attachments and inline images (signatures bring several)
MAIL_ATTACHMENTS_MAX_BYTES = 10 * 1024 * 1024  # what fits a mail; the rest stays on the ticket page


async def _mail_attachments(stored: list[Any]) -> list[MailAttachment]:
    """The files of a staff reply that fit in its mail (the ticket page has them all)."""
    chosen, total = [], 0
    for item in stored:
        if total + item.size > MAIL_ATTACHMENTS_MAX_BYTES:
            continue
        total += item.size
        data = await asyncio.to_thread(files.path_for(upload_root(), item.storage_key).read_bytes)
        chosen.append(MailAttachment(item.filename, item.content_type, data))
    return chosen


async def _mail_public_reply(ticket: Row, agent: str, body: str, stored: list[Any]) -> None:
    """The reply itself (not only a link) to the requester and to every CC, each in their thread."""
    attachments = await _mail_attachments(stored)
    context = {"ticket": ticket, "agent": agent, "body": body, "files": [item.filename for item in stored]}
    requester = {**context, "name": ticket["requester_name"], "link": await guest_links.link_for_mail(ticket)}
    await mailing.mail_about(
        ticket, ticket["requester_email"], "ticket_reply", requester, automatic=mailing.PERSON, attachments=attachments
    )
    for cc in await _participants(ticket["id"]):
        copied = {**context, "name": cc["name"] or cc["email"], "link": ""}
        await mailing.mail_about(
            ticket, cc["email"], "ticket_reply", copied, automatic=mailing.PERSON, attachments=attachments
        )


async def _tell_assignee(ticket: Row, customer: str, body: str) -> None:
    """The assignee hears of a customer's reply by mail, and may answer it by mail (signed for them)."""
    if ticket["assignee"] is None:
        return
    rows = await fetch("SELECT email, name FROM portal_user WHERE id = {} AND is_active = {}", ticket["assignee"], True)
    if rows:
        link = f"{get_settings().base_url}/back/tickets/{ticket['number']}"
        context = {"name": rows[0]["name"], "ticket": ticket, "customer": customer, "body": body, "link": link}
        await mailing.mail_about(ticket, rows[0]["email"], "ticket_customer_replied", context)


async def note_bounce(access: TicketAccess, number: int, address: str, reason: str) -> None:
    """Our mail to ``address`` about ticket ``number`` bounced: agents see it in the thread."""
    async with _changing(access, Channel.system) as changes:
        ticket = await _locked(access, number)
        await system_note(ticket, f"Our mail to {address} could not be delivered: {reason}")
        changes.announce(ticket, "note")


# --- CCs ------------------------------------------------------------------------------------------------------

CC_MAX = 20


async def _participants(ticket_id: int) -> list[Row]:
    """The addresses copied on a ticket, in the order they joined."""
    return await fetch("SELECT email, name FROM ticket_participant WHERE ticket = {} ORDER BY id", ticket_id)


async def _copy_in(changes: _Changes, ticket: Row, addresses: tuple[tuple[str, str], ...]) -> list[str]:
    """Add CCs (not the requester, not our own addresses, not twice, at most CC_MAX in all)."""
    ours = await our_addresses()
    have = {row["email"] for row in await _participants(ticket["id"])} | {ticket["requester_email"]}
    added = []
    for email, name in addresses:
        email = normalize_email(email)
        if email in have or is_ours(email, ours) or email_problem(email) or len(have) > CC_MAX:
            continue
        await TicketParticipant.insert(
            TicketParticipant(ticket=ticket["id"], email=email, name=name[:120], created_at=utcnow())
        ).run()
        have.add(email)
        added.append(email)
    if added:
        await changes.record(ticket, "cc", "", ", ".join(added)[:200])
    return added


async def add_cc(access: TicketAccess, number: int, email: str, *, via: Channel = Channel.web) -> None:
    """Staff copy an address on the ticket (it gets the public replies from now on)."""
    if not access.staff:
        raise NotFound(NOT_FOUND)
    email = normalize_email(email)
    if problem := email_problem(email):
        raise Invalid(errors={"cc": problem})
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        if email == ticket["requester_email"]:
            raise Invalid(errors={"cc": "That is the requester's address: they get every reply already."})
        if not await _copy_in(changes, ticket, ((email, ""),)):
            raise Invalid(errors={"cc": "That address is copied already, is one of ours, or the ticket has 20 CCs."})
        changes.announce(ticket, "changed")


async def remove_cc(access: TicketAccess, number: int, email: str, *, via: Channel = Channel.web) -> None:
    if not access.staff:
        raise NotFound(NOT_FOUND)
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        email = normalize_email(email)
        gone = await fetch(
            "DELETE FROM ticket_participant WHERE ticket = {} AND email = {} RETURNING id", ticket["id"], email
        )
        if gone:
            await changes.record(ticket, "cc", email, "")
            changes.announce(ticket, "changed")


def _actor_name(access: TicketAccess) -> str:
    return access.actor.name if access.actor else "Automation"


# --- what a customer does besides replying --------------------------------------------------------------


async def solve_by_customer(access: TicketAccess, number: int | None, *, via: Channel = Channel.web) -> None:
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        if not rules.can_customer_solve(ticket["status"]):
            raise Invalid("This ticket is already solved or closed.")
        now = utcnow()
        await _update(ticket, {"updated_at": now, **_status_updates(ticket, rules.Status.solved, now)})
        await system_note(ticket, "The customer marked this ticket as solved.")
        await _status_event(changes, ticket, rules.Status.solved, "the customer marked it solved", now)
        await sla.refresh(ticket["id"], now)
        changes.announce(ticket, "changed")


async def reopen(access: TicketAccess, number: int | None, *, via: Channel = Channel.web) -> None:
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        now = utcnow()
        if not rules.can_reopen(ticket["status"], ticket["solved_at"], now):
            raise Invalid(
                f"This ticket can no longer be reopened. Please open a new ticket and mention #{ticket['number']}."
            )
        await _update(ticket, {"updated_at": now, **_status_updates(ticket, rules.Status.open, now)})
        await system_note(ticket, "The customer reopened this ticket.")
        await _status_event(changes, ticket, rules.Status.open, "the customer reopened it", now)
        await sla.refresh(ticket["id"], now)
        changes.announce(ticket, "changed")


async def rate(
    access: TicketAccess, number: int | None, rating: str, comment: str, *, via: Channel = Channel.web
) -> None:
    if rating not in rules.RATINGS:
        raise Invalid(errors={"rating": "Choose good or bad."})
    if len(comment) > rules.COMMENT_MAX:
        raise Invalid(errors={"comment": f"A comment can have at most {rules.COMMENT_MAX:,} characters."})
    async with _changing(access, via):
        ticket = await _locked(access, number)
        if not rules.can_rate(ticket["status"]):
            raise Invalid("You can rate a ticket once it is solved, until it closes.")
        await _update(ticket, {"csat_rating": rating, "csat_comment": comment.strip(), "csat_at": utcnow()})


async def mark_seen(access: TicketAccess, ticket: Row) -> None:
    """Whoever opened the ticket's page has read it: the requester, the staff's latest reply (their
    list shows it unread until then); an agent, the customer's latest message (the queues mark
    tickets unread for them until then)."""
    if not access.sees(ticket):
        return
    if access.staff:
        # Written only when the page shows something new to this agent: no write per page view.
        seen = ticket.get("agent_seen_at")
        if access.actor is not None and (seen is None or rules.is_unread(ticket["customer_replied_at"], seen)):
            await _agent_saw(access.actor.id, ticket["id"], utcnow())
        return
    if rules.is_unread(ticket["staff_replied_at"], ticket["customer_seen_at"]):
        async with write_transaction():
            await Ticket.update({Ticket.customer_seen_at: utcnow()}).where(Ticket.id == ticket["id"]).run()


async def _agent_saw(user_id: int, ticket_id: int, now: datetime) -> None:
    """One statement (an upsert on the unique (ticket, user) index), in its own short transaction."""
    async with write_transaction():
        await fetch(
            'INSERT INTO ticket_seen (ticket, "user", seen_at) VALUES ({}, {}, {}) '
            'ON CONFLICT (ticket, "user") DO UPDATE SET seen_at = excluded.seen_at',
            ticket_id,
            user_id,
            now,
        )


# --- field changes ------------------------------------------------------------------------------------------


@dataclass
class Change:
    status: str | None = None
    priority: str | None = None
    category: int | None = None  # -1 = none
    team: int | None = None  # -1 = none
    assignee: int | None = None  # -1 = nobody

    def given(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in EDITABLE if getattr(self, k) is not None}


async def _validate(change: Change) -> dict[str, str]:
    errors = {}
    if change.status is not None and change.status not in rules.STATUSES:
        errors["status"] = "Choose a status from the list."
    if change.priority is not None and change.priority not in rules.PRIORITIES:
        errors["priority"] = "Choose a priority from the list."
    if change.category not in (None, -1) and not await fetch("SELECT id FROM category WHERE id = {}", change.category):
        errors["category"] = "That category does not exist."
    if change.team not in (None, -1) and not await fetch("SELECT id FROM team WHERE id = {}", change.team):
        errors["team"] = "That team does not exist."
    if change.assignee not in (None, -1) and not await fetch(
        "SELECT id FROM portal_user WHERE id = {} AND role IN ('agent', 'admin') AND is_active = {}",
        change.assignee,
        True,
    ):
        errors["assignee"] = "Choose an active agent."
    return errors


async def _names(ids: dict[str, int | None]) -> dict[str, str]:
    """Display names for team/assignee/category ids in history rows."""
    out = {}
    for key, value in ids.items():
        if value is None:
            out[key] = ""
            continue
        table = {"team": "team", "assignee": "portal_user", "category": "category"}[key]
        rows = await fetch(f"SELECT name FROM {table} WHERE id = {{}}", value)
        out[key] = rows[0]["name"] if rows else f"#{value}"
    return out


def _label(key: str, value: Any) -> str:
    if key == "status":
        return str(rules.STATUS_LABELS.get(value, value))
    return str(value or "—").title() if key == "priority" else str(value or "—")


async def _update(ticket: Row, updates: dict[str, Any]) -> None:
    await Ticket.update({getattr(Ticket, k): v for k, v in updates.items()}).where(Ticket.id == ticket["id"]).run()


def _status_updates(ticket: Row, status: str, now: datetime) -> dict[str, Any]:
    return {"status": status, **rules.status_changes(ticket["status"], status, now)}


async def _status_event(changes: _Changes, ticket: Row, status: str, reason: str, now: datetime) -> None:
    await changes.record(ticket, "status", _label("status", ticket["status"]), _label("status", status), reason, now)


async def _apply(changes: _Changes, ticket: Row, change: Change, *, reason: str = "") -> list[str]:
    """Write the fields that differ, with history and side effects; returns the changed field names.
    Runs inside the caller's transaction on a freshly locked ``ticket``."""
    now = utcnow()
    updates: dict[str, Any] = {}
    changed: list[str] = []
    for key, value in change.given().items():
        new = None if value == -1 else value
        if ticket[key] == new:
            continue
        updates[key] = new
        changed.append(key)
    if not changed:
        return []
    if "status" in updates:
        updates.update(rules.status_changes(ticket["status"], updates["status"], now))
    if "priority" in updates:
        updates["priority_rank"] = rules.PRIORITY_RANK[updates["priority"]]
    updates["updated_at"] = now
    await _update(ticket, updates)
    refs = [k for k in changed if k in ("team", "assignee", "category")]
    old_names = await _names({k: ticket[k] for k in refs})
    new_names = await _names({k: updates[k] for k in refs})
    for key in changed:
        if key in refs:
            old, new = old_names[key] or "—", new_names[key] or "—"
        else:
            old, new = _label(key, ticket[key]), _label(key, updates[key])
        await changes.record(ticket, key, old, new, reason, now)
    if updates.get("status") == rules.Status.solved:
        link = await guest_links.link_for_mail(ticket)
        context = {"name": ticket["requester_name"], "ticket": ticket, "link": link}
        await mailing.mail_about(ticket, ticket["requester_email"], "ticket_solved", context)
    if "team" in updates and updates["team"] and ticket["assignee"] is None and "assignee" not in updates:
        await teams.assign_by_rotation({**ticket, **updates})
    if {"status", "priority", "category"} & set(changed):
        await sla.refresh(ticket["id"], now)
    return changed


async def change(access: TicketAccess, number: int, change: Change, *, via: Channel = Channel.web) -> list[str]:
    if errors := await _validate(change):
        raise Invalid(errors=errors)
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        changed = await _apply(changes, ticket, change)
        if changed:
            changes.announce(ticket, "changed")
    return changed


async def take(access: TicketAccess, number: int, *, via: Channel = Channel.web) -> list[str]:
    if access.actor is None:
        raise Invalid("Only a person can take a ticket.")
    return await change(access, number, Change(assignee=access.actor.id), via=via)


# --- tags -------------------------------------------------------------------------------------------------------


async def set_tags(
    access: TicketAccess, number: int, text: str, *, via: Channel = Channel.web
) -> tuple[list[str], list[str]]:
    wanted = rules.parse_tags(text)
    if len(wanted) > rules.TAGS_PER_TICKET:
        raise Invalid(errors={"tags": f"A ticket can have at most {rules.TAGS_PER_TICKET} tags."})
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        added, removed = await _replace_tags(ticket, wanted)
        if added or removed:
            await _update(ticket, {"updated_at": utcnow()})
            await changes.record(
                ticket,
                "tags",
                "−" + ", −".join(removed) if removed else "",
                "+" + ", +".join(added) if added else "",
            )
            changes.announce(ticket, "changed")
    return added, removed


async def _tag_ids(names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    marks = ", ".join("{}" for _ in names)
    known = {r["name"]: r["id"] for r in await fetch(f"SELECT id, name FROM tag WHERE name IN ({marks})", *names)}
    for name in names:
        if name not in known:
            rows = await Tag.insert(Tag(name=name)).run()
            known[name] = rows[0]["id"]
    return known


async def _replace_tags(ticket: Row, wanted: list[str]) -> tuple[list[str], list[str]]:
    current = await tags(ticket)
    added = [t for t in wanted if t not in current]
    removed = [t for t in current if t not in wanted]
    ids = await _tag_ids(added + removed)
    for name in added:
        await TicketTag.insert(TicketTag(ticket=ticket["id"], tag=ids[name])).run()
    if removed:
        await (
            TicketTag.delete()
            .where((TicketTag.ticket == ticket["id"]) & TicketTag.tag.is_in([ids[n] for n in removed]))
            .run()
        )
    return added, removed


# --- merge ------------------------------------------------------------------------------------------------------


async def merge(access: TicketAccess, number: int, into_text: str, *, via: Channel = Channel.web) -> Row:
    """Merge ticket ``number`` (the duplicate) into another: its thread and attachments move, both
    keep a record, the requester is told. Tickets of different requesters are not merged: each would
    see the other's messages. The duplicate's guest links are revoked, not moved: whoever typed an
    address into the guest form must not read the target's thread through them; the target's
    requester is mailed a fresh link instead."""
    target_number = parse_int(into_text.strip().lstrip("#"), 1, MAX_NUMBER)
    if target_number is None:
        raise Invalid(errors={"into": "Enter the number of the ticket to merge into, like 1234."})
    if target_number == number:
        raise Invalid(errors={"into": "A ticket cannot be merged into itself."})
    async with _changing(access, via) as changes:
        source = await _locked(access, number)
        try:
            target = await _locked(access, target_number)
        except NotFound:
            raise Invalid(errors={"into": f"There is no ticket #{target_number} you can see."}) from None
        _check_merge(source, target)
        now = utcnow()
        for table in ("message", "attachment"):
            await fetch(f"UPDATE {table} SET ticket = {{}} WHERE ticket = {{}}", target["id"], source["id"])
        await guest_links.revoke_all(source["id"], now)
        by = _actor_name(access)
        await system_note(target, f"Ticket #{number} “{source['subject']}” was merged into this ticket by {by}.")
        await system_note(source, f"Merged into #{target_number} by {by}.")
        await _update(source, {"merged_into": target_number, "updated_at": now})
        await _apply(changes, source, Change(status=rules.Status.closed), reason=f"merged into #{target_number}")
        await _update(target, {"updated_at": now})
        for ticket in (source, target):
            await changes.record(ticket, "merge", f"#{number}", f"#{target_number}")
            await search.index_ticket(ticket["id"])
        link = await guest_links.link_for_mail(target)
        context = {"name": target["requester_name"], "source": source, "ticket": target, "link": link}
        await mailing.mail_about(target, target["requester_email"], "ticket_merged", context)
        changes.announce(source, "changed")
        changes.announce(target, "reply")
    return target


def _check_merge(source: Row, target: Row) -> None:
    if source["merged_into"]:
        raise Invalid(f"This ticket was already merged into #{source['merged_into']}.")
    if target["merged_into"] or target["status"] == rules.Status.closed:
        raise Invalid(errors={"into": f"#{target['number']} is closed; merge into an open ticket."})
    if source["requester_email"] != target["requester_email"]:
        raise Invalid(
            errors={
                "into": "Both tickets must come from the same customer: merging would "
                "show one customer's messages to another."
            }
        )


# --- bulk -----------------------------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    refused: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.changed} ticket{'s' if self.changed != 1 else ''} changed"]
        if self.unchanged:
            parts.append(f"{self.unchanged} already as asked")
        if self.refused:
            parts.append(
                f"{len(self.refused)} not found or not yours to change "
                f"({', '.join('#' + str(n) for n in self.refused[:10])})"
            )
        return "; ".join(parts) + "."


async def bulk(
    access: TicketAccess, numbers: list[int], change_: Change, add_tag: str = "", *, via: Channel = Channel.web
) -> BulkResult:
    """Apply one change to many tickets: each checked against the access, each with its history,
    all in one transaction (all or nothing)."""
    if not numbers:
        raise Invalid("Select at least one ticket.")
    if len(numbers) > 200:
        raise Invalid("Select at most 200 tickets at a time.")
    tag = rules.normalize_tag(add_tag) if add_tag else None
    if add_tag and not tag:
        raise Invalid(errors={"tag": "Enter a tag (letters, digits, dashes)."})
    if not change_.given() and not tag:
        raise Invalid("Choose what to change.")
    if errors := await _validate(change_):
        raise Invalid(errors=errors)
    result = BulkResult()
    async with _changing(access, via) as changes:
        for number in sorted(set(numbers)):
            try:
                ticket = await _locked(access, number)
            except NotFound:
                result.refused.append(number)
                continue
            changed = await _apply(changes, ticket, change_)
            if tag and await _add_tags(changes, ticket, [tag]):
                changed.append("tags")
            if changed:
                result.changed += 1
                changes.announce(ticket, "changed")
            else:
                result.unchanged += 1
    return result


async def _add_tags(changes: _Changes, ticket: Row, wanted: list[str]) -> bool:
    current = await tags(ticket)
    new = [tag for tag in wanted if tag not in current]
    if not new:
        return False
    await _replace_tags(ticket, current + new)
    await changes.record(ticket, "tags", "", "+" + ", +".join(new))
    return True


# --- macros -----------------------------------------------------------------------------------------------------------


async def apply_macro(
    access: TicketAccess, number: int, change_: Change, add_tags: list[str], *, via: Channel = Channel.web
) -> list[str]:
    """A canned reply's fields (status, priority, team, tags to add), set in one transaction with
    their history; returns the changed field names. The reply's text goes into the editor: it is
    sent only when the agent sends it."""
    if errors := await _validate(change_):
        raise Invalid(errors=errors)
    async with _changing(access, via) as changes:
        ticket = await _locked(access, number)
        changed = await _apply(changes, ticket, change_)
        if add_tags and await _add_tags(changes, ticket, add_tags):
            await _update(ticket, {"updated_at": utcnow()})
            changed.append("tags")
        if changed:
            changes.announce(ticket, "changed")
    return changed


# --- what jobs change -----------------------------------------------------------------------------------------------


async def close_solved_tickets(now: datetime | None = None) -> int:
    """Solved tickets close when the reopen window ends (their rating is then final): each with its
    history event and live event, in one transaction."""
    now = now or utcnow()
    async with _changing(SYSTEM, Channel.system) as changes:
        rows = (
            await Ticket.update({Ticket.status: rules.Status.closed, Ticket.closed_at: now})
            .where((Ticket.status == rules.Status.solved) & (Ticket.solved_at < now - rules.REOPEN_WINDOW))
            .returning(Ticket.id, Ticket.number, Ticket.team)
            .run()
        )
        for row in rows:
            reason = f"solved more than {rules.REOPEN_WINDOW.days} days ago"
            await changes.record(row, "status", "Solved", "Closed", reason, now)
            changes.announce(row, "changed")
    return len(rows)


# --- "Find my ticket" ------------------------------------------------------------------------------------------------


async def resend_link(number_text: str, email: str, *, ip: str, throttle: Throttle) -> None:
    """Queue a re-send of the ticket link; the caller answers alike either way.

    The request only queues a job, whether or not number and email belong together, so the timing
    of the answer does not tell a stranger which addresses filed which tickets.
    """
    key = f"find:{ip}"
    if wait := await throttle.retry_after(key, 10):
        raise Throttled(f"Too many requests. Try again in {minutes_text(wait)}.", wait)
    await throttle.hit(key, 3600)
    email = normalize_email(email)
    errors = {}
    number_text = number_text.strip().lstrip("#")
    if not (number_text.isascii() and number_text.isdecimal()):
        errors["number"] = "Enter the ticket number from your mail, like 1234."
    if problem := email_problem(email):
        errors["email"] = problem
    if errors:
        raise Invalid(errors=errors)
    number = parse_int(number_text, 0, MAX_NUMBER)
    if number is None:
        return  # no ticket has that number: the same answer as for a wrong address
    async with write_transaction():
        await queue.enqueue("tickets.resend_links", {"number": number, "email": email})


async def mail_ticket_link(number: int, email: str) -> None:
    """Runs as a job: mail a fresh link when the ticket was filed with this address, else nothing."""
    async with write_transaction():
        ticket = await Ticket.select().where((Ticket.number == number) & (Ticket.requester_email == email)).first()
        if ticket is None:
            return
        link = await guest_links.link_for_mail(ticket)
        await mailing.mail_about(
            ticket, email, "ticket_link", {"name": ticket["requester_name"], "ticket": ticket, "link": link}
        )
