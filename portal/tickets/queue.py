"""The agent console's lists: queue views with filters and keyset pages, search, counts, saved views.

Every list is bounded by the agent's ``TicketAccess`` (an agent limited to their teams sees those
teams' tickets only), on rows, counts and search alike. Queues are one SQL statement for the rows
plus one for their tags, whatever the page; counts read ``queue_tally`` (kept by triggers).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from portal.accounts.rules import Actor
from portal.clock import WINDOW_MESSAGE, local_midnight, read_day, read_instant, utcnow
from portal.db import fetch, write_transaction
from portal.errors import NotFound
from portal.ids import MAX_NUMBER, parse_id, parse_int
from portal.tickets import rules, search
from portal.tickets.access import NOT_FOUND, TicketAccess
from portal.tickets.rows import Row, aware_row

PAGE_SIZE = 50
UNSOLVED_SQL = rules.status_in_sql("t.status", rules.UNSOLVED)  # matches the partial indexes


def agent(access: TicketAccess) -> Actor:
    """The staff member a console list is for (the lists are staff's, never a customer's)."""
    if not access.staff or access.actor is None:
        raise NotFound(NOT_FOUND)
    return access.actor


# --- filters ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    view: str = "open"
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    category: int | None = None
    team: int | None = None  # 0 = no team
    assignee: int | None = None  # 0 = unassigned
    tag: str = ""
    requester: str = ""  # an email, or part of a name/email
    created_from: date | None = None
    created_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    sort: str = "updated"
    q: str = ""
    sla: str = ""  # overdue | soon | running | none
    base: str = ""  # a saved view's own built-in view ("open", "mine", …)
    errors: dict[str, str] = field(default_factory=dict)

    def query_string(self, **override: object) -> str:
        """The filters as a URL query (without the page cursor), for links and saved views."""
        values: dict[str, object] = {
            "view": self.view,
            "status": list(self.status),
            "priority": list(self.priority),
            "category": self.category,
            "team": self.team,
            "assignee": self.assignee,
            "tag": self.tag,
            "requester": self.requester,
            "created_from": self.created_from,
            "created_to": self.created_to,
            "updated_from": self.updated_from,
            "updated_to": self.updated_to,
            "sort": "" if self.sort == "updated" else self.sort,
            "q": self.q,
            "sla": self.sla,
        }
        values.update(override)
        pairs = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item != "":
                    pairs.append((key, str(item)))
        return urlencode(pairs)

    @property
    def refined(self) -> bool:
        """Whether anything beyond the view is set (the filter panel opens then)."""
        return self.query_string(view="", sort="", q="") != ""


def _int(value: str, errors: dict[str, str], key: str, label: str) -> int | None:
    if value in ("", None):
        return None
    if value == "0":
        return 0
    if (number := parse_id(value)) is not None:
        return number
    errors[key] = f"Choose a {label} from the list."
    return None


def _day(value: str, errors: dict[str, str], key: str) -> date | None:
    if not value:
        return None
    if (day := read_day(value)) is None:
        errors[key] = f"Enter a date like 2026-11-24. {WINDOW_MESSAGE}"
    return day


def parse_filters(pairs: list[tuple[str, str]]) -> Filters:
    """Filters from a query string. Bad values are dropped with a message, never a 500."""
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value.strip())
    one = {k: v[-1] for k, v in multi.items()}
    errors: dict[str, str] = {}
    view = one.get("view", "open")
    if view not in rules.VIEWS and not (view.startswith("saved-") and parse_id(view[6:])):
        errors["view"] = "That view does not exist."
        view = "open"
    statuses = tuple(s for s in multi.get("status", []) if s in rules.STATUSES)
    priorities = tuple(p for p in multi.get("priority", []) if p in rules.PRIORITIES)
    sort = one.get("sort") or "updated"
    if sort not in rules.SORTS:
        errors["sort"] = "Unknown sort order."
        sort = "updated"
    filters = Filters(
        view=view,
        status=statuses,
        priority=priorities,
        category=_int(one.get("category", ""), errors, "category", "category"),
        team=_int(one.get("team", ""), errors, "team", "team"),
        assignee=_int(one.get("assignee", ""), errors, "assignee", "person"),
        tag=rules.normalize_tag(one.get("tag", "")) or "",
        requester=one.get("requester", "")[:254],
        created_from=_day(one.get("created_from", ""), errors, "created_from"),
        created_to=_day(one.get("created_to", ""), errors, "created_to"),
        updated_from=_day(one.get("updated_from", ""), errors, "updated_from"),
        updated_to=_day(one.get("updated_to", ""), errors, "updated_to"),
        sort=sort,
        q=one.get("q", "")[:200],
        sla=one.get("sla", "") if one.get("sla", "") in rules.SLA_STATES else "",
        errors=errors,
    )
    return filters


def parse_query_string(text: str) -> Filters:
    return parse_filters(parse_qsl(text, keep_blank_values=False))


# --- the queue ---------------------------------------------------------------------------------------


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str | None
    jump_to: int | None = None  # "#1234" in the search box: open that ticket


def _encode_cursor(row: Row, sort: str) -> str:
    if sort == "due":
        raw = f"{_stamp(row['next_due_at'])}|{row['id']}"
    elif sort == "priority":
        raw = f"{row['priority_rank']}|{_stamp(row['updated_at'])}|{row['id']}"
    else:
        raw = f"{_stamp(row[sort + '_at'])}|{row['id']}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _stamp(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _decode_cursor(cursor: str, sort: str) -> tuple[object, ...] | None:
    """The keys of the last row shown, or None for a cursor we did not write (every part bounded)."""
    try:
        parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return None
    keys: tuple[object, ...]
    if sort == "priority":
        if len(parts) != 3:
            return None
        keys = (parse_int(parts[0], 0, 100), read_instant(parts[1]), parse_int(parts[2], 0, MAX_NUMBER))
    else:
        if len(parts) != 2:
            return None
        keys = (read_instant(parts[0]), parse_int(parts[1], 0, MAX_NUMBER))
    return None if None in keys else keys


def view_conditions(
    filters: Filters, access: TicketAccess, now: datetime, split_teams: bool = False
) -> tuple[list[str], list[Any], tuple[int, ...]]:
    """SQL conditions on ``t`` for the view and the filters (the access included).

    With ``split_teams``, a restriction to several teams is not written as ``team IN (…)`` but
    returned, so the caller can run one index-ordered query per team: an IN list cannot use the
    (team, updated_at) order and made the database sort every open ticket of those teams."""
    where: list[str] = []
    args: list[Any] = []
    actor = agent(access)
    view = filters.base or filters.view
    if view in ("unassigned", "mine", "team", "open", "breaching", "overdue"):
        where.append(UNSOLVED_SQL)
    if view == "unassigned":
        where.append("t.assignee IS NULL")
    elif view == "mine":
        where.append("t.assignee = {}")
        args.append(actor.id)
    elif view == "pending":
        where.append(rules.status_in_sql("t.status", [rules.Status.pending]))
    elif view == "breaching":
        where.append("t.next_due_at IS NOT NULL AND t.next_due_at >= {} AND t.next_due_at < {}")
        args.extend([now, now + rules.BREACHING_WITHIN])
    elif view == "overdue":
        where.append("t.next_due_at IS NOT NULL AND t.next_due_at < {}")
        args.append(now)
    if filters.sla == "overdue":
        where.append("t.next_due_at < {}")
        args.append(now)
    elif filters.sla == "soon":
        where.append("t.next_due_at >= {} AND t.next_due_at < {}")
        args.extend([now, now + rules.BREACHING_WITHIN])
    elif filters.sla == "running":
        where.append("t.next_due_at >= {}")
        args.append(now)
    elif filters.sla == "none":
        where.append("t.sla_policy IS NULL")
    elif view == "solved":
        where.append("t.solved_at >= {}")
        args.append(now - rules.RECENTLY_SOLVED)
    if filters.status:
        where.append(f"t.status IN ({', '.join('{}' for _ in filters.status)})")
        args.extend(filters.status)
    if filters.priority:
        where.append(f"t.priority IN ({', '.join('{}' for _ in filters.priority)})")
        args.extend(filters.priority)
    for column, value in (("category", filters.category), ("assignee", filters.assignee)):
        if value == 0:
            where.append(f"t.{column} IS NULL")
        elif value is not None:
            where.append(f"t.{column} = {{}}")
            args.append(value)
    if filters.tag:
        where.append("t.id IN (SELECT tt.ticket FROM ticket_tag tt JOIN tag g ON g.id = tt.tag WHERE g.name = {})")
        args.append(filters.tag)
    if filters.requester:
        if "@" in filters.requester:
            where.append("t.requester_email = {}")
            args.append(filters.requester.lower())
        else:
            where.append("(LOWER(t.requester_name) LIKE {} OR t.requester_email LIKE {})")
            pattern = "%" + filters.requester.lower().replace("%", "").replace("_", "") + "%"
            args.extend([pattern, pattern])
    zone = actor.timezone or "UTC"
    for column, start, end in (
        ("created_at", filters.created_from, filters.created_to),
        ("updated_at", filters.updated_from, filters.updated_to),
    ):
        if start:
            where.append(f"t.{column} >= {{}}")
            args.append(local_midnight(start, zone))
        if end:
            where.append(f"t.{column} < {{}}")
            args.append(local_midnight(end + timedelta(days=1), zone))
    split: tuple[int, ...] = ()
    teams = _allowed_teams(filters, access, view)
    if filters.team == 0:
        where.append("t.team IS NULL" if teams is None else "1 = 0")
    elif teams is not None:
        if not teams:
            where.append("1 = 0")
        elif len(teams) == 1:
            where.append("t.team = {}")
            args.append(teams[0])
        elif split_teams:
            split = teams
        else:
            where.append(f"t.team IN ({', '.join('{}' for _ in teams)})")
            args.extend(teams)
    return where, args, split


def _allowed_teams(filters: Filters, access: TicketAccess, view: str) -> tuple[int, ...] | None:
    """The teams the rows must belong to (None: any team, or none), from the view, the team filter
    and the agent's limitation together."""
    limit = access.team_limit()
    allowed: set[int] | None = None if limit is None else set(limit)
    if view == "team":
        allowed = set(access.teams) if allowed is None else allowed & access.teams
    if filters.team:
        allowed = {filters.team} if allowed is None else allowed & {filters.team}
    return None if allowed is None else tuple(sorted(allowed))


