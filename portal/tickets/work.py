"""Working a ticket in the console: the page's data, replies and notes, inline changes with history,
tags, take/assign (and round-robin), merge, bulk actions and canned replies.

Each change writes ``ticket_event`` rows (who, when, from → to) in the same transaction, and
announces itself on the live channel after commit (``live.announce``).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.errors import Invalid, NotFound
from portal.ids import MAX_NUMBER, parse_int
from portal.mail.services import queue_mail
from portal.tickets import live, rules, search, services, sla
from portal.tickets.console import NOT_FOUND, Scope
from portal.tickets.history import record_event
from portal.tickets.rows import aware_row
from portal.tickets.tables import CannedReply, Message, SavedView, Tag, Ticket, TicketTag, TicketToken
from portal.tickets.teams import assign_by_rotation

EDITABLE = ("status", "priority", "category", "team", "assignee")
FIELD_LABELS = {
    "status": "Status",
    "priority": "Priority",
    "category": "Category",
    "team": "Team",
    "assignee": "Assignee",
    "tags": "Tags",
    "merge": "Merged",
    "subject": "Subject",
}


# --- reading ------------------------------------------------------------------------------------------


async def ticket_in_scope(scope: Scope, number: int) -> dict:
    """The ticket with that number if this agent may see it; NotFound otherwise (no probing)."""
    if number > 2**62:
        raise NotFound(NOT_FOUND)
    rows = await fetch(
        "SELECT t.*, a.name AS assignee_name, g.name AS team_name, c.name AS category_name, "
        "r.name AS requester_account_name, r.timezone AS requester_timezone, p.name AS sla_policy_name FROM ticket t "
        "LEFT JOIN sla_policy p ON p.id = t.sla_policy "
        "LEFT JOIN portal_user a ON a.id = t.assignee LEFT JOIN team g ON g.id = t.team "
        "LEFT JOIN category c ON c.id = t.category LEFT JOIN portal_user r ON r.id = t.requester "
        "WHERE t.number = {}",
        number,
    )
    if not rows or not scope.sees(rows[0]["team"]):
        raise NotFound(NOT_FOUND)
    return aware_row(rows[0])


async def thread(ticket_id: int) -> list[dict]:
    """Every message (public, internal, system) with its attachments: one query."""
    rows = await fetch(
        "SELECT m.id, m.author_name, m.author_is_staff, m.kind, m.body_html, m.created_at, "
        "f.id AS file_id, f.filename, f.size, f.content_type FROM message m "
        "LEFT JOIN attachment f ON f.message = m.id WHERE m.ticket = {} ORDER BY m.id, f.id",
        ticket_id,
    )
    messages: dict[int, dict] = {}
    for row in rows:
        message = messages.get(row["id"])
        if message is None:
            message = messages[row["id"]] = {
                k: row[k] for k in ("id", "author_name", "author_is_staff", "kind", "body_html", "created_at")
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


async def history(ticket_id: int) -> list[dict]:
    rows = await fetch(
        "SELECT id, actor_name, field, old_value, new_value, reason, at FROM ticket_event "
        "WHERE ticket = {} ORDER BY id",
        ticket_id,
    )
    for row in rows:
        row["created_at"] = row["at"]
        aware_row(row)
        row["label"] = FIELD_LABELS.get(row["field"], row["field"].title())
    return rows


def timeline(messages: list[dict], events: list[dict]) -> list[dict]:
    """Messages and history in time order (events right after the message they follow)."""
    items = [{"type": "message", "at": m["created_at"], "order": (m["created_at"], 0, m["id"]), **m} for m in messages]
    items += [{"type": "event", "at": e["created_at"], "order": (e["created_at"], 1, e["id"]), **e} for e in events]
    return sorted(items, key=lambda item: item["order"])


async def ticket_tags(ticket_id: int) -> list[str]:
    return [
        r["name"]
        for r in await fetch(
            "SELECT g.name FROM ticket_tag tt JOIN tag g ON g.id = tt.tag WHERE tt.ticket = {} ORDER BY g.name",
            ticket_id,
        )
    ]


async def requester_tickets(scope: Scope, ticket: dict, limit: int = 10) -> list[dict]:
    """The requester's other tickets (most recent first), as far as this agent may see them."""
    key, value = (
        ("t.requester", ticket["requester"])
        if ticket["requester"]
        else ("t.requester_email", ticket["requester_email"])
    )
    scope_sql, scope_args = scope.sql()
    rows = await fetch(
        f"SELECT t.number, t.subject, t.status, t.updated_at FROM ticket t WHERE {key} = {{}} "
        f"AND t.id <> {{}}{' AND ' + scope_sql if scope_sql else ''} ORDER BY t.updated_at DESC "
        f"LIMIT {limit}",
        value,
        ticket["id"],
        *scope_args,
    )
    return [aware_row(r) for r in rows]


