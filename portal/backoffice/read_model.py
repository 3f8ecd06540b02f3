"""The reports' read model: every statement the KPI dashboard runs, and the only place outside the
owning domains that reads their tables (tickets, ``queue_tally`` and the ``ticket_week_stat``
rollup; appointments and staff hours; team, category, user and service names).

Why the reports may do this when no other domain may: a report is aggregate SQL over a whole
period — counts per day through index ranges, sums of the weekly rollup, duration histograms —
at 1,000,000 tickets and 200,000 appointments. The owning domains' functions read and shape one
ticket or one page of them; going through them would load every row into Python. So the SQL is
kept here, in one module, named for what it is: ``kpis.py`` decides what to count and shapes the
numbers, this module fetches them. Visibility still comes from the tickets domain: every ticket
statement carries ``TicketAccess.sql()`` (see ``ticket_where``).

Statements are kept exactly as they were measured (bench/): their shape is what makes them fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from portal.backoffice import charts, rollup
from portal.clock import instant
from portal.db import fetch, fetch_rows, is_sqlite
from portal.tickets import rules
from portal.tickets.access import TicketAccess

UNSOLVED = rules.status_in_sql("t.status", rules.UNSOLVED)
_DIM_COLUMN = {"team": "t.team", "agent": "t.assignee", "category": "t.category", "channel": "t.via"}
# Each duration: the instant that puts a ticket in a period, and the business minutes measured.
_DURATIONS = {"first": ("created_at", "first_response_minutes"), "resolution": ("solved_at", "resolution_minutes")}
# Lead time in whole hours: exact below two days, then to 3 hours below two weeks, then to 12 hours
# (a year of bookings groups into a few hundred rows instead of one per distinct hour).
LEAD_BUCKET_SQL = "CASE WHEN {0} < 48 THEN {0} WHEN {0} < 336 THEN {0} - {0} % 3 ELSE {0} - {0} % 12 END"

Ranges = list[tuple[int, datetime, datetime]]  # (key, start included, end excluded)


@dataclass(frozen=True)
class Where:
    """Conditions a report adds to its statements (each `` AND …`` on the table's alias), with the
    values their ``{}`` marks take, in order."""

    sql: str = ""
    args: tuple = ()
    tally_answers: bool = False  # queue_tally can count the unsolved (filters on team, assignee only)


@dataclass(frozen=True)
class Coverage:
    """An agent's reports cover their teams' tickets and those assigned to them."""

    teams: tuple[int, ...]
    assignee: int


def ticket_where(
    access: TicketAccess,
    coverage: Coverage | None,
    *,
    team: int | None = None,
    agent: int | None = None,
    category: int | None = None,
    channel: str = "",
) -> Where:
    """The tickets a report counts (alias ``t``): those ``access`` sees, within ``coverage`` (None:
    the whole desk), narrowed by the viewer's filters."""
    visible, visible_args = access.sql()
    covered, covered_args = _coverage_sql(coverage)
    where = [c for c in (visible, covered) if c]
    args = [*visible_args, *covered_args]
    for column, value in (
        ("t.team", team),
        ("t.assignee", agent),
        ("t.category", category),
        ("t.via", channel or None),
    ):
        if value is not None:
            where.append(f"{column} = {{}}")
            args.append(value)
    return Where("".join(f" AND {w}" for w in where), tuple(args), tally_answers=category is None and not channel)


def _coverage_sql(coverage: Coverage | None) -> tuple[str, list]:
    if coverage is None:
        return "", []
    if not coverage.teams:
        return "t.assignee = {}", [coverage.assignee]
    marks = ", ".join("{}" for _ in coverage.teams)
    return f"(t.team IN ({marks}) OR t.assignee = {{}})", [*coverage.teams, coverage.assignee]


def appointment_where(staff: int | None, service: int | None) -> Where:
    """The appointments a booking report counts (alias ``a``)."""
    sql, args = "", []
    if staff is not None:
        sql += " AND a.staff = {}"
        args.append(staff)
    if service is not None:
        sql += " AND a.service = {}"
        args.append(service)
    return Where(sql, tuple(args))


def _instant() -> str:
    return "{}" if is_sqlite() else "CAST({} AS timestamptz)"


def _values(ranges: Ranges) -> tuple[str, list]:
    """A ``VALUES`` list of (key, start, end) rows, and its values: one index range per row."""
    ts = _instant()
    return ", ".join(f"(CAST({{}} AS INTEGER), {ts}, {ts})" for _ in ranges), [x for r in ranges for x in r]


def _minutes_between(a: str, b: str) -> str:
    if is_sqlite():
        return f"CAST(ROUND((julianday({b}) - julianday({a})) * 1440) AS INTEGER)"
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({b} - {a})) / 60) AS INTEGER)"


