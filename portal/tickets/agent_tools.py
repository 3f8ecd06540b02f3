"""What agents keep for themselves: canned replies (personal, or shared by admins) and saved queue views.

Neither changes a ticket; canned replies are filled in for one ticket the agent already sees.
"""

from __future__ import annotations

from portal.accounts.rules import Actor
from portal.clock import utcnow
from portal.db import change_one, fetch, write_transaction
from portal.errors import Invalid, NotFound
from portal.tickets import rules
from portal.tickets.access import TicketAccess
from portal.tickets.queue import agent, parse_query_string
from portal.tickets.rows import Row, first_id
from portal.tickets.tables import CannedReply, SavedView


async def canned_replies(actor: Actor) -> list[Row]:
    return (
        await CannedReply.select(CannedReply.id, CannedReply.title, CannedReply.owner)
        .where(CannedReply.owner.is_null() | (CannedReply.owner == actor.id))
        .order_by(CannedReply.title)
    )


async def canned_text(actor: Actor, reply_id: int, ticket: Row) -> str:
    row = (
        await CannedReply.select()
        .where((CannedReply.id == reply_id) & (CannedReply.owner.is_null() | (CannedReply.owner == actor.id)))
        .first()
    )
    if row is None:
        raise NotFound("That canned reply does not exist.")
    return rules.fill_placeholders(row["body"], rules.placeholder_values(ticket, actor.name))


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
            return first_id(rows)
        mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
        await change_one(
            CannedReply.update(
                {
                    CannedReply.title: " ".join(title.split()),
                    CannedReply.body: body,
                    CannedReply.owner: owner,
                    CannedReply.updated_at: now,
                }
            ).where((CannedReply.id == reply_id) & mine),
            "That canned reply does not exist.",
        )
        return reply_id


async def delete_canned(actor: Actor, reply_id: int) -> None:
    mine = (CannedReply.owner == actor.id) | (CannedReply.owner.is_null() if actor.is_admin else CannedReply.id < 0)
    async with write_transaction():
        await change_one(
            CannedReply.delete().where((CannedReply.id == reply_id) & mine), "That canned reply does not exist."
        )