async def directory() -> dict[str, list[dict]]:
    """Active staff, teams and categories for the console's menus: one query."""
    rows = await fetch(
        "SELECT 'agent' AS kind, id, name, CAST(NULL AS INTEGER) AS team FROM portal_user WHERE role IN ('agent', 'admin') "
        "AND is_active = {} UNION ALL SELECT 'team' AS kind, id, name, CAST(NULL AS INTEGER) AS team FROM team "
        "UNION ALL SELECT 'category' AS kind, id, name, team FROM category WHERE is_active = {}",
        True,
        True,
    )
    out: dict[str, list[dict]] = {"agent": [], "team": [], "category": []}
    for row in rows:
        out[row["kind"]].append(row)
    for items in out.values():
        items.sort(key=lambda r: r["name"].lower())
    return out


async def canned_replies(actor: Actor) -> list[dict]:
    return (
        await CannedReply.select(CannedReply.id, CannedReply.title, CannedReply.owner)
        .where(CannedReply.owner.is_null() | (CannedReply.owner == actor.id))
        .order_by(CannedReply.title)
    )


async def canned_text(actor: Actor, reply_id: int, ticket: dict) -> str:
    row = (
        await CannedReply.select()
        .where((CannedReply.id == reply_id) & (CannedReply.owner.is_null() | (CannedReply.owner == actor.id)))
        .first()
    )
    if row is None:
        raise NotFound("That canned reply does not exist.")
    return rules.fill_placeholders(row["body"], rules.placeholder_values(ticket, actor.name))


# --- writing helpers -----------------------------------------------------------------------------------


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


async def _locked_ticket(scope: Scope, number: int) -> dict:
    """Re-read inside the write transaction (PostgreSQL: row lock) and re-check the scope."""
    from portal.db import is_sqlite

    lock = "" if is_sqlite() else " FOR UPDATE"
    rows = await fetch(f"SELECT * FROM ticket WHERE number = {{}}{lock}", number)
    if not rows or not scope.sees(rows[0]["team"]):
        raise NotFound(NOT_FOUND)
    return aware_row(rows[0])


@dataclass
class Change:
    status: str | None = None
    priority: str | None = None
    category: int | None = None  # -1 = none
    team: int | None = None  # -1 = none
    assignee: int | None = None  # -1 = nobody

    def given(self) -> dict:
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


async def _apply(scope: Scope, ticket: dict, change: Change, *, reason: str = "") -> list[str]:
    """Write the fields that differ, with history and side effects; returns the changed field names.
    Runs inside the caller's write transaction on a freshly locked ``ticket``."""
    now = utcnow()
    updates: dict = {}
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
    await Ticket.update({getattr(Ticket, k): v for k, v in updates.items()}).where(Ticket.id == ticket["id"]).run()
    refs = [k for k in changed if k in ("team", "assignee", "category")]
    old_names = await _names({k: ticket[k] for k in refs})
    new_names = await _names({k: updates[k] for k in refs})
    for key in changed:
        if key in refs:
            old, new = old_names[key] or "—", new_names[key] or "—"
        else:
            old, new = _label(key, ticket[key]), _label(key, updates[key])
        await record_event(ticket["id"], scope.actor, key, old, new, reason, at=now)
    if updates.get("status") == rules.Status.solved:
        await queue_mail(
            ticket["requester_email"],
            "ticket_solved",
            {"name": ticket["requester_name"], "ticket": ticket, "link": await services.link_for_mail(ticket)},
        )
    if "team" in updates and updates["team"] and ticket["assignee"] is None and "assignee" not in updates:
        await assign_by_rotation({**ticket, **updates})
    if {"status", "priority", "category"} & set(changed):
        await sla.refresh(ticket["id"], now)
    return changed