# --- tickets ----------------------------------------------------------------------------------------


async def tickets_per_range(ranges: Ranges, where: Where) -> list[tuple]:
    """(key, created, solved) for each range, in one statement."""
    values, range_args = _values(ranges)
    sql = (
        f"WITH d(i, a, b) AS (VALUES {values}) SELECT d.i, "
        f"(SELECT COUNT(*) FROM ticket t WHERE t.created_at >= d.a AND t.created_at < d.b{where.sql}), "
        f"(SELECT COUNT(*) FROM ticket t WHERE t.solved_at >= d.a AND t.solved_at < d.b{where.sql}) FROM d"
    )
    return await fetch_rows(sql, *range_args, *where.args, *where.args)


async def unsolved_now(where: Where) -> int:
    """Unsolved tickets now. ``queue_tally`` has them by team and assignee (0 for none, which no id
    matches), so unless the report filters on category or channel it answers without a scan."""
    if where.tally_answers:
        sql = f"SELECT COALESCE(SUM(t.n), 0) FROM queue_tally t WHERE {UNSOLVED}{where.sql}"
    else:
        sql = f"SELECT COUNT(*) FROM ticket t WHERE {UNSOLVED}{where.sql}"
    return int((await fetch_rows(sql, *where.args))[0][0])


async def closed_without_solve(since: datetime, where: Where) -> list[datetime]:
    """When tickets closed without a solve (merged away) were closed, from ``since`` on. Few rows;
    a closed ticket's ``updated_at`` is at or after its ``closed_at``, so the status index finds them."""
    rows = await fetch_rows(
        f"SELECT t.closed_at FROM ticket t WHERE t.status = 'closed' AND t.updated_at >= {{}} "
        f"AND t.solved_at IS NULL AND t.closed_at >= {{}}{where.sql}",
        since,
        since,
        *where.args,
    )
    return [at for row in rows if (at := instant(row[0])) is not None]  # never None: closed_at >= since


_ROLLUP_SUMS = ", ".join(f"SUM(t.{c})" for c in rollup.COUNTS)
_CREATED_SUMS = (
    "COUNT(*), SUM(CASE WHEN NOT t.first_response_breached THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.first_response_breached THEN 1 ELSE 0 END), 0, 0, 0, 0, 0"
)
_SOLVED_SUMS = (
    "0, 0, 0, COUNT(*), SUM(CASE WHEN NOT t.resolution_breached THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.resolution_breached THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.csat_rating = 'good' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN t.csat_rating = 'bad' THEN 1 ELSE 0 END)"
)
_CELL = "COALESCE(t.team, 0), COALESCE(t.assignee, 0), COALESCE(t.category, 0), t.via"


async def period_cells(periods: dict[int, tuple[datetime, datetime]], where: Where) -> list[tuple]:
    """One statement giving, per period and cell (team, assignee, category, channel; 0 for none), the
    counts named in ``rollup.COUNTS``: whole weeks from the rollup, the ends from the ticket indexes.
    ``where`` filters on ``t.team``, ``t.assignee``, ``t.category`` and ``t.via``, which mean the
    same in both tables (an id is never 0)."""
    arms, args = [], []
    for period, (lo, hi) in periods.items():
        weeks, rest = rollup.week_split(lo, hi)
        if weeks:
            arms.append(
                f"SELECT {int(period)}, t.team, t.assignee, t.category, t.via, {_ROLLUP_SUMS} "
                f"FROM ticket_week_stat t WHERE t.week >= {{}} AND t.week < {{}}{where.sql} "
                "GROUP BY t.team, t.assignee, t.category, t.via"
            )
            args += [rollup.week_param(weeks[0]), rollup.week_param(weeks[1]), *where.args]
        for a, b in rest:
            for column, sums in (("created_at", _CREATED_SUMS), ("solved_at", _SOLVED_SUMS)):
                arms.append(
                    f"SELECT {int(period)}, {_CELL}, {sums} FROM ticket t "
                    f"WHERE t.{column} >= {{}} AND t.{column} < {{}}{where.sql} GROUP BY {_CELL}"
                )
                args += [a, b, *where.args]
    return await fetch_rows(" UNION ALL ".join(arms), *args)