LIST_COLUMNS = (
    "t.id, t.number, t.subject, t.status, t.priority, t.priority_rank, t.requester_name, t.requester_email, "
    "t.created_at, t.updated_at, t.team AS team_id, t.assignee AS assignee_id, t.category AS category_id, "
    "a.name AS assignee_name, g.name AS team_name, t.staff_replied_at, t.first_response_at, t.next_due_at, "
    "t.customer_replied_at, s.seen_at"
)
# The one bound value of the joins (before the WHERE's): the agent whose "last seen" marks unread rows.
LIST_JOINS = (
    "LEFT JOIN portal_user a ON a.id = t.assignee LEFT JOIN team g ON g.id = t.team "
    'LEFT JOIN ticket_seen s ON s.ticket = t.id AND s."user" = {}'
)


async def queue_page(access: TicketAccess, filters: Filters, cursor: str = "") -> Page:
    now = utcnow()
    q = filters.q.strip()
    if q.startswith("#") and q[1:].isascii() and q[1:].isdecimal() and int(q[1:]) <= MAX_NUMBER:
        return Page(rows=[], next_cursor=None, jump_to=int(q[1:]))
    if q:
        # Search looks at every ticket the agent may see; explicit filters still narrow it.
        where, args, _ = view_conditions(replace(filters, view="all", base=""), access, now)
        ids = await search.matching_ids(q, *_and(where, args))
        return Page(rows=await _with_tags(await _rows_by_ids(agent(access).id, ids)), next_cursor=None)
    where, args, split = view_conditions(filters, access, now, split_teams=True)
    sort = filters.sort
    after = "<"
    if sort == "priority":
        order = "priority_rank DESC, updated_at DESC, id DESC"
        keys = "(t.priority_rank, t.updated_at, t.id)"
    elif sort == "due":  # soonest deadline first; tickets without a running SLA clock are left out
        order, keys, after = "next_due_at ASC, id ASC", "(t.next_due_at, t.id)", ">"
        where.append("t.next_due_at IS NOT NULL")
    else:
        order = f"{sort}_at DESC, id DESC"
        keys = f"(t.{sort}_at, t.id)"
    decoded = _decode_cursor(cursor, sort) if cursor else None
    if decoded:
        where.append(f"{keys} {after} ({', '.join('{}' for _ in decoded)})")
        args.extend(decoded)
    limit = PAGE_SIZE + 1
    if split:
        # One index-ordered arm per team, merged: each arm reads at most a page.
        arms, arm_args = [], []
        for i, team in enumerate(split):
            conditions = " AND ".join([*where, "t.team = {}"])
            arms.append(
                f"SELECT * FROM (SELECT {LIST_COLUMNS} FROM ticket t {LIST_JOINS} WHERE {conditions} "
                f"ORDER BY {_qualified(order)} LIMIT {limit}) arm{i}"
            )
            arm_args.extend([agent(access).id, *args, team])
        sql = " UNION ALL ".join(arms) + f" ORDER BY {order} LIMIT {limit}"
        args = arm_args
    else:
        sql = (
            f"SELECT {LIST_COLUMNS} FROM ticket t {LIST_JOINS}"
            f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {_qualified(order)} LIMIT {limit}"
        )
        args = [agent(access).id, *args]
    rows = [aware_row(r) for r in await fetch(sql, *args)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return Page(rows=await _with_tags(rows), next_cursor=_encode_cursor(rows[-1], sort) if more else None)


def _qualified(order: str) -> str:
    return ", ".join("t." + part.strip() for part in order.split(","))


def _and(where: list[str], args: list[Any]) -> tuple[str, tuple[Any, ...]]:
    return " AND ".join(where), tuple(args)


async def _rows_by_ids(me: int, ids: list[int]) -> list[Row]:
    if not ids:
        return []
    rows = await fetch(
        f"SELECT {LIST_COLUMNS} FROM ticket t {LIST_JOINS} WHERE t.id IN ({', '.join('{}' for _ in ids)})", me, *ids
    )
    order = {ticket_id: i for i, ticket_id in enumerate(ids)}
    return sorted((aware_row(r) for r in rows), key=lambda r: order[r["id"]])


async def _with_tags(rows: list[Row]) -> list[Row]:
    """The rows' tags (one statement), and whether the customer wrote since the agent last looked."""
    by_id = {r["id"]: r for r in rows}
    for row in rows:
        row["tags"] = []
        row["unread"] = rules.is_unread(row["customer_replied_at"], row["seen_at"])
    if by_id:
        for tag in await fetch(
            "SELECT tt.ticket AS ticket, g.name AS name FROM ticket_tag tt JOIN tag g "
            f"ON g.id = tt.tag WHERE tt.ticket IN ({', '.join('{}' for _ in by_id)}) "
            "ORDER BY g.name",
            *by_id,
        ):
            by_id[tag["ticket"]]["tags"].append(tag["name"])
    return rows


# --- counts ------------------------------------------------------------------------------------------


async def view_counts(access: TicketAccess) -> dict[str, int]:
    """Tickets in each built-in view, summed from the tallies in one statement (a few hundred tiny
    rows, whatever the ticket count), plus one indexed range count for "recently solved"."""
    unsolved = rules.status_in_sql("status", rules.UNSOLVED)
    teams = sorted(access.teams)
    in_teams = f"team IN ({', '.join('{}' for _ in teams)})" if teams else "1 = 0"
    visible, visible_args = access.sql("queue_tally")
    where = f" WHERE {visible}" if visible else ""
    row = (
        await fetch(
            f"SELECT COALESCE(SUM(CASE WHEN {unsolved} AND assignee = 0 THEN n END), 0) AS unassigned, "
            f"COALESCE(SUM(CASE WHEN {unsolved} AND assignee = {{}} THEN n END), 0) AS mine, "
            f"COALESCE(SUM(CASE WHEN {unsolved} AND {in_teams} THEN n END), 0) AS team, "
            f"COALESCE(SUM(CASE WHEN {unsolved} THEN n END), 0) AS open, "
            f"COALESCE(SUM(CASE WHEN {rules.status_in_sql('status', [rules.Status.pending])} THEN n END), 0) "
            f"AS pending FROM queue_tally{where}",
            agent(access).id,
            *teams,
            *visible_args,
        )
    )[0]
    counts = {key: int(row[key]) for key in ("unassigned", "mine", "team", "open", "pending")}
    # Recently solved, overdue and breaching soon: indexed range counts, in one statement.
    scope_sql, scope_args = access.sql()
    extra = f" AND {scope_sql}" if scope_sql else ""
    now = utcnow()
    ranges = await fetch(
        f"SELECT 'solved' AS k, COUNT(*) AS n FROM ticket t WHERE t.solved_at >= {{}}{extra} UNION ALL "
        f"SELECT 'overdue' AS k, COUNT(*) AS n FROM ticket t WHERE {UNSOLVED_SQL} AND t.next_due_at IS NOT NULL "
        f"AND t.next_due_at < {{}}{extra} UNION ALL "
        f"SELECT 'breaching' AS k, COUNT(*) AS n FROM ticket t WHERE {UNSOLVED_SQL} AND t.next_due_at IS NOT NULL "
        f"AND t.next_due_at >= {{}} AND t.next_due_at < {{}}{extra}",
        now - rules.RECENTLY_SOLVED,
        *scope_args,
        now,
        *scope_args,
        now,
        now + rules.BREACHING_WITHIN,
        *scope_args,
    )
    for row in ranges:
        counts[row["k"]] = int(row["n"])
    return {key: counts[key] for key in rules.VIEWS}


async def filter_counts(access: TicketAccess, named: dict[str, Filters]) -> dict[str, int]:
    """How many tickets each of ``named`` queue filters lists, in one statement (one indexed count
    per filter): the home page's "mine", "waiting on the customer", "due soon"… link to the same
    filters, so a number and the list behind it always agree."""
    if not named:
        return {}
    now = utcnow()
    arms, args = [], []
    for i, filters in enumerate(named.values()):
        where, values, _ = view_conditions(filters, access, now)
        arms.append(f"SELECT {i} AS k, COUNT(*) AS n FROM ticket t{' WHERE ' + ' AND '.join(where) if where else ''}")
        args.extend(values)
    rows = await fetch(" UNION ALL ".join(arms), *args)
    keys = list(named)
    return {keys[int(row["k"])]: int(row["n"]) for row in rows}


async def rebuild_tallies() -> None:
    """Recount ``queue_tally`` from the tickets (after a bulk import, or to repair drift)."""
    async with write_transaction():
        await fetch("DELETE FROM queue_tally")
        await fetch(
            "INSERT INTO queue_tally (status, team, assignee, n) SELECT status, COALESCE(team, 0), "
            "COALESCE(assignee, 0), COUNT(*) FROM ticket GROUP BY status, COALESCE(team, 0), "
            "COALESCE(assignee, 0)"
        )


# --- saved views ----------------------------------------------------------------------------------------


async def saved_views(access: TicketAccess) -> list[Row]:
    """The agent's own views and those shared with one of their teams."""
    teams = sorted(access.teams)
    shared = f" OR v.team IN ({', '.join('{}' for _ in teams)})" if teams else ""
    return await fetch(
        "SELECT v.id, v.name, v.query, v.owner, v.team, g.name AS team_name FROM saved_view v "
        f"LEFT JOIN team g ON g.id = v.team WHERE v.owner = {{}}{shared} ORDER BY v.name",
        agent(access).id,
        *teams,
    )


def view_title(filters: Filters, views: list[Row]) -> str:
    """The queue page's heading: the view's name (a saved view's own name), and the search."""
    name = rules.VIEWS.get(filters.view, "Tickets")
    if filters.view.startswith("saved-"):
        name = next((v["name"] for v in views if f"saved-{v['id']}" == filters.view), "Tickets")
    title = f"Tickets: {name}"
    return f"{title} · search “{filters.q}”" if filters.q else title


def apply_saved(filters: Filters, views: list[Row]) -> Filters:
    """A saved view's filters, with the page's sort and search kept when given."""
    if not filters.view.startswith("saved-"):
        return filters
    wanted = int(filters.view[6:])
    for view in views:
        if view["id"] == wanted:
            saved = parse_query_string(view["query"])
            return replace(
                saved,
                view=filters.view,
                base=saved.view,
                q=filters.q or saved.q,
                sort=filters.sort if filters.sort != "updated" else saved.sort,
            )
    return replace(filters, view="open", errors={**filters.errors, "view": "That view does not exist (any more)."})
