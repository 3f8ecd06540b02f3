"""Reading tickets, always through a ``TicketAccess``: one ticket with its thread, history and
tags; the requester's other tickets; a customer's list; attachments.

Every function takes the access and adds its condition to the query (``access.sql``), so a
caller cannot forget it: a ticket outside the access is NotFound.
"""

from __future__ import annotations

from typing import Any

from portal.clock import instant, read_instant
from portal.db import fetch, ilike, is_sqlite
from portal.errors import Invalid, NotFound
from portal.ids import MAX_ID, MAX_NUMBER, parse_int
from portal.tickets import rules
from portal.tickets.access import NOT_FOUND, TicketAccess
from portal.tickets.rows import Row, aware_row
from portal.tickets.tables import Category, Message, Ticket

FIELD_LABELS = {
    "status": "Status",
    "priority": "Priority",
    "category": "Category",
    "team": "Team",
    "assignee": "Assignee",
    "tags": "Tags",
    "merge": "Merged",
    "subject": "Subject",
    "cc": "CCs",
    "related": "Related ticket",
}
FILE_NOT_FOUND = "We could not find that file."


def where(access: TicketAccess, *conditions: str) -> tuple[str, tuple[Any, ...]]:
    """`` WHERE …`` for ``conditions`` (on ``t``) and the access's own condition, and its values
    (the access's come last)."""
    own, values = access.sql()
    parts = [c for c in (*conditions, own) if c]
    return (" WHERE " + " AND ".join(parts) if parts else ""), values


async def categories() -> list[Row]:
    return list(
        await Category.select(Category.id, Category.name)
        .where(Category.is_active == True)
        .order_by(Category.position)
        .order_by(Category.name)
    )


async def ticket(access: TicketAccess, number: int | None = None) -> Row:
    """The ticket ``number`` (a guest link knows its ticket without one), with the names staff
    see, if ``access`` sees it; else NotFound."""
    if number is None and not access.is_guest:
        raise NotFound(NOT_FOUND)
    if number is not None and not 0 < number <= MAX_NUMBER:
        raise NotFound(NOT_FOUND)
    clause, values = where(access, "t.number = {}" if number is not None else "")
    args = (number, *values) if number is not None else values
    viewer = access.actor.id if access.staff and access.actor else 0  # for "seen by this agent"
    rows = await fetch(
        "SELECT t.*, a.name AS assignee_name, g.name AS team_name, c.name AS category_name, "
        "r.name AS requester_account_name, r.timezone AS requester_timezone, p.name AS sla_policy_name, "
        f"(SELECT {_joined_names()} FROM ticket_tag tt JOIN tag n ON n.id = tt.tag WHERE tt.ticket = t.id) AS tag_names, "
        '(SELECT s.seen_at FROM ticket_seen s WHERE s.ticket = t.id AND s."user" = {}) AS agent_seen_at, '
        "(SELECT COUNT(*) FROM ticket_participant x WHERE x.ticket = t.id) AS cc_count, "
        "(SELECT b.reason FROM bounced_address b WHERE b.email = t.requester_email) AS requester_bounced "
        "FROM ticket t LEFT JOIN sla_policy p ON p.id = t.sla_policy "
        "LEFT JOIN portal_user a ON a.id = t.assignee LEFT JOIN team g ON g.id = t.team "
        "LEFT JOIN category c ON c.id = t.category LEFT JOIN portal_user r ON r.id = t.requester" + clause,
        viewer,
        *args,
    )
    if not rows:
        raise NotFound(NOT_FOUND)
    row = aware_row(rows[0])
    row["tags"] = sorted((row.pop("tag_names") or "").split())  # tag names have no spaces
    row["agent_seen_at"] = instant(row["agent_seen_at"])
    return row


def _joined_names() -> str:
    """The tag names of one ticket as one space-separated string (pages read a ticket and its tags
    in one statement)."""
    return "group_concat(n.name, ' ')" if is_sqlite() else "string_agg(n.name, ' ')"


async def thread(access: TicketAccess, ticket: Row) -> list[Row]:
    """The messages ``access`` may read (staff: internal notes and system lines too), with their
    attachments: one query whatever the thread length."""
    kinds = "" if access.sees_internal else " AND m.kind = 'public'"
    rows = await fetch(
        "SELECT m.id, m.author_name, m.author_is_staff, m.kind, m.body_html, m.created_at, m.via, m.source_mail, "
        "f.id AS file_id, f.filename, f.size, f.content_type FROM message m "
        f"LEFT JOIN attachment f ON f.message = m.id WHERE m.ticket = {{}}{kinds} ORDER BY m.id, f.id",
        ticket["id"],
    )
    messages: dict[int, Row] = {}
    for row in rows:
        message = messages.get(row["id"])
        if message is None:
            message = messages[row["id"]] = {
                k: row[k]
                for k in (
                    "id",
                    "author_name",
                    "author_is_staff",
                    "kind",
                    "body_html",
                    "created_at",
                    "via",
                    "source_mail",
                )
            }
            message["attachments"] = []
            aware_row(message)
        if row["file_id"] is not None:
            message["attachments"].append(
                {
                    "id": row["file_id"],
                    "filename": row["filename"],
                    "size": row["size"],
                    "content_type": row["content_type"],
                }
            )
    return list(messages.values())


