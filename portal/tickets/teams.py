"""Admin services for the console's organisation: teams and members, round-robin, category routing,
agent settings (availability, open-ticket cap, limited to their teams)."""

from __future__ import annotations

from typing import Any

from portal.accounts.rules import Actor
from portal.accounts.tables import Team, TeamMember, User
from portal.clock import utcnow
from portal.db import change_one, fetch, taken, write_transaction
from portal.errors import Forbidden, Invalid, NotFound
from portal.ids import parse_id, parse_int
from portal.tickets import rules
from portal.tickets.history import record_event
from portal.tickets.rows import Row, first_id
from portal.tickets.tables import Category, Ticket

CAP_MAX = 10_000


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators change teams.")


async def overview() -> dict[str, Any]:
    """Teams with members, agents with their settings and teams, categories with routing: 3 queries."""
    teams = await fetch("SELECT id, name, round_robin, last_assigned FROM team ORDER BY name")
    agents = await fetch(
        "SELECT id, name, email, role, is_available, open_ticket_cap, limited_to_teams "
        "FROM portal_user WHERE role IN ('agent', 'admin') AND is_active = {} ORDER BY name",
        True,
    )
    members = await fetch('SELECT team, "user" FROM team_member')
    categories = await fetch("SELECT id, name, team, is_active FROM category ORDER BY position, name")
    by_id = {a["id"]: {**a, "teams": []} for a in agents}
    team_rows = {t["id"]: {**t, "members": []} for t in teams}
    for row in members:
        if row["team"] in team_rows and row["user"] in by_id:
            team_rows[row["team"]]["members"].append(by_id[row["user"]])
            by_id[row["user"]]["teams"].append(team_rows[row["team"]]["name"])
    return {"teams": list(team_rows.values()), "agents": list(by_id.values()), "categories": categories}


def _name_problem(name: str, label: str, maximum: int = 80) -> str | None:
    if not name:
        return f"Enter a name for the {label}."
    if len(name) > maximum:
        return f"A {label} name can have at most {maximum} characters."
    return None


async def create_team(actor: Actor, name: str) -> int:
    _admin(actor)
    name = " ".join(name.split())
    if problem := _name_problem(name, "team"):
        raise Invalid(errors={"name": problem})
    async with write_transaction():
        if await Team.exists().where(Team.name == name):
            raise Invalid(errors={"name": "A team with this name exists already."})
        rows = await Team.insert(Team(name=name, created_at=utcnow())).run()
    return first_id(rows)


async def update_team(actor: Actor, team_id: int, name: str, round_robin: bool) -> None:
    _admin(actor)
    name = " ".join(name.split())
    if problem := _name_problem(name, "team"):
        raise Invalid(errors={"name": problem})
    async with write_transaction():
        if await taken(Team.name, name, other_than=team_id):
            raise Invalid(errors={"name": "A team with this name exists already."})
        await change_one(
            Team.update({Team.name: name, Team.round_robin: round_robin}).where(Team.id == team_id),
            "That team does not exist.",
        )


async def add_member(actor: Actor, team_id: int, user_id: int) -> None:
    _admin(actor)
    async with write_transaction():
        if not await Team.exists().where(Team.id == team_id):
            raise NotFound("That team does not exist.")
        if not await User.exists().where(
            (User.id == user_id) & User.role.is_in(["agent", "admin"]) & (User.is_active == True)
        ):
            raise Invalid(errors={"user": "Choose an active agent."})
        if await TeamMember.exists().where((TeamMember.team == team_id) & (TeamMember.user == user_id)):
            return
        await TeamMember.insert(TeamMember(team=team_id, user=user_id)).run()


async def remove_member(actor: Actor, team_id: int, user_id: int) -> None:
    _admin(actor)
    async with write_transaction():
        await change_one(
            TeamMember.delete().where((TeamMember.team == team_id) & (TeamMember.user == user_id)),
            "That person is not in this team.",
        )


