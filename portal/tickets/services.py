"""Ticket services for the front office: filing, guest links, the thread, replies, rating.

Every read of a ticket goes through ``ticket_for_actor`` (the signed-in requester) or
``ticket_for_token`` (a guest link); anything else answers NotFound, never "forbidden", so ticket
numbers and tokens cannot be probed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from portal import files
from portal.accounts.rules import Actor, email_problem, name_problem, normalize_email
from portal.accounts.services import verified_account_with
from portal.clock import read_instant, utcnow
from portal.content import render_stored
from portal.db import ilike, write_transaction
from portal.errors import Invalid, NotFound, Throttled, TooLarge
from portal.ids import MAX_ID, MAX_NUMBER, parse_int
from portal.jobs import queue
from portal.mail.services import queue_mail
from portal.settings import get_settings
from portal.throttle import Throttle, minutes_text
from portal.tickets import history, live, rules, search, sla, teams
from portal.tickets.tables import Attachment, Category, Message, Ticket, TicketToken
from portal.tokens import new_token, plausible_token, token_digest

NOT_FOUND = "We could not find that ticket."


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class NewTicket:
    subject: str = ""
    category: str = ""
    body: str = ""
    name: str = ""
    email: str = ""
    website: str = ""  # honeypot: people never see it, bots fill it
    uploads: list[Upload] = field(default_factory=list)


@dataclass(frozen=True)
class Viewer:
    """Who looks at a front-office ticket: the signed-in requester, or the holder of a guest link."""

    actor: Actor | None = None
    token: str | None = None

    def base(self, number: int) -> str:
        return f"/t/{self.token}" if self.token else f"/tickets/{number}"


# --- reading ------------------------------------------------------------------------------------


async def categories() -> list[dict]:
    return (
        await Category.select(Category.id, Category.name)
        .where(Category.is_active == True)
        .order_by(Category.position)
        .order_by(Category.name)
    )


async def ticket_for_actor(actor: Actor, number: int) -> dict:
    row = await Ticket.select().where((Ticket.number == number) & (Ticket.requester == actor.id)).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


async def ticket_for_token(raw: str) -> dict:
    """The ticket a live guest link opens; using it keeps it alive for another 30 idle days.

    Guest links are only ever delivered by mail, so the first use proves the ticket's address."""
    if not plausible_token(raw):
        raise NotFound(NOT_FOUND)
    now = utcnow()
    token = await TicketToken.select().where(TicketToken.token_hash == token_digest(raw)).first()
    if token is None or token["revoked_at"] is not None or token["expires_at"] <= now:
        raise NotFound("This link is invalid or has expired. Ask for a new one with “Find my ticket”.")
    if token["last_used_at"] is None or now - token["last_used_at"] > rules.GUEST_LINK_SLIDE_AFTER:
        async with write_transaction():
            await (
                TicketToken.update({TicketToken.last_used_at: now, TicketToken.expires_at: now + rules.GUEST_LINK_IDLE})
                .where(TicketToken.id == token["id"])
                .run()
            )
    row = await Ticket.select().where(Ticket.id == token["ticket"]).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    if row["requester_email_proven_at"] is None:
        row = await _prove_address(row["id"], now)
    return row


async def _prove_address(ticket_id: int, now: datetime) -> dict:
    """Record that the ticket's address is proven; a guest ticket then joins the verified account
    with that address, if there is one (an unverified one claims it when it is verified)."""
    async with write_transaction():
        await (
            Ticket.update({Ticket.requester_email_proven_at: now})
            .where((Ticket.id == ticket_id) & Ticket.requester_email_proven_at.is_null())
            .run()
        )
        row = await Ticket.select().where(Ticket.id == ticket_id).first()
        if row["requester"] is None and (owner := await verified_account_with(row["requester_email"])):
            await (
                Ticket.update({Ticket.requester: owner})
                .where((Ticket.id == ticket_id) & Ticket.requester.is_null())
                .run()
            )
            row["requester"] = owner
    return row


async def ticket_for_viewer(viewer: Viewer, number: int | None = None) -> dict:
    if viewer.token:
        return await ticket_for_token(viewer.token)
    if viewer.actor is None or number is None:
        raise NotFound(NOT_FOUND)
    return await ticket_for_actor(viewer.actor, number)


async def public_thread(ticket_id: int) -> list[dict]:
    """Public messages with their attachments: two queries whatever the thread length."""
    messages = (
        await Message.select(
            Message.id,
            Message.author_name,
            Message.author_is_staff,
            Message.body_html,
            Message.created_at,
        )
        .where((Message.ticket == ticket_id) & (Message.kind == "public"))
        .order_by(Message.id)
    )
    by_message: dict[int, list] = {m["id"]: [] for m in messages}
    for row in (
        await Attachment.select(
            Attachment.id, Attachment.message, Attachment.filename, Attachment.size, Attachment.content_type
        )
        .where(Attachment.ticket == ticket_id)
        .order_by(Attachment.id)
    ):
        if row["message"] in by_message:  # attachments of internal notes stay hidden
            by_message[row["message"]].append(row)
    for message in messages:
        message["attachments"] = by_message[message["id"]]
    return messages