async def mail_contacts(access: TicketAccess, ticket: Row) -> Row:
    """For staff: the ticket's CCs, and which of its addresses our mail bounced from (no query
    when ``ticket`` — read by ``ticket()`` — has no CCs; one otherwise)."""
    if not access.staff:
        return {"cc": [], "bounced": {}}
    if not ticket.get("cc_count"):
        bounced = ticket.get("requester_bounced")
        return {"cc": [], "bounced": {ticket["requester_email"]: bounced} if bounced is not None else {}}
    rows = await fetch(
        "SELECT p.email AS email, p.name AS name, b.reason AS reason, 1 AS cc FROM ticket_participant p "
        "LEFT JOIN bounced_address b ON b.email = p.email WHERE p.ticket = {} "
        "UNION ALL SELECT b.email AS email, '' AS name, b.reason AS reason, 0 AS cc FROM bounced_address b "
        "WHERE b.email = {} ORDER BY cc, email",
        ticket["id"],
        ticket["requester_email"],
    )
    return {
        "cc": [{"email": r["email"], "name": r["name"]} for r in rows if r["cc"]],
        "bounced": {r["email"]: r["reason"] for r in rows if r["reason"] is not None},
    }


async def brief(access: TicketAccess, number: int) -> Row | None:
    """The few fields of ticket ``number`` the mail intake decides on, if ``access`` sees it."""
    if not 0 < number <= MAX_NUMBER:
        return None
    condition, args = access.sql("t")
    rows = await fetch(
        "SELECT t.id, t.number, t.team, t.requester, t.status, t.solved_at, t.requester_email, t.merged_into "
        f"FROM ticket t WHERE t.number = {{}}{' AND ' + condition if condition else ''}",
        number,
        *args,
    )
    return aware_row(rows[0]) if rows else None


async def came_through(access: TicketAccess, mailbox_id: int) -> bool:
    """Whether any ticket ``access`` sees came in through this mailbox."""
    condition, args = access.sql("t")
    rows = await fetch(
        f"SELECT 1 AS found FROM ticket t WHERE t.mailbox = {{}}{' AND ' + condition if condition else ''} LIMIT 1",
        mailbox_id,
        *args,
    )
    return bool(rows)


async def takes_part(access: TicketAccess, ticket: Row, email: str) -> bool:
    """Whether ``email`` is the requester's or a CC's address of a ticket ``access`` sees."""
    if not access.sees(ticket):
        return False
    if email == ticket["requester_email"]:
        return True
    rows = await fetch(
        "SELECT 1 AS found FROM ticket_participant WHERE ticket = {} AND email = {}", ticket["id"], email
    )
    return bool(rows)


async def mail_source(access: TicketAccess, ticket: Row, message_id: int) -> int | None:
    """For staff: the received mail a message of ``ticket`` came from (None: not by mail)."""
    if not access.sees_internal or not access.sees(ticket):
        return None
    rows = await fetch("SELECT source_mail FROM message WHERE id = {} AND ticket = {}", message_id, ticket["id"])
    return rows[0]["source_mail"] if rows else None


async def history(access: TicketAccess, ticket: Row) -> list[Row]:
    """Who changed what and when: staff only (customers read the thread)."""
    if not access.sees_internal:
        return []
    rows = await fetch(
        "SELECT id, actor_name, field, old_value, new_value, reason, at FROM ticket_event "
        "WHERE ticket = {} ORDER BY id",
        ticket["id"],
    )
    for row in rows:
        row["created_at"] = row["at"]
        aware_row(row)
        row["label"] = FIELD_LABELS.get(row["field"], row["field"].title())
    return rows


def timeline(messages: list[Row], events: list[Row]) -> list[Row]:
    """Messages and history in time order (events right after the message they follow)."""
    items = [{"type": "message", "at": m["created_at"], "order": (m["created_at"], 0, m["id"]), **m} for m in messages]
    items += [{"type": "event", "at": e["created_at"], "order": (e["created_at"], 1, e["id"]), **e} for e in events]
    return sorted(items, key=lambda item: item["order"])


async def tags(ticket: Row) -> list[str]:
    """The tags of a ticket already read through an access."""
    return [
        r["name"]
        for r in await fetch(
            "SELECT g.name FROM ticket_tag tt JOIN tag g ON g.id = tt.tag WHERE tt.ticket = {} ORDER BY g.name",
            ticket["id"],
        )
    ]


