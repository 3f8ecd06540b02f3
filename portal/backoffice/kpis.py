"""KPI dashboard: what each report counts, over which tickets and appointments, and the numbers
shaped into tables, deltas and percentiles (plain data). It runs no SQL: every statement is in
``read_model.py``, the reports' read model, which this module calls with ranges and conditions.

Scope: admins see everything; an agent sees tickets of their teams or assigned to them, and their own
appointments. Asking for a team they are not in, or for another agent, is refused (403).

Tickets: "created" counts tickets by ``created_at``, "solved" by ``solved_at`` (a reopened ticket
loses its solve). First response time and its SLA are over tickets created in the range; resolution
time, its SLA and CSAT over tickets solved in the range. Durations are the business minutes the SLA
clock stored; SLA compliance = met / (met + breached) over tickets whose flag is decided. Backlog at
the end of a day = unsolved now − created since + finished since (range counts, no per-day scan),
where a ticket finishes when it is solved or, if it was closed without being solved (a merge), when
it was closed: counting solves alone left such tickets out of "unsolved now" but in "created since",
which drove the backlog below zero. A reopened ticket lost its solve and counts as unsolved since
it was created.

Days are the viewer's local days: their UTC bounds are computed here (DST-correct, any offset) and
each day is counted by an index range in one statement (``VALUES`` list + correlated counts).

The booking tab also shows what is coming up: booked appointments from now to the end of the
viewer's 30th local day (today included), whatever range is chosen, in the tab's own scope.

Speed at 1M tickets: the period totals and the breakdown (counts, SLA met/breached, CSAT) are summed
from ``ticket_week_stat``, a weekly rollup kept by triggers (``rollup.py``), plus the part weeks at
either end read from the ticket indexes, so they are exact whatever the viewer's zone. Duration
percentiles need every value: below ``SAMPLE_ABOVE`` tickets they are exact, above it they come
from a fixed 1-in-16 sample (a partial index) and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from portal.accounts.rules import Actor
from portal.backoffice import charts, read_model, rollup
from portal.booking import availability as engine
from portal.booking.services import time_from_minutes
from portal.clock import WINDOW_MESSAGE, instant, local_midnight, local_today, read_day, sql_day, zone_info
from portal.db import read_together
from portal.errors import Forbidden
from portal.ids import parse_id
from portal.tickets import access as ticket_access
from portal.tickets import rules
from portal.tickets.access import TicketAccess

MAX_DAYS = 731
CHANNELS = rules.CHANNELS
UNSOLVED = read_model.UNSOLVED  # counted as the queues count it (tests/unit/test_ticket_types.py)
DIMENSIONS = {"team": "Team", "agent": "Agent", "category": "Category", "channel": "Channel"}
# Above this many tickets in a cohort (range + previous period), duration percentiles are read from
# the 1-in-16 sample index (~20k tickets a year at 1M tickets: within ~5% of the exact value, less
# for the whole desk than for a small group).
SAMPLE_ABOVE = 40_000


@dataclass(frozen=True)
class ReportQuery:
    first: date
    last: date
    zone: str = "UTC"
    tab: str = "tickets"
    team: int | None = None
    agent: int | None = None
    category: int | None = None
    channel: str = ""
    service: int | None = None
    by: str = "team"
    errors: dict = field(default_factory=dict)

    @property
    def previous(self) -> tuple[date, date]:
        return charts.previous_period(self.first, self.last)

    @property
    def range_refused(self) -> bool:
        """The dates asked for cannot be read or do not make a range: no report rather than another period's."""
        return "from" in self.errors or "to" in self.errors

    def params(self, **override) -> dict:
        values = {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "tab": self.tab,
            "team": self.team,
            "agent": self.agent,
            "category": self.category,
            "channel": self.channel,
            "service": self.service,
            "by": self.by,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v not in (None, "")}