async def duration_buckets(
    kind: str, by: str, current: datetime, since: datetime, until: datetime, sampled: bool, where: Where
) -> list[tuple]:
    """(1 in the current period else 0, group key of ``by``, bucket, count) for the ``kind``
    ("first" or "resolution") durations of tickets in [since, until); ``sampled`` reads only the
    1-in-``SAMPLE_EVERY`` sample (its partial index)."""
    column, minutes = _DURATIONS[kind]
    sample = f" AND t.id % {rollup.SAMPLE_EVERY} = 0" if sampled else ""
    return await fetch_rows(
        f"SELECT CASE WHEN t.{column} >= {{}} THEN 1 ELSE 0 END, {_DIM_COLUMN[by]}, "
        f"{charts.BUCKET_SQL.format(f't.{minutes}')}, COUNT(*) FROM ticket t "
        f"WHERE t.{column} >= {{}} AND t.{column} < {{}} AND t.{minutes} IS NOT NULL{sample}{where.sql} "
        "GROUP BY 1, 2, 3",
        current,
        since,
        until,
        *where.args,
    )


async def csat_comments(start: datetime, end: datetime, where: Where) -> list[dict]:
    """The latest ten rated tickets with a comment, solved in [start, end)."""
    return await fetch(
        "SELECT t.number, t.subject, t.csat_rating, t.csat_comment, t.solved_at FROM ticket t "
        f"WHERE t.solved_at >= {{}} AND t.solved_at < {{}} AND t.csat_rating IS NOT NULL{where.sql} "
        "AND t.csat_comment <> '' ORDER BY t.solved_at DESC LIMIT 10",
        start,
        end,
        *where.args,
    )


# --- names ------------------------------------------------------------------------------------------