async def mark_seen(ticket: dict) -> None:
    if rules.is_unread(ticket["staff_replied_at"], ticket["customer_seen_at"]):
        async with write_transaction():
            await Ticket.update({Ticket.customer_seen_at: utcnow()}).where(Ticket.id == ticket["id"]).run()


async def attachment_for(ticket: dict, attachment_id: int) -> dict:
    """An attachment of a public message of ``ticket`` (already authorized), else NotFound."""
    row = (
        await Attachment.select(Attachment.all_columns(), Attachment.message.kind.as_alias("kind"))
        .where((Attachment.id == attachment_id) & (Attachment.ticket == ticket["id"]))
        .first()
    )
    if row is None or row["kind"] != "public":
        raise NotFound("We could not find that file.")
    return row


# --- the customer's list ------------------------------------------------------------------------

PAGE_SIZE = 25


async def my_tickets(actor: Actor, *, status: str = "", q: str = "", cursor: str = "") -> tuple[list[dict], str | None]:
    """The requester's tickets, newest activity first, keyset-paginated by (updated_at, id)."""
    query = Ticket.select(
        Ticket.id,
        Ticket.number,
        Ticket.subject,
        Ticket.status,
        Ticket.updated_at,
        Ticket.created_at,
        Ticket.staff_replied_at,
        Ticket.customer_seen_at,
    ).where(Ticket.requester == actor.id)
    if status in rules.CUSTOMER_FILTERS:
        query = query.where(Ticket.status.is_in(list(rules.CUSTOMER_FILTERS[status])))
    needle = q.strip()[:100]
    if needle:
        if (number := parse_int(needle.lstrip("#"), 0, MAX_NUMBER)) is not None:
            query = query.where(Ticket.number == number)
        else:
            pattern = f"%{needle.replace('%', '').replace('_', '')}%"
            # Only this requester's messages: the cost follows their tickets, not the whole desk's.
            matching = Message.select(Message.ticket).where(
                (Message.ticket.requester == actor.id)
                & (Message.kind == "public")
                & ilike(Message.body_source, pattern)
            )
            query = query.where(ilike(Ticket.subject, pattern) | Ticket.id.is_in(matching))
    if cursor:
        at, _, last_id = cursor.partition("|")
        at_time, last = read_instant(at), parse_int(last_id, 0, MAX_ID)
        if at_time is None or last is None:
            raise Invalid("That page link is broken. Start again from the first page.")
        query = query.where((Ticket.updated_at < at_time) | ((Ticket.updated_at == at_time) & (Ticket.id < last)))
    rows = (
        await query.order_by(Ticket.updated_at, ascending=False)
        .order_by(Ticket.id, ascending=False)
        .limit(PAGE_SIZE + 1)
    )
    for row in rows:
        row["unread"] = rules.is_unread(row["staff_replied_at"], row["customer_seen_at"])
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        next_cursor = f"{last['updated_at'].isoformat()}|{last['id']}"
    return rows[:PAGE_SIZE], next_cursor


# --- writing ------------------------------------------------------------------------------------


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


def _upload_root():
    return get_settings().var_dir / "uploads"


async def store_uploads(uploads: list[Upload]) -> list[files.StoredFile]:
    settings = get_settings()
    if len(uploads) > settings.upload_max_files:
        raise Invalid(errors={"files": f"Attach at most {settings.upload_max_files} files."})
    stored = []
    for upload in uploads:
        try:
            stored.append(
                await files.store_upload(
                    _upload_root(), upload.filename, upload.data, max_bytes=settings.upload_max_bytes
                )
            )
        except files.UploadRejected as error:
            raise Invalid(errors={"files": error.message}) from None
    return stored


def attachment_url_prefixes(number: int) -> tuple[str, ...]:
    """The attachment URLs a writer may use for an inline image or a link in a message of ticket
    ``number`` (as seen on the customer's page or in the console); they are stored as references."""
    return (f"/tickets/{number}/attachments/", f"/back/tickets/{number}/attachments/")


async def add_message(
    ticket: dict,
    *,
    author_id: int | None,
    author_name: str,
    staff: bool,
    kind: str,
    body: str,
    stored: list[files.StoredFile],
    via: rules.Channel,
) -> int:
    """Write one message; ``via`` records the channel it came through (web, email, api, phone, system)."""
    now = utcnow()
    html = await render_off_loop(body, attachment_url_prefixes(ticket["number"]))
    rows = await Message.insert(
        Message(
            ticket=ticket["id"],
            author=author_id,
            author_name=author_name,
            author_is_staff=staff,
            kind=kind,
            via=via,
            body_source=body,
            body_html=html,
            created_at=now,
        )
    ).run()
    message_id = rows[0]["id"]
    for item in stored:
        await Attachment.insert(
            Attachment(
                ticket=ticket["id"],
                message=message_id,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
                storage_key=item.storage_key,
                created_at=now,
            )
        ).run()
    return message_id