def _id(raw: str, errors: dict, key: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if (value := parse_id(raw)) is not None:
        return value
    errors[key] = "Choose from the list."
    return None


def parse_query(params: dict[str, str], zone: str, today: date) -> ReportQuery:
    """The dashboard's query string; bad values fall back to defaults with a message, never a 500."""
    errors: dict[str, str] = {}
    days = {}
    for key in ("from", "to"):
        raw = (params.get(key) or "").strip()
        days[key] = read_day(raw) if raw else None
        if raw and days[key] is None:
            errors[key] = f"Enter a date like 2026-11-24. {WINDOW_MESSAGE}"
    last = days["to"] or today
    first = days["from"] or last - timedelta(days=29)
    if first > last:
        errors["from"] = "The start must be on or before the end."
        first = last - timedelta(days=29)
    if (last - first).days + 1 > MAX_DAYS:
        errors["from"] = f"Choose at most {MAX_DAYS} days."
        first = last - timedelta(days=MAX_DAYS - 1)
    channel = (params.get("channel") or "").strip()
    if channel and channel not in CHANNELS:
        errors["channel"] = "Unknown channel."
        channel = ""
    by = params.get("by") or "team"
    tab = params.get("tab") or "tickets"
    return ReportQuery(
        first=first,
        last=last,
        zone=zone,
        tab=tab if tab in ("tickets", "booking") else "tickets",
        team=_id(params.get("team", ""), errors, "team"),
        agent=_id(params.get("agent", ""), errors, "agent"),
        category=_id(params.get("category", ""), errors, "category"),
        channel=channel,
        service=_id(params.get("service", ""), errors, "service"),
        by=by if by in DIMENSIONS else "team",
        errors=errors,
    )


# --- scope ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """Whose numbers a viewer reads: the tickets their ``TicketAccess`` sees (the one visibility
    rule), and for agents only their own work within that (``coverage``)."""

    access: TicketAccess

    @property
    def actor(self) -> Actor:
        assert self.access.actor is not None
        return self.access.actor

    @property
    def admin(self) -> bool:
        return self.actor.is_admin

    @property
    def teams(self) -> tuple[int, ...]:
        return tuple(sorted(self.access.teams))

    def coverage(self) -> read_model.Coverage | None:
        """An agent's reports cover their teams' tickets and those assigned to them, not the whole
        desk's (agents compare their work with their teams', not with other teams'). None: the
        whole desk (admins)."""
        if self.admin:
            return None
        return read_model.Coverage(teams=self.teams, assignee=self.actor.id)


async def scope_for(actor: Actor) -> ReportScope:
    if not actor.is_staff:
        raise Forbidden("Reports are for staff.")
    return ReportScope(access=await ticket_access.for_staff(actor))


def check(scope: ReportScope, q: ReportQuery) -> None:
    """Agents may narrow to their own teams and to themselves only."""
    if scope.admin:
        return
    if q.team is not None and q.team not in scope.teams:
        raise Forbidden("You can see the reports of your own teams only.")
    if q.agent is not None and q.agent != scope.actor.id:
        raise Forbidden("You can see your own numbers and your teams' only.")


def _ticket_where(scope: ReportScope, q: ReportQuery) -> read_model.Where:
    return read_model.ticket_where(
        scope.access, scope.coverage(), team=q.team, agent=q.agent, category=q.category, channel=q.channel
    )


# --- tickets ----------------------------------------------------------------------------------------


async def ticket_report(scope: ReportScope, q: ReportQuery, now: datetime) -> dict:
    check(scope, q)
    where = _ticket_where(scope, q)
    days = charts.day_bounds(q.first, q.last, q.zone)
    p_first, p_last = q.previous
    r_start, r_end = days[0][1], days[-1][2]
    p_start = local_midnight(p_first, q.zone)
    # Rows: each day of the range, then "after the range" (for the backlog). The previous period's
    # totals come from the rollup.
    ranges = [(i, a, b) for i, (_, a, b) in enumerate(days)]
    ranges += [(-2, r_end, max(now, r_end) + timedelta(days=1))]
    async with read_together():
        series = await read_model.tickets_per_range(ranges, where)
        backlog_now = await read_model.unsolved_now(where)
        closed_unsolved = await read_model.closed_without_solve(r_start, where)
        cells = await read_model.period_cells({1: (r_start, r_end), 0: (p_start, r_start)}, where)
        periods, groups = _totals_from_cells(cells, q.by, scope)
        sampled = {
            "first": periods[0].created + periods[1].created > SAMPLE_ABOVE,
            "resolution": periods[0].solved + periods[1].solved > SAMPLE_ABOVE,
        }
        for kind in ("first", "resolution"):
            rows = await read_model.duration_buckets(kind, q.by, r_start, p_start, r_end, sampled[kind], where)
            for cur, key, bucket, n in rows:
                targets = [periods[cur]]
                if cur:
                    targets.append(groups.setdefault(_group_key(q.by, _cell_key(key), scope), _Totals()))
                for totals in targets:
                    totals.add_minutes(kind, bucket, n)
        comments = await read_model.csat_comments(r_start, r_end, where)
        names = await _dimension_names(q.by)
    counts = {i: (created, solved) for i, created, solved in series}
    closed = _per_range(closed_unsolved, ranges)
    backlog_before, ends = backlog_walk(
        backlog_now,
        (counts[-2][0], counts[-2][1] + closed[-2]),
        [(counts[i][0], counts[i][1] + closed[i]) for i in range(len(days))],
    )
    daily = [(day, counts[i][0], counts[i][1], ends[i]) for i, (day, _, _) in enumerate(days)]
    current, previous = periods[1], periods[0]
    created_now = sum(d[1] for d in daily)
    solved_now = sum(d[2] for d in daily)
    created_prev, solved_prev = previous.created, previous.solved
    backlog_end = daily[-1][3] if daily else backlog_before
    headline = [
        _metric("Created", created_now, created_prev, str(created_now)),
        _metric("Solved", solved_now, solved_prev, str(solved_now), better="higher"),
        _metric("Backlog at end", backlog_end, backlog_before, str(backlog_end), better="lower"),
        _duration("First response, median", current.first_p(0.5), previous.first_p(0.5), sampled["first"]),
        _duration("First response, p90", current.first_p(0.9), previous.first_p(0.9), sampled["first"]),
        _duration("Resolution, median", current.res_p(0.5), previous.res_p(0.5), sampled["resolution"]),
        _duration("Resolution, p90", current.res_p(0.9), previous.res_p(0.9), sampled["resolution"]),
        _rate("First response SLA", current.first_sla, previous.first_sla, better="higher"),
        _rate("Resolution SLA", current.res_sla, previous.res_sla, better="higher"),
        _rate("CSAT", current.csat, previous.csat, better="higher"),
    ]
    breakdown = sorted(
        ((names.get(key, _unknown(q.by, key)), totals) for key, totals in groups.items()),
        key=lambda item: (-item[1].solved, str(item[0])),
    )
    tables = {
        "tickets-daily": {
            "title": "Tickets per day",
            "header": ["Date", "Created", "Solved", "Backlog at end of day"],
            "rows": [[d.isoformat(), c, s, b] for d, c, s, b in daily],
        },
        "tickets-summary": _summary(q, headline),
        f"tickets-by-{q.by}": {
            "title": f"By {DIMENSIONS[q.by].lower()}",
            "header": [
                DIMENSIONS[q.by],
                "Solved",
                "First response median",
                "First response p90",
                "Resolution median",
                "Resolution p90",
                "First response SLA %",
                "Resolution SLA %",
                "CSAT %",
                "Ratings",
            ],
            "rows": [
                [
                    label,
                    t.solved,
                    t.first_p(0.5),
                    t.first_p(0.9),
                    t.res_p(0.5),
                    t.res_p(0.9),
                    _round(t.first_sla),
                    _round(t.res_sla),
                    _round(t.csat),
                    t.csat_good + t.csat_bad,
                ]
                for label, t in breakdown
            ],
        },
        "csat-comments": {
            "title": "Latest CSAT comments",
            "header": ["Ticket", "Subject", "Rating", "Comment"],
            "rows": [[c["number"], c["subject"], c["csat_rating"], c["csat_comment"]] for c in comments],
        },
    }
    labels = [d.strftime("%d %b") for d, *_ in daily]
    return {
        "headline": headline,
        "tables": tables,
        "breakdown_key": f"tickets-by-{q.by}",
        "charts": {
            "flow": charts.line_chart(labels, {"Created": [d[1] for d in daily], "Solved": [d[2] for d in daily]}),
            "backlog": charts.line_chart(labels, {"Backlog": [d[3] for d in daily]}),
            "breakdown": charts.bar_chart(
                [str(label) for label, _ in breakdown[:12]], [t.solved for _, t in breakdown[:12]]
            ),
        },
        "previous": (p_first, p_last),
        "sampled": sampled,
    }


def _per_range(instants: list[datetime], ranges: list[tuple[int, datetime, datetime]]) -> dict[int, int]:
    """How many instants fall in each ``(key, start, end)`` range (start included, end excluded)."""
    return {key: sum(1 for at in instants if start <= at < end) for key, start, end in ranges}


def backlog_walk(unsolved_now: int, after_range: tuple[int, int], days: list[tuple[int, int]]) -> tuple[int, list[int]]:
    """The backlog at the end of each day, walking back from now. ``after_range`` and each day are
    (created, finished) counts; returns (backlog before the first day, backlog at each day's end)."""
    created, finished = after_range
    backlog = unsolved_now - created + finished  # at the end of the range
    ends = []
    for created, finished in reversed(days):
        ends.append(backlog)
        backlog = backlog - created + finished  # at the end of the day before
    return backlog, list(reversed(ends))


def _estimate(sampled: bool, minutes: int | None) -> str:
    text = charts.duration(minutes)
    return f"≈ {text}" if sampled and minutes is not None else text


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


_CELL_INDEX = {"team": 0, "agent": 1, "category": 2, "channel": 3}


def _cell_key(value):
    """Rollup cells store "none" as 0 (ids start at 1); the tickets say NULL."""
    return None if value == 0 else value


def _totals_from_cells(cells: list[tuple], by: str, scope: ReportScope) -> tuple[dict, dict]:
    """Sum the rollup's cells into the two periods and, for the range, the groups of ``by``."""
    periods = {1: _Totals(), 0: _Totals()}
    groups: dict = {}
    index = _CELL_INDEX[by]
    for period, *cell in cells:
        counts = cell[4:]
        periods[period].add_counts(counts)
        if period:
            key = _group_key(by, _cell_key(cell[index]), scope)
            groups.setdefault(key, _Totals()).add_counts(counts)
    return periods, groups


class _Totals:
    """One period's or one group's numbers: the rollup's counts plus the duration histograms."""

    __slots__ = ("first_hist", "res_hist", *rollup.COUNTS)
    # The counts are set from ``rollup.COUNTS`` by name; declared here for the type checker.
    created: int
    first_met: int
    first_breached: int
    solved: int
    resolution_met: int
    resolution_breached: int
    csat_good: int
    csat_bad: int

    def __init__(self) -> None:
        self.first_hist: dict[int, int] = {}
        self.res_hist: dict[int, int] = {}
        for name in rollup.COUNTS:
            setattr(self, name, 0)

    def add_counts(self, counts) -> None:
        for name, n in zip(rollup.COUNTS, counts):
            setattr(self, name, getattr(self, name) + (n or 0))

    def add_minutes(self, kind: str, bucket: int, n: int) -> None:
        histogram = self.first_hist if kind == "first" else self.res_hist
        histogram[bucket] = histogram.get(bucket, 0) + n

    def first_p(self, p: float) -> int | None:
        return charts.percentile(self.first_hist, p)

    def res_p(self, p: float) -> int | None:
        return charts.percentile(self.res_hist, p)

    @property
    def first_sla(self) -> float | None:
        return charts.ratio(self.first_met, self.first_met + self.first_breached)

    @property
    def res_sla(self) -> float | None:
        return charts.ratio(self.resolution_met, self.resolution_met + self.resolution_breached)

    @property
    def csat(self) -> float | None:
        return charts.ratio(self.csat_good, self.csat_good + self.csat_bad)


def _metric(label: str, current, previous, text: str, *, points: bool = False, better: str = "") -> dict:
    """``better``: "higher" or "lower" when the direction of a change is good or bad news."""
    delta = charts.change(current, previous, points=points, better=better)
    return {
        "label": label,
        "text": text,
        "raw": _round(current) if isinstance(current, float) else current,
        "previous": _round(previous) if isinstance(previous, float) else previous,
        "change": delta,
    }


def _duration(label: str, current: int | None, previous: int | None, sampled: bool) -> dict:
    """A duration in minutes (shorter is better), marked ≈ when read from the sample."""
    return _metric(label, current, previous, _estimate(sampled, current), better="lower")


def _rate(label: str, current: float | None, previous: float | None, *, better: str) -> dict:
    """A percentage, whose change is told in points."""
    return _metric(label, current, previous, charts.percent(current), points=True, better=better)


def _summary(q: ReportQuery, headline: list[dict]) -> dict:
    """The headline as a table: this period against the previous one."""
    p_first, p_last = q.previous
    return {
        "title": "Summary against the previous period",
        "header": ["Measure", f"{q.first} – {q.last}", f"{p_first} – {p_last}", "Change"],
        "rows": [[m["label"], m["raw"], m["previous"], m["change"]["text"] if m["change"] else ""] for m in headline],
    }


def _group_key(by: str, key, scope: ReportScope):
    """For agents, other agents' rows are summed as "others" (their individual numbers stay private)."""
    if by == "agent" and not scope.admin and key is not None and key != scope.actor.id:
        return "others"
    return key


def _unknown(by: str, key) -> str:
    if key == "others":
        return "Others in your teams"
    if key is None:
        return {"team": "No team", "agent": "Unassigned", "category": "No category", "channel": "—"}[by]
    return str(key)


async def _dimension_names(by: str) -> dict:
    if by == "channel":
        return {c: c for c in CHANNELS}
    return await read_model.dimension_names(by)


async def filter_choices(scope: ReportScope) -> dict:
    """What the filter menus offer this viewer."""
    menus = await read_model.menus()
    teams, agents = menus["teams"], menus["agents"]
    if not scope.admin:
        teams = [t for t in teams if t["id"] in scope.teams]
        agents = [a for a in agents if a["id"] == scope.actor.id]
    return {
        "teams": teams,
        "agents": agents,
        "categories": menus["categories"],
        "channels": CHANNELS,
        "services": menus["services"],
        "dimensions": DIMENSIONS,
    }


# --- booking ----------------------------------------------------------------------------------------


async def booking_report(scope: ReportScope, q: ReportQuery, now: datetime) -> dict:
    if not scope.admin and q.agent is not None and q.agent != scope.actor.id:
        raise Forbidden("You can see your own appointments only.")
    staff_filter = q.agent if scope.admin else scope.actor.id
    where = read_model.appointment_where(staff_filter, q.service)
    days = charts.day_bounds(q.first, q.last, q.zone)
    p_first, p_last = q.previous
    r_start, r_end = days[0][1], days[-1][2]
    p_start = local_midnight(p_first, q.zone)
    ranges = [(i, a, b) for i, (_, a, b) in enumerate(days)] + [(-1, p_start, r_start)]
    async with read_together():
        series = await read_model.appointments_per_range(ranges, where)
        rows = await read_model.appointment_cells(r_start, p_start, r_end, where)
        lead_rows = await read_model.lead_time_buckets(r_start, p_start, r_end, where)
        services = await read_model.service_names()
        staff_rows = await read_model.bookable_staff(staff_filter)
        available = await _available_minutes(
            staff_rows, q.first - timedelta(days=1), q.last + timedelta(days=1), r_start, r_end
        )
        coming = await coming_up(q.zone, now, where)
    counts = {i: (made, held, cancelled) for i, made, held, cancelled in series}
    daily = [(day, *counts[i]) for i, (day, _, _) in enumerate(days)]
    periods = {1: _Booked(), 0: _Booked()}
    by_service: dict = {}
    by_staff: dict = {}
    for cur, service, staff, status, n, minutes in rows:
        targets = [periods[cur]]
        if cur:
            targets += [by_service.setdefault(service, _Booked()), by_staff.setdefault(staff, _Booked())]
        for t in targets:
            t.add(status, n, minutes or 0)
    for cur, service, lead, n in lead_rows:
        for t in [periods[cur], *([by_service.setdefault(service, _Booked())] if cur else [])]:
            t.leads[int(lead)] = t.leads.get(int(lead), 0) + n
    current, previous = periods[1], periods[0]
    total_available = sum(available.values())
    utilization = charts.ratio(current.booked_minutes, total_available)
    headline = [
        _metric("Bookings made", sum(d[1] for d in daily), counts[-1][0], str(sum(d[1] for d in daily))),
        _metric("Appointments held or due", current.held, previous.held, str(current.held)),
        _metric("Cancellations", current.cancelled, previous.cancelled, str(current.cancelled), better="lower"),
        _rate("Cancellation rate", current.cancel_rate, previous.cancel_rate, better="lower"),
        _rate("No-show rate", current.no_show_rate, previous.no_show_rate, better="lower"),
        _metric("Lead time, median", current.lead(0.5), previous.lead(0.5), _hours(current.lead(0.5))),
        _metric("Utilization", utilization, None, charts.percent(utilization), better="higher"),
    ]
    service_rows = sorted(((services.get(k, str(k)), t) for k, t in by_service.items()), key=lambda x: x[0])
    staff_names = {r["id"]: r["name"] for r in staff_rows}
    staff_table = []
    for s in staff_rows:
        t = by_staff.get(s["id"], _Booked())
        staff_table.append((s["name"], t, available.get(s["id"], 0)))
    for key, t in by_staff.items():
        if key not in staff_names:
            staff_table.append((str(key), t, 0))
    tables = {
        "booking-daily": {
            "title": "Appointments per day",
            "header": ["Date", "Bookings made", "Appointments held or due", "Cancelled"],
            "rows": [[d.isoformat(), made, held, cancelled] for d, made, held, cancelled in daily],
        },
        "booking-summary": _summary(q, headline),
        "booking-by-service": {
            "title": "By service",
            "header": ["Service", "Held or due", "Cancelled", "No-shows", "No-show rate %", "Lead time median (h)"],
            "rows": [
                [name, t.held, t.cancelled, t.no_show, _round(t.no_show_rate), t.lead(0.5)] for name, t in service_rows
            ],
        },
        "booking-by-staff": {
            "title": "By staff member",
            "header": [
                "Staff",
                "Held or due",
                "Cancelled",
                "No-shows",
                "Booked hours",
                "Working hours",
                "Utilization %",
            ],
            "rows": [
                [
                    name,
                    t.held,
                    t.cancelled,
                    t.no_show,
                    round(t.booked_minutes / 60, 1),
                    round(avail / 60, 1),
                    _round(charts.ratio(t.booked_minutes, avail)),
                ]
                for name, t, avail in staff_table
            ],
        },
    }
    tables.update(coming.tables(services))
    labels = [d.strftime("%d %b") for d, *_ in daily]
    return {
        "headline": headline,
        "tables": tables,
        "coming_up": coming,
        "charts": {
            "flow": charts.line_chart(
                labels,
                {
                    "Held or due": [d[2] for d in daily],
                    "Made": [d[1] for d in daily],
                    "Cancelled": [d[3] for d in daily],
                },
            ),
            "coming": charts.line_chart(
                [day.strftime("%d %b") for day, _ in coming.days], {"Booked": [n for _, n in coming.days]}
            ),
            "utilization": charts.bar_chart(
                [name for name, _, _ in staff_table],
                [round(charts.ratio(t.booked_minutes, avail) or 0, 1) for _, t, avail in staff_table],
            ),
        },
        "previous": (p_first, p_last),
    }


# --- coming up -------------------------------------------------------------------------------------

UPCOMING_DAYS = 30
UPCOMING_LISTED = 10


@dataclass(frozen=True)
class ComingUp:
    """Booked appointments from now to the end of the viewer's 30th local day (today included)."""

    days: list[tuple[date, int]]
    by_service: dict[int, int]
    next: list[dict]
    zone: str

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)

    def tables(self, services: dict[int, str]) -> dict:
        return {
            "booking-upcoming-daily": {
                "title": "Coming up per day",
                "header": ["Date", "Booked"],
                "rows": [[day.isoformat(), n] for day, n in self.days],
            },
            "booking-upcoming-by-service": {
                "title": "Coming up by service",
                "header": ["Service", "Booked"],
                "rows": sorted(
                    ([services.get(k, str(k)), n] for k, n in self.by_service.items()), key=lambda row: row[0]
                ),
            },
            "booking-upcoming-next": {
                "title": f"Next {UPCOMING_LISTED} appointments",
                "header": [f"Time ({self.zone})", "Service", "Staff", "Customer"],
                "rows": [[a["when"], a["service"], a["staff"], a["customer"]] for a in self.next],
            },
        }