async def requester_tickets(access: TicketAccess, ticket: Row, limit: int = 10) -> list[Row]:
    """The requester's other tickets (most recent first), as far as ``access`` sees them."""
    key, value = (
        ("t.requester", ticket["requester"])
        if ticket["requester"]
        else ("t.requester_email", ticket["requester_email"])
    )
    return await _latest(access, (f"{key} = {{}}", "t.id <> {}"), (value, ticket["id"]), limit)


async def tickets_requested_by(access: TicketAccess, user_id: int, limit: int = 20) -> list[Row]:
    """The tickets an account filed (most recent first), as far as ``access`` sees them: the
    admin's page about a user."""
    return await _latest(access, ("t.requester = {}",), (user_id,), limit)


async def _latest(access: TicketAccess, conditions: tuple[str, ...], args: tuple[Any, ...], limit: int) -> list[Row]:
    clause, values = where(access, *conditions)
    rows = await fetch(
        f"SELECT t.number, t.subject, t.status, t.updated_at FROM ticket t{clause} "
        f"ORDER BY t.updated_at DESC LIMIT {int(limit)}",
        *args,
        *values,
    )
    return [aware_row(r) for r in rows]


async def attachment(access: TicketAccess, number: int | None, attachment_id: int) -> Row:
    """A file of a ticket ``access`` sees, on a message it may read (customers: public ones)."""
    found = await ticket(access, number)
    rows = await fetch(
        "SELECT f.*, m.kind AS kind FROM attachment f JOIN message m ON m.id = f.message "
        "WHERE f.id = {} AND f.ticket = {}",
        attachment_id,
        found["id"],
    )
    if not rows or (rows[0]["kind"] != "public" and not access.sees_internal):
        raise NotFound(FILE_NOT_FOUND)
    return rows[0]


async def message_count(ticket: Row) -> int:
    return int(await Message.count().where(Message.ticket == ticket["id"]))


# --- the customer's list ------------------------------------------------------------------------

PAGE_SIZE = 25


async def my_tickets(
    access: TicketAccess, *, status: str = "", q: str = "", cursor: str = ""
) -> tuple[list[Row], str | None]:
    """The requester's tickets, newest activity first, keyset-paginated by (updated_at, id)."""
    if access.actor is None or access.staff or access.is_guest:
        raise NotFound(NOT_FOUND)  # the front office's list: use ``access.for_requester``
    me = access.actor.id
    query = Ticket.select(
        Ticket.id,
        Ticket.number,
        Ticket.subject,
        Ticket.status,
        Ticket.updated_at,
        Ticket.created_at,
        Ticket.staff_replied_at,
        Ticket.customer_seen_at,
    ).where(Ticket.requester == me)
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
                (Message.ticket.requester == me) & (Message.kind == "public") & ilike(Message.body_source, pattern)
            )
            query = query.where(ilike(Ticket.subject, pattern) | Ticket.id.is_in(matching))
    if cursor:
        at, _, last_id = cursor.partition("|")
        at_time, last = read_instant(at), parse_int(last_id, 0, MAX_ID)
        if at_time is None or last is None:
            raise Invalid("That page link is broken. Start again from the first page.")
        query = query.where((Ticket.updated_at < at_time) | ((Ticket.updated_at == at_time) & (Ticket.id < last)))
    rows = list(
        await query.order_by(Ticket.updated_at, ascending=False)
        .order_by(Ticket.id, ascending=False)
        .limit(PAGE_SIZE + 1)
    )
    for row in rows:
        row["unread"] = rules.is_unread(row["staff_replied_at"], row["customer_seen_at"])
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        last_row = rows[PAGE_SIZE - 1]
        next_cursor = f"{last_row['updated_at'].isoformat()}|{last_row['id']}"
    return rows[:PAGE_SIZE], next_cursor


# --- the console's menus ----------------------------------------------------------------------------


async def directory() -> dict[str, list[Row]]:
    """Active staff, teams and categories for the console's menus: one query."""
    rows = await fetch(
        "SELECT 'agent' AS kind, id, name, CAST(NULL AS INTEGER) AS team FROM portal_user WHERE role IN ('agent', 'admin') "
        "AND is_active = {} UNION ALL SELECT 'team' AS kind, id, name, CAST(NULL AS INTEGER) AS team FROM team "
        "UNION ALL SELECT 'category' AS kind, id, name, team FROM category WHERE is_active = {}",
        True,
        True,
    )
    out: dict[str, list[Row]] = {"agent": [], "team": [], "category": []}
    for row in rows:
        out[row["kind"]].append(row)
    for items in out.values():
        items.sort(key=lambda r: r["name"].lower())
    return out