def _label(key: str, value) -> str:
    if key == "status":
        return rules.STATUS_LABELS.get(value, value)
    return str(value or "—").title() if key == "priority" else str(value or "—")


# --- actions -------------------------------------------------------------------------------------------


async def change(scope: Scope, number: int, change: Change) -> list[str]:
    if errors := await _validate(change):
        raise Invalid(errors=errors)
    async with write_transaction():
        ticket = await _locked_ticket(scope, number)
        changed = await _apply(scope, ticket, change)
    if changed:
        live.announce(ticket, scope.actor, "changed")
    return changed


async def take(scope: Scope, number: int) -> None:
    await change(scope, number, Change(assignee=scope.actor.id))


async def reply(
    scope: Scope,
    number: int,
    body: str,
    *,
    internal: bool,
    uploads: list,
    status: str | None = None,
    via: rules.Channel = rules.Channel.web,
) -> None:
    """A public reply (mailed to the requester) or an internal note; optionally set the status at once
    ("Reply and set pending", as agents do all day). ``via`` is recorded on the message."""
    if problem := rules.text_problem(body, "a note" if internal else "a reply", rules.BODY_MAX):
        raise Invalid(errors={"body": problem})
    if status is not None and status not in rules.STATUSES:
        raise Invalid(errors={"status": "Choose a status from the list."})
    stored = await services.store_uploads(uploads)
    now = utcnow()
    async with write_transaction():
        ticket = await _locked_ticket(scope, number)
        await services.add_message(
            ticket,
            author_id=scope.actor.id,
            author_name=scope.actor.name,
            staff=True,
            kind="internal" if internal else "public",
            body=body,
            stored=stored,
            via=via,
        )
        updates = {Ticket.updated_at: now}
        if not internal:
            updates[Ticket.staff_replied_at] = now
            if ticket["first_response_at"] is None:
                updates[Ticket.first_response_at] = now
        await Ticket.update(updates).where(Ticket.id == ticket["id"]).run()
        new_status = status or (rules.Status.open if not internal and ticket["status"] == rules.Status.new else None)
        if new_status and new_status != ticket["status"]:
            await _apply(scope, ticket, Change(status=new_status))
        elif not internal and ticket["first_response_at"] is None:
            await sla.refresh(ticket["id"], now)
        if not internal:
            await queue_mail(
                ticket["requester_email"],
                "ticket_reply",
                {
                    "name": ticket["requester_name"],
                    "ticket": ticket,
                    "agent": scope.actor.name,
                    "body": body,
                    "link": await services.link_for_mail(ticket),
                },
            )
        await search.index_ticket(ticket["id"])
    live.announce(ticket, scope.actor, "note" if internal else "reply")


async def set_tags(scope: Scope, number: int, text: str) -> tuple[list[str], list[str]]:
    wanted = rules.parse_tags(text)
    if len(wanted) > rules.TAGS_PER_TICKET:
        raise Invalid(errors={"tags": f"A ticket can have at most {rules.TAGS_PER_TICKET} tags."})
    async with write_transaction():
        ticket = await _locked_ticket(scope, number)
        added, removed = await _replace_tags(ticket["id"], wanted)
        if added or removed:
            await Ticket.update({Ticket.updated_at: utcnow()}).where(Ticket.id == ticket["id"]).run()
            await record_event(
                ticket["id"],
                scope.actor,
                "tags",
                ", ".join(removed) and "−" + ", −".join(removed),
                added and "+" + ", +".join(added),
            )
    if added or removed:
        live.announce(ticket, scope.actor, "changed")
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