async def coming_up(zone: str, now: datetime, where: read_model.Where) -> ComingUp:
    """Two statements on the ``start_at`` index: counts per local day and service (one index range
    per day, as the series above), and the next few with their service and staff names. ``where``
    is the tab's own scope (staff, service), so an agent sees only their own."""
    today = local_today(zone, now)
    bounds = charts.day_bounds(today, today + timedelta(days=UPCOMING_DAYS - 1), zone)
    ranges = [(i, max(a, now), b) for i, (_, a, b) in enumerate(bounds)]
    counted = await read_model.booked_per_range(ranges, where)
    rows = await read_model.next_booked(now, bounds[-1][2], where, UPCOMING_LISTED)
    per_day = [0] * len(bounds)
    by_service: dict[int, int] = {}
    for i, service, n in counted:
        per_day[i] += n
        by_service[service] = by_service.get(service, 0) + n
    local = zone_info(zone)
    upcoming = [
        {
            "id": r["id"],
            "when": _local_minute(r["start_at"], local),
            "service": r["service"],
            "staff": r["staff"],
            "customer": r["customer_name"],
        }
        for r in rows
    ]
    return ComingUp([(day, per_day[i]) for i, (day, _, _) in enumerate(bounds)], by_service, upcoming, zone)


def _local_minute(value, zone: tzinfo) -> str:
    """A start read by raw SQL as the viewer's wall-clock time (sortable, as the CSV wants it)."""
    moment = instant(value)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _hours(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value} h" if value < 48 else f"{value / 24:.1f} days"