async def _issue_link(ticket: dict) -> str:
    """A fresh guest link for a mail (each mail carries its own; only hashes are stored)."""
    raw = new_token()
    now = utcnow()
    await TicketToken.insert(
        TicketToken(
            ticket=ticket["id"], token_hash=token_digest(raw), expires_at=now + rules.GUEST_LINK_IDLE, created_at=now
        )
    ).run()
    return f"/t/{raw}"


async def link_for_mail(ticket: dict) -> str:
    path = f"/tickets/{ticket['number']}" if ticket["requester"] else await _issue_link(ticket)
    return f"{get_settings().base_url}{path}"


def _check_new(form: NewTicket, actor: Actor | None, category_ids: set[int]) -> dict[str, str]:
    errors = {}
    if problem := rules.text_problem(rules.one_line(form.subject), "a subject", rules.SUBJECT_MAX):
        errors["subject"] = problem
    if problem := rules.text_problem(form.body, "a description", rules.BODY_MAX):
        errors["body"] = problem
    if category_ids and (not form.category.isdecimal() or int(form.category) not in category_ids):
        errors["category"] = "Choose what your request is about."
    if actor is None:
        if problem := name_problem(form.name):
            errors["name"] = problem
        if problem := email_problem(normalize_email(form.email)):
            errors["email"] = problem
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
    actor: Actor | None, form: NewTicket, *, ip: str, throttle: Throttle, via: rules.Channel = rules.Channel.web
) -> dict:
    """File a ticket. A guest's private link goes only to the mailbox: whoever typed the address has
    not proven it, so the ticket joins no account until that link is used (``ticket_for_token``)."""
    if form.website:
        raise Invalid("Your request could not be sent. Please try again.")
    cats = {c["id"]: c for c in await Category.select(Category.id, Category.team).where(Category.is_active == True)}
    errors = _check_new(form, actor, set(cats))
    if errors:
        raise Invalid(errors=errors)
    email = actor.email if actor else normalize_email(form.email)
    name = actor.name if actor else form.name.strip()
    if actor is None:
        await _throttle_guest(throttle, ip, email)
    stored = await store_uploads(form.uploads)
    category = cats.get(int(form.category)) if form.category.isdecimal() else None
    now = utcnow()
    async with write_transaction():
        requester = actor.id if actor else None
        rows = await Ticket.insert(
            Ticket(
                number=0,
                subject=rules.one_line(form.subject),
                status=rules.Status.new,
                priority=rules.Priority.normal,
                category=category["id"] if category else None,
                team=category["team"] if category else None,
                requester=requester,
                requester_email=email,
                requester_name=name,
                via=via,
                created_at=now,
                updated_at=now,
                customer_seen_at=now,
            )
        ).run()
        ticket_id = rows[0]["id"]
        await Ticket.update({Ticket.number: ticket_id}).where(Ticket.id == ticket_id).run()
        ticket = await Ticket.select().where(Ticket.id == ticket_id).first()
        await add_message(
            ticket,
            author_id=actor.id if actor else None,
            author_name=name,
            staff=False,
            kind="public",
            body=form.body,
            stored=stored,
            via=via,
        )
        await search.index_ticket(ticket_id)
        await teams.assign_by_rotation(ticket)
        await sla.refresh(ticket_id)
        ticket = await Ticket.select().where(Ticket.id == ticket_id).first()
        await queue_mail(
            email,
            "ticket_received",
            {"name": name, "ticket": ticket, "link": await link_for_mail(ticket), "body": form.body},
        )
    live.announce(ticket, None, "new")
    return ticket