async def dimension_names(by: str) -> dict:
    """{id: name} of the teams, categories or staff a breakdown groups by ({} for anything else)."""
    if by == "team":
        return {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM team")}
    if by == "category":
        return {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM category")}
    if by == "agent":
        return {
            r["id"]: r["name"] for r in await fetch("SELECT id, name FROM portal_user WHERE role IN ('agent', 'admin')")
        }
    return {}


async def menus() -> dict[str, list[dict]]:
    """Every team, active staff member, category and service, for the filter menus."""
    teams = await fetch("SELECT id, name FROM team ORDER BY name")
    agents = await fetch(
        "SELECT id, name FROM portal_user WHERE role IN ('agent', 'admin') AND is_active = {} ORDER BY name", True
    )
    categories = await fetch("SELECT id, name FROM category ORDER BY position, name")
    services = await fetch("SELECT id, name FROM service ORDER BY position, name")
    return {"teams": teams, "agents": agents, "categories": categories, "services": services}


async def service_names() -> dict[int, str]:
    return {r["id"]: r["name"] for r in await fetch("SELECT id, name FROM service")}


async def bookable_staff(staff: int | None) -> list[dict]:
    """Staff with weekly hours or services (only ``staff`` when given), by name, with their zone."""
    return await fetch(
        "SELECT u.id, u.name, u.timezone FROM portal_user u WHERE u.role IN ('agent', 'admin') AND "
        "(u.id IN (SELECT staff FROM weekly_hours) OR u.id IN (SELECT staff FROM service_staff))"
        + (" AND u.id = {}" if staff is not None else "")
        + " ORDER BY u.name",
        *([staff] if staff is not None else []),
    )


# --- appointments -----------------------------------------------------------------------------------


async def appointments_per_range(ranges: Ranges, where: Where) -> list[tuple]:
    """(key, made, held or due, cancelled) for each range, in one statement."""
    values, range_args = _values(ranges)
    taking_place = "a.status IN ('booked', 'completed', 'no_show')"
    sql = (
        f"WITH d(i, a, b) AS (VALUES {values}) SELECT d.i, "
        f"(SELECT COUNT(*) FROM appointment a WHERE a.created_at >= d.a AND a.created_at < d.b{where.sql}), "
        f"(SELECT COUNT(*) FROM appointment a WHERE a.start_at >= d.a AND a.start_at < d.b AND {taking_place}"
        f"{where.sql}), "
        f"(SELECT COUNT(*) FROM appointment a WHERE a.start_at >= d.a AND a.start_at < d.b "
        f"AND a.status = 'cancelled'{where.sql}) FROM d"
    )
    return await fetch_rows(sql, *range_args, *where.args, *where.args, *where.args)


def _starting_in(where: Where) -> str:
    return f"FROM appointment a WHERE a.start_at >= {{}} AND a.start_at < {{}}{where.sql}"


async def appointment_cells(current: datetime, since: datetime, until: datetime, where: Where) -> list[tuple]:
    """(1 in the current period else 0, service, staff, status, count, booked minutes) of the
    appointments starting in [since, until)."""
    return await fetch_rows(
        f"SELECT CASE WHEN a.start_at >= {{}} THEN 1 ELSE 0 END, a.service, a.staff, a.status, COUNT(*), "
        f"SUM({_minutes_between('a.start_at', 'a.end_at')}) {_starting_in(where)} GROUP BY 1, 2, 3, 4",
        current,
        since,
        until,
        *where.args,
    )


async def lead_time_buckets(current: datetime, since: datetime, until: datetime, where: Where) -> list[tuple]:
    """(1 in the current period else 0, service, lead-time bucket in hours, count) of the
    appointments not cancelled starting in [since, until)."""
    lead_hours = f"({_minutes_between('a.created_at', 'a.start_at')}) / 60"
    return await fetch_rows(
        f"SELECT CASE WHEN a.start_at >= {{}} THEN 1 ELSE 0 END, a.service, {LEAD_BUCKET_SQL.format(lead_hours)}, "
        f"COUNT(*) {_starting_in(where)} AND a.status <> 'cancelled' GROUP BY 1, 2, 3",
        current,
        since,
        until,
        *where.args,
    )


async def booked_per_range(ranges: Ranges, where: Where) -> list[tuple]:
    """(key, service, count) of booked appointments starting in each range (the ``start_at`` index)."""
    values, range_args = _values(ranges)
    return await fetch_rows(
        f"WITH d(i, a, b) AS (VALUES {values}) SELECT d.i, a.service, COUNT(*) FROM d "
        f"JOIN appointment a ON a.start_at >= d.a AND a.start_at < d.b "
        f"WHERE a.status = 'booked'{where.sql} GROUP BY d.i, a.service",
        *range_args,
        *where.args,
    )


async def next_booked(start: datetime, end: datetime, where: Where, limit: int) -> list[dict]:
    """The first ``limit`` booked appointments starting in [start, end), with service and staff names."""
    return await fetch(
        "SELECT a.id, a.start_at, s.name AS service, u.name AS staff, a.customer_name FROM appointment a "
        "JOIN service s ON s.id = a.service JOIN portal_user u ON u.id = a.staff "
        f"WHERE a.status = 'booked' AND a.start_at >= {{}} AND a.start_at < {{}}{where.sql} "
        f"ORDER BY a.start_at, a.id LIMIT {int(limit)}",
        start,
        end,
        *where.args,
    )


@dataclass(frozen=True)
class WorkingTime:
    """The booking engine's calendar rows of some staff: weekly hours, date overrides between two
    local dates, holidays between them, and time off overlapping two instants."""

    weekly: list[dict]
    overrides: list[dict]
    holidays: list[dict]
    time_off: list[dict]


async def working_time(ids: list[int], first: date, last: date, lo: datetime, hi: datetime) -> WorkingTime:
    marks = ", ".join("{}" for _ in ids)
    weekly = await fetch(
        f"SELECT staff, weekday, start_minute, end_minute FROM weekly_hours WHERE staff IN ({marks}) "
        "ORDER BY start_minute",
        *ids,
    )
    overrides = await fetch(
        f"SELECT staff, day, start_minute, end_minute FROM date_override WHERE staff IN ({marks}) "
        "AND day >= {} AND day <= {}",
        *ids,
        first,
        last,
    )
    holidays = await fetch("SELECT day FROM holiday WHERE day >= {} AND day <= {}", first, last)
    time_off = await fetch(
        f"SELECT staff, start_at, end_at FROM time_off WHERE staff IN ({marks}) AND end_at > {{}} AND start_at < {{}}",
        *ids,
        lo,
        hi,
    )
    return WorkingTime(weekly, overrides, holidays, time_off)