class _Booked:
    __slots__ = ("held", "cancelled", "no_show", "completed", "booked_minutes", "leads")

    def __init__(self) -> None:
        self.held = self.cancelled = self.no_show = self.completed = self.booked_minutes = 0
        self.leads: dict[int, int] = {}

    def add(self, status: str, n: int, minutes: int) -> None:
        if status == "cancelled":
            self.cancelled += n
            return
        self.held += n
        self.booked_minutes += minutes
        if status == "no_show":
            self.no_show += n
        elif status == "completed":
            self.completed += n

    def lead(self, p: float) -> int | None:
        return charts.percentile(self.leads, p)

    @property
    def cancel_rate(self) -> float | None:
        return charts.ratio(self.cancelled, self.held + self.cancelled)

    @property
    def no_show_rate(self) -> float | None:
        """No-shows among the appointments whose outcome is known (completed or no-show)."""
        return charts.ratio(self.no_show, self.no_show + self.completed)


async def _available_minutes(staff_rows: list[dict], first: date, last: date, lo: datetime, hi: datetime) -> dict:
    """Working minutes of each staff member inside [lo, hi): weekly hours, date overrides and
    holidays (the booking engine's own rules), minus time off."""
    ids = [s["id"] for s in staff_rows]
    if not ids:
        return {}
    found = await read_model.working_time(ids, first, last, lo, hi)
    weekly: dict[int, dict[int, list]] = {i: {} for i in ids}
    for r in found.weekly:
        weekly[r["staff"]].setdefault(r["weekday"], []).append(
            (time_from_minutes(r["start_minute"]), time_from_minutes(r["end_minute"]))
        )
    overrides: dict[int, dict[date, list]] = {i: {} for i in ids}
    for r in found.overrides:
        ranges = overrides[r["staff"]].setdefault(_as_date(r["day"]), [])
        if r["start_minute"] is not None:
            ranges.append((time_from_minutes(r["start_minute"]), time_from_minutes(r["end_minute"])))
    holidays = frozenset(_as_date(r["day"]) for r in found.holidays)
    time_off: dict[int, list] = {i: [] for i in ids}
    for r in found.time_off:
        time_off[r["staff"]].append((r["start_at"], r["end_at"]))
    out = {}
    for s in staff_rows:
        calendar = engine.StaffCalendar(
            staff_id=s["id"],
            zone=s["timezone"] or "UTC",
            weekly={k: tuple(v) for k, v in weekly[s["id"]].items()},
            overrides={k: tuple(v) for k, v in overrides[s["id"]].items()},
            holidays=holidays,
        )
        total = 0.0
        for _, start, end in engine.working_intervals(calendar, first, last):
            start, end = max(start, lo), min(end, hi)
            if end <= start:
                continue
            busy = sum(max(0.0, (min(end, b) - max(start, a)).total_seconds()) for a, b in time_off[s["id"]])
            total += (end - start).total_seconds() - busy
        out[s["id"]] = int(total // 60)
    return out


def _as_date(value: object) -> date:
    """A date column that is never null (an override's or a holiday's day)."""
    day = sql_day(value)
    if day is None:
        raise ValueError("a date column read as null")
    return day