async def reply(
    viewer: Viewer, ticket: dict, body: str, uploads: list[Upload], *, via: rules.Channel = rules.Channel.web
) -> None:
    if problem := rules.text_problem(body, "your reply", rules.BODY_MAX):
        raise Invalid(errors={"body": problem})
    now = utcnow()
    if rules.status_after_customer_reply(ticket["status"], ticket["solved_at"], now) is None:
        raise Invalid(f"This ticket is closed. Please open a new ticket and mention #{ticket['number']}.")
    stored = await store_uploads(uploads)
    async with write_transaction():
        current = await Ticket.select().where(Ticket.id == ticket["id"]).first()
        status = rules.status_after_customer_reply(current["status"], current["solved_at"], now)
        if status is None:
            raise Invalid(f"This ticket is closed. Please open a new ticket and mention #{ticket['number']}.")
        author = viewer.actor
        await add_message(
            current,
            author_id=author.id if author else None,
            author_name=author.name if author else current["requester_name"],
            staff=False,
            kind="public",
            body=body,
            stored=stored,
            via=via,
        )
        changes = {Ticket.status: status, Ticket.updated_at: now, Ticket.customer_seen_at: now}
        if status != current["status"] and current["status"] == rules.Status.solved:
            changes[Ticket.solved_at] = None
        await Ticket.update(changes).where(Ticket.id == current["id"]).run()
        if status != current["status"]:
            await history.record_event(
                current["id"],
                None,
                "status",
                rules.STATUS_LABELS[current["status"]],
                rules.STATUS_LABELS[status],
                "the customer replied",
            )
            await sla.refresh(current["id"])
        await search.index_ticket(current["id"])
    live.announce(current, None, "reply")


async def solve_by_customer(ticket: dict) -> None:
    if not rules.can_customer_solve(ticket["status"]):
        raise Invalid("This ticket is already solved or closed.")
    now = utcnow()
    async with write_transaction():
        await (
            Ticket.update({Ticket.status: rules.Status.solved, Ticket.solved_at: now, Ticket.updated_at: now})
            .where((Ticket.id == ticket["id"]) & Ticket.status.is_in(list(rules.UNSOLVED)))
            .run()
        )
        await _system_note(ticket, "The customer marked this ticket as solved.")
        await history.record_event(
            ticket["id"],
            None,
            "status",
            rules.STATUS_LABELS[ticket["status"]],
            "Solved",
            "the customer marked it solved",
        )
        await sla.refresh(ticket["id"])
    live.announce(ticket, None, "changed")


async def reopen(ticket: dict) -> None:
    now = utcnow()
    if not rules.can_reopen(ticket["status"], ticket["solved_at"], now):
        raise Invalid(
            f"This ticket can no longer be reopened. Please open a new ticket and mention #{ticket['number']}."
        )
    async with write_transaction():
        await (
            Ticket.update({Ticket.status: rules.Status.open, Ticket.solved_at: None, Ticket.updated_at: now})
            .where((Ticket.id == ticket["id"]) & (Ticket.status == rules.Status.solved))
            .run()
        )
        await _system_note(ticket, "The customer reopened this ticket.")
        await history.record_event(ticket["id"], None, "status", "Solved", "Open", "the customer reopened it")
        await sla.refresh(ticket["id"])
    live.announce(ticket, None, "changed")


async def _system_note(ticket: dict, text: str) -> None:
    await Message.insert(
        Message(
            ticket=ticket["id"],
            author_name="System",
            kind="system",
            via=rules.Channel.system,
            body_source=text,
            body_html=await render_off_loop(text),
            created_at=utcnow(),
        )
    ).run()


async def rate(ticket: dict, rating: str, comment: str) -> None:
    if rating not in rules.RATINGS:
        raise Invalid(errors={"rating": "Choose good or bad."})
    if len(comment) > rules.COMMENT_MAX:
        raise Invalid(errors={"comment": f"A comment can have at most {rules.COMMENT_MAX:,} characters."})
    if not rules.can_rate(ticket["status"]):
        raise Invalid("You can rate a ticket once it is solved, until it closes.")
    async with write_transaction():
        await (
            Ticket.update({Ticket.csat_rating: rating, Ticket.csat_comment: comment.strip(), Ticket.csat_at: utcnow()})
            .where((Ticket.id == ticket["id"]) & (Ticket.status == rules.Status.solved))
            .run()
        )


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
        await queue_mail(
            email,
            "ticket_link",
            {"name": ticket["requester_name"], "ticket": ticket, "link": await link_for_mail(ticket)},
        )


async def claim_guest_tickets(user_id: int, email: str) -> int:
    """After an account's address is proven, the guest tickets filed with that address join it, but
    only those whose own address was proven too (their mailed link was used): anyone can type an
    address into the guest form."""
    async with write_transaction():
        rows = (
            await Ticket.update({Ticket.requester: user_id})
            .where(
                (Ticket.requester_email == email)
                & Ticket.requester.is_null()
                & Ticket.requester_email_proven_at.is_not_null()
            )
            .returning(Ticket.id)
            .run()
        )
    return len(rows)


async def close_solved_tickets(now: datetime | None = None) -> int:
    """Solved tickets close when the reopen window ends; their rating is then final."""
    now = now or utcnow()
    async with write_transaction():
        rows = (
            await Ticket.update({Ticket.status: rules.Status.closed, Ticket.closed_at: now})
            .where((Ticket.status == rules.Status.solved) & (Ticket.solved_at < now - rules.REOPEN_WINDOW))
            .returning(Ticket.id)
            .run()
        )
    return len(rows)