async def _replace_tags(ticket_id: int, wanted: list[str]) -> tuple[list[str], list[str]]:
    current = await ticket_tags(ticket_id)
    added = [t for t in wanted if t not in current]
    removed = [t for t in current if t not in wanted]
    ids = await _tag_ids(added + removed)
    for name in added:
        await TicketTag.insert(TicketTag(ticket=ticket_id, tag=ids[name])).run()
    if removed:
        await (
            TicketTag.delete()
            .where((TicketTag.ticket == ticket_id) & TicketTag.tag.is_in([ids[n] for n in removed]))
            .run()
        )
    return added, removed


async def merge(scope: Scope, number: int, into_text: str) -> dict:
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
    async with write_transaction():
        source = await _locked_ticket(scope, number)
        try:
            target = await _locked_ticket(scope, target_number)
        except NotFound:
            raise Invalid(errors={"into": f"There is no ticket #{target_number} you can see."}) from None
        if source["merged_into"]:
            raise Invalid(f"This ticket was already merged into #{source['merged_into']}.")
        if target["merged_into"] or target["status"] == rules.Status.closed:
            raise Invalid(errors={"into": f"#{target_number} is closed; merge into an open ticket."})
        if source["requester_email"] != target["requester_email"]:
            raise Invalid(
                errors={
                    "into": "Both tickets must come from the same customer: merging would "
                    "show one customer's messages to another."
                }
            )
        now = utcnow()
        for table in ("message", "attachment"):
            await fetch(f"UPDATE {table} SET ticket = {{}} WHERE ticket = {{}}", target["id"], source["id"])
        await (
            TicketToken.update({TicketToken.revoked_at: now})
            .where((TicketToken.ticket == source["id"]) & TicketToken.revoked_at.is_null())
            .run()
        )
        await services.add_message(
            target,
            author_id=None,
            author_name="System",
            staff=True,
            kind="system",
            body=f"Ticket #{number} “{source['subject']}” was merged into this ticket by {scope.actor.name}.",
            stored=[],
            via=rules.Channel.system,
        )
        await services.add_message(
            source,
            author_id=None,
            author_name="System",
            staff=True,
            kind="system",
            body=f"Merged into #{target_number} by {scope.actor.name}.",
            stored=[],
            via=rules.Channel.system,
        )
        await (
            Ticket.update({Ticket.merged_into: target_number, Ticket.updated_at: now})
            .where(Ticket.id == source["id"])
            .run()
        )
        await _apply(scope, source, Change(status=rules.Status.closed), reason=f"merged into #{target_number}")
        await Ticket.update({Ticket.updated_at: now}).where(Ticket.id == target["id"]).run()
        await record_event(source["id"], scope.actor, "merge", f"#{number}", f"#{target_number}")
        await record_event(target["id"], scope.actor, "merge", f"#{number}", f"#{target_number}")
        await search.index_ticket(target["id"])
        await search.index_ticket(source["id"])
        await queue_mail(
            target["requester_email"],
            "ticket_merged",
            {
                "name": target["requester_name"],
                "source": source,
                "ticket": target,
                "link": await services.link_for_mail(target),
            },
        )
    live.announce(source, scope.actor, "changed")
    live.announce(target, scope.actor, "reply")
    return target


# --- bulk ------------------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    changed: int = 0
    unchanged: int = 0
    refused: list[int] = None

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