async def save_category(actor: Actor, category_id: int | None, name: str, team: str, active: bool) -> int:
    _admin(actor)
    name = " ".join(name.split())
    errors = {}
    if problem := _name_problem(name, "category"):
        errors["name"] = problem
    team_id = parse_id(team)
    if team and team_id is None:
        errors["team"] = "Choose a team from the list."
    if team_id is not None and not await Team.exists().where(Team.id == team_id):
        errors["team"] = "That team does not exist."
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        if await taken(Category.name, name, other_than=category_id):
            raise Invalid(errors={"name": "A category with this name exists already."})
        if category_id is None:
            rows = await Category.insert(Category(name=name, team=team_id, is_active=active)).run()
            return first_id(rows)
        await change_one(
            Category.update({Category.name: name, Category.team: team_id, Category.is_active: active}).where(
                Category.id == category_id
            ),
            "That category does not exist.",
        )
        return category_id


async def save_agent_settings(actor: Actor, user_id: int, available: bool, cap: str, limited: bool) -> None:
    _admin(actor)
    cap_value = parse_int(cap, 1, CAP_MAX) if cap.strip() else None
    if cap.strip() and cap_value is None:
        raise Invalid(errors={"cap": f"Enter a number of tickets from 1 to {CAP_MAX:,}, or leave it empty."})
    async with write_transaction():
        await change_one(
            User.update(
                {User.is_available: available, User.open_ticket_cap: cap_value, User.limited_to_teams: limited}
            ).where((User.id == user_id) & User.role.is_in(["agent", "admin"])),
            "That agent does not exist.",
        )


async def set_own_availability(actor: Actor, available: bool) -> None:
    async with write_transaction():
        await User.update({User.is_available: available}).where(User.id == actor.id).run()


async def is_available(actor: Actor) -> bool:
    row = await User.select(User.is_available).where(User.id == actor.id).first()
    return bool(row and row["is_available"])


# --- round-robin -----------------------------------------------------------------------------------------


async def assign_by_rotation(ticket: Row) -> int | None:
    """Give an unassigned ticket of a round-robin team to the next available member below their cap;
    the reason goes into the history. Runs inside the caller's write transaction."""
    if ticket.get("assignee") or not ticket.get("team"):
        return None
    teams = await fetch("SELECT id, name, round_robin, last_assigned FROM team WHERE id = {}", ticket["team"])
    if not teams or not teams[0]["round_robin"]:
        return None
    team = teams[0]
    members = await fetch(
        "SELECT u.id, u.name, u.is_available AS available, u.open_ticket_cap AS cap, "
        "(SELECT COALESCE(SUM(q.n), 0) FROM queue_tally q WHERE q.assignee = u.id "
        f"AND {rules.status_in_sql('q.status', rules.UNSOLVED)}) AS open FROM team_member m "
        'JOIN portal_user u ON u.id = m."user" WHERE m.team = {} AND u.is_active = {} '
        "AND u.role IN ('agent', 'admin')",
        team["id"],
        True,
    )
    for member in members:
        member["available"] = bool(member["available"])
    chosen = rules.next_in_rotation(members, team["last_assigned"])
    if chosen is None:
        await record_event(
            ticket["id"], None, "assignee", "—", "—", f"round-robin in {team['name']}: nobody available below their cap"
        )
        return None
    await Ticket.update({Ticket.assignee: chosen["id"]}).where(Ticket.id == ticket["id"]).run()
    await fetch("UPDATE team SET last_assigned = {} WHERE id = {}", chosen["id"], team["id"])
    cap = f", {chosen['open']} of {chosen['cap']} open" if chosen["cap"] is not None else ""
    await record_event(
        ticket["id"], None, "assignee", "—", chosen["name"], f"round-robin in {team['name']}: next available agent{cap}"
    )
    chosen_id: int = chosen["id"]
    return chosen_id
