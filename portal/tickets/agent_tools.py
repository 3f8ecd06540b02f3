"""What agents keep for themselves: canned replies (personal, or shared by admins) and saved queue views.

Neither changes a ticket; canned replies are filled in for one ticket the agent already sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.db import change_one, fetch, write_transaction
from portal.errors import Invalid, NotFound
from portal.ids import parse_id
from portal.tickets import rules, write
from portal.tickets.access import TicketAccess
from portal.tickets.queue import agent, parse_query_string
from portal.tickets.rows import Row, first_id
from portal.tickets.tables import CannedReply, SavedView


async def canned_replies(actor: Actor) -> list[Row]:
    """The replies an agent may insert; those that set fields too (macros) say so in ``is_macro``."""
    rows = (
        await CannedReply.select(CannedReply.id, CannedReply.title, CannedReply.owner, *MACRO_COLUMNS)
        .where(CannedReply.owner.is_null() | (CannedReply.owner == actor.id))
        .order_by(CannedReply.title)
    )
    for row in rows:
        row["is_macro"] = any(row[c._meta.name] for c in MACRO_COLUMNS)
    return rows


async def canned_text(actor: Actor, reply_id: int, ticket: Row) -> str:
    row = await _usable(actor, reply_id)
    return rules.fill_placeholders(row["body"], rules.placeholder_values(ticket, actor.name))


async def _usable(actor: Actor, reply_id: int) -> Row:
    row: Row | None = (
        await CannedReply.select()
        .where((CannedReply.id == reply_id) & (CannedReply.owner.is_null() | (CannedReply.owner == actor.id)))
        .first()
    )
    if row is None:
        raise NotFound("That canned reply does not exist.")
    return row


async def macro(actor: Actor, reply_id: int) -> tuple[write.Change, list[str]]:
    """What a canned reply sets when applied: the field change and the tags to add."""
    row = await _usable(actor, reply_id)
    change = write.Change(status=row["set_status"], priority=row["set_priority"], team=row["set_team"])
    return change, rules.parse_tags(row["set_tags"] or "")


@dataclass
class MacroFields:
    """The fields a canned reply sets besides its text ("" = leave as is)."""

    status: str = ""
    priority: str = ""
    team: str = ""
    tags: str = ""

    def problems(self) -> dict[str, str]:
        errors = {}
        if self.status and self.status not in rules.STATUSES:
            errors["status"] = "Choose a status from the list."
        if self.priority and self.priority not in rules.PRIORITIES:
            errors["priority"] = "Choose a priority from the list."
        if self.team and parse_id(self.team) is None:
            errors["team"] = "Choose a team from the list."
        if len(rules.parse_tags(self.tags)) > rules.TAGS_PER_TICKET:
            errors["tags"] = f"At most {rules.TAGS_PER_TICKET} tags."
        return errors

    def columns(self) -> dict[Any, Any]:
        return {
            CannedReply.set_status: self.status or None,
            CannedReply.set_priority: self.priority or None,
            CannedReply.set_team: parse_id(self.team) if self.team else None,
            CannedReply.set_tags: ", ".join(rules.parse_tags(self.tags)) or None,
        }


MACRO_COLUMNS = (CannedReply.set_status, CannedReply.set_priority, CannedReply.set_team, CannedReply.set_tags)


async def save_view(access: TicketAccess, name: str, query: str, team: int | None) -> int:
    name = " ".join(name.split())
    if not name or len(name) > 60:
        raise Invalid(errors={"name": "Give the view a name of at most 60 characters."})
    if team is not None and not agent(access).is_admin:
        raise Invalid(errors={"team": "Only admins share views with a team."})
    if team is not None and not await fetch("SELECT id FROM team WHERE id = {}", team):
        raise Invalid(errors={"team": "That team does not exist."})
    filters = parse_query_string(query)
    clean = filters.query_string(view=filters.base or filters.view, q="")
    async with write_transaction():
        rows = await SavedView.insert(
            SavedView(owner=agent(access).id, name=name, query=clean[:1000], team=team, created_at=utcnow())
        ).run()
    return first_id(rows)


async def delete_view(access: TicketAccess, view_id: int) -> None:
    async with write_transaction():
        mine = (SavedView.owner == agent(access).id) | (
            SavedView.team.is_not_null() if agent(access).is_admin else SavedView.id < 0
        )
        await change_one(SavedView.delete().where((SavedView.id == view_id) & mine), "That view does not exist.")


async def canned_list(actor: Actor) -> list[Row]:
    return (
        await CannedReply.select(*CannedReply.all_columns(), CannedReply.owner.name.as_alias("owner_name"))
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


async def save_canned(
    actor: Actor, reply_id: int | None, title: str, body: str, shared: bool, fields: MacroFields | None = None
) -> int:
    """Agents keep personal replies; admins also write shared ones (owner null). ``fields``: what
    the reply also sets when applied (a macro)."""
    fields = fields or MacroFields()
    errors = {**_check_canned(title, body), **fields.problems()}
    team = parse_id(fields.team) if fields.team else None
    if team is not None and not await fetch("SELECT id FROM team WHERE id = {}", team):
        errors["team"] = "That team does not exist."
    if errors:
        raise Invalid(errors=errors)
    if shared and not actor.is_admin:
        raise Invalid(errors={"shared": "Only admins write shared replies."})
    owner = None if shared else actor.id
    now = utcnow()
    values = {
        CannedReply.title: " ".join(title.split()),
        CannedReply.body: body,
        CannedReply.owner: owner,
        CannedReply.updated_at: now,
        **fields.columns(),
    }
    async with write_transaction():
        if reply_id is None:
            rows = await CannedReply.insert(
                CannedReply(**{column._meta.name: value for column, value in values.items()}, created_at=now)
            ).run()
            return first_id(rows)
        mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
        await change_one(
            CannedReply.update(values).where((CannedReply.id == reply_id) & mine),
            "That canned reply does not exist.",
        )
        return reply_id


async def delete_canned(actor: Actor, reply_id: int) -> None:
    mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
    async with write_transaction():
        await change_one(
            CannedReply.delete().where((CannedReply.id == reply_id) & mine), "That canned reply does not exist."
        )