async def bulk(scope: Scope, numbers: list[int], change_: Change, add_tag: str = "") -> BulkResult:
    """Apply one change to many tickets: each checked against the scope, each with its history,
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
    result = BulkResult(refused=[])
    touched = []
    async with write_transaction():
        for number in sorted(set(numbers)):
            try:
                ticket = await _locked_ticket(scope, number)
            except NotFound:
                result.refused.append(number)
                continue
            changed = await _apply(scope, ticket, change_)
            if tag:
                current = await ticket_tags(ticket["id"])
                if tag not in current:
                    await _replace_tags(ticket["id"], current + [tag])
                    await record_event(ticket["id"], scope.actor, "tags", "", "+" + tag)
                    changed.append("tags")
            if changed:
                result.changed += 1
                touched.append(ticket)
            else:
                result.unchanged += 1
    for ticket in touched:
        live.announce(ticket, scope.actor, "changed")
    return result


# --- saved views and canned replies -----------------------------------------------------------------------


async def save_view(scope: Scope, name: str, query: str, team: int | None) -> int:
    name = " ".join(name.split())
    if not name or len(name) > 60:
        raise Invalid(errors={"name": "Give the view a name of at most 60 characters."})
    if team is not None and not scope.actor.is_admin:
        raise Invalid(errors={"team": "Only admins share views with a team."})
    if team is not None and not await fetch("SELECT id FROM team WHERE id = {}", team):
        raise Invalid(errors={"team": "That team does not exist."})
    from portal.tickets.console import parse_query_string

    filters = parse_query_string(query)
    clean = filters.query_string(view=filters.base or filters.view, q="")
    async with write_transaction():
        rows = await SavedView.insert(
            SavedView(owner=scope.actor.id, name=name, query=clean[:1000], team=team, created_at=utcnow())
        ).run()
    return rows[0]["id"]


async def delete_view(scope: Scope, view_id: int) -> None:
    async with write_transaction():
        rows = (
            await SavedView.delete()
            .where(
                (SavedView.id == view_id)
                & (
                    (SavedView.owner == scope.actor.id)
                    | (SavedView.team.is_not_null() if scope.actor.is_admin else SavedView.id < 0)
                )
            )
            .returning(SavedView.id)
            .run()
        )
    if not rows:
        raise NotFound("That view does not exist.")


async def canned_list(actor: Actor) -> list[dict]:
    return (
        await CannedReply.select(CannedReply.all_columns(), CannedReply.owner.name.as_alias("owner_name"))
        .where(CannedReply.owner.is_null() | (CannedReply.owner == actor.id))
        .order_by(CannedReply.title)
    )


def _check_canned(title: str, body: str) -> dict[str, str]:
    errors = {}
    if problem := rules.text_problem(" ".join(title.split()), "a title", 120):
        errors["title"] = problem
    if problem := rules.text_problem(body, "the text", rules.BODY_MAX):
        errors["body"] = problem
    return errors


async def save_canned(actor: Actor, reply_id: int | None, title: str, body: str, shared: bool) -> int:
    """Agents keep personal replies; admins also write shared ones (owner null)."""
    if errors := _check_canned(title, body):
        raise Invalid(errors=errors)
    if shared and not actor.is_admin:
        raise Invalid(errors={"shared": "Only admins write shared replies."})
    owner = None if shared else actor.id
    now = utcnow()
    async with write_transaction():
        if reply_id is None:
            rows = await CannedReply.insert(
                CannedReply(title=" ".join(title.split()), body=body, owner=owner, created_at=now, updated_at=now)
            ).run()
            return rows[0]["id"]
        mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
        rows = (
            await CannedReply.update(
                {
                    CannedReply.title: " ".join(title.split()),
                    CannedReply.body: body,
                    CannedReply.owner: owner,
                    CannedReply.updated_at: now,
                }
            )
            .where((CannedReply.id == reply_id) & mine)
            .returning(CannedReply.id)
            .run()
        )
        if not rows:
            raise NotFound("That canned reply does not exist.")
        return reply_id


async def delete_canned(actor: Actor, reply_id: int) -> None:
    mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
    async with write_transaction():
        rows = await CannedReply.delete().where((CannedReply.id == reply_id) & mine).returning(CannedReply.id).run()
    if not rows:
        raise NotFound("That canned reply does not exist.")


async def attachment_in_scope(scope: Scope, number: int, attachment_id: int) -> dict:
    ticket = await ticket_in_scope(scope, number)
    rows = await fetch("SELECT * FROM attachment WHERE id = {} AND ticket = {}", attachment_id, ticket["id"])
    if not rows:
        raise NotFound("We could not find that file.")
    return rows[0]


async def message_count(ticket_id: int) -> int:
    return await Message.count().where(Message.ticket == ticket_id)
