"""SLA clocks: which policy applies, due times in business hours, pauses, outcomes and warnings.

One entry point for the write paths: ``refresh(ticket_id)`` inside the transaction that changed a
ticket's status, priority, category, first response or solution. It re-reads the ticket, pauses or
resumes the resolution clock (pending = waiting on the customer, when the policy says so),
recomputes the due times from scratch (so a policy or priority change mid-ticket is exact), records
outcomes, and schedules the warning (15 min before) and breach jobs — keyed by ticket, target and
due time, so each is sent once, and a stale one (the due time moved, the target was met) does nothing.

The first-response clock does not pause: nobody has answered yet, so nobody waits on the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from portal.accounts.services import admin_addresses
from portal.clock import sql_day, utcnow
from portal.db import fetch, write_transaction
from portal.jobs import queue
from portal.settings import get_settings
from portal.tickets import business, mailing
from portal.tickets.rows import Row, aware_row
from portal.tickets.rules import DONE, UNSOLVED, Status

WARN_BEFORE = timedelta(minutes=15)
TARGETS = ("first_response", "resolution")


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    first_response: int | None  # business minutes
    resolution: int | None
    pause_when_pending: bool
    calendar: business.BusinessCalendar


def state(ticket: Row, policy: Policy | None, now: datetime) -> Row:
    """The SLA columns for ``ticket`` under ``policy`` (pure). ``ticket`` has created_at, status,
    first_response_at, solved_at, sla_paused_at, sla_paused_minutes."""
    empty = {
        "sla_policy": None,
        "first_response_due_at": None,
        "resolution_due_at": None,
        "next_due_at": None,
        "sla_paused_at": None,
        "sla_paused_minutes": ticket.get("sla_paused_minutes") or 0,
        "first_response_minutes": None,
        "resolution_minutes": None,
        "first_response_breached": None,
        "resolution_breached": None,
    }
    if policy is None:
        return empty
    cal = policy.calendar
    created, status = ticket["created_at"], ticket["status"]
    paused_at, paused = ticket.get("sla_paused_at"), ticket.get("sla_paused_minutes") or 0
    solved_at, replied_at = ticket.get("solved_at"), ticket.get("first_response_at")
    waiting = status == Status.pending and policy.pause_when_pending
    if waiting and paused_at is None:
        paused_at = now
    elif not waiting and paused_at is not None:
        paused += business.minutes_between(cal, paused_at, solved_at or now)
        paused_at = None
    out = {**empty, "sla_policy": policy.id, "sla_paused_at": paused_at, "sla_paused_minutes": paused}
    if policy.first_response is not None:
        due = business.add_minutes(cal, created, policy.first_response)
        out["first_response_due_at"] = due
        if replied_at is not None:
            out["first_response_minutes"] = business.minutes_between(cal, created, replied_at)
            out["first_response_breached"] = due is not None and replied_at > due
        elif due is not None and now >= due:
            out["first_response_breached"] = True
    if policy.resolution is not None:
        # Time spent waiting on the customer so far, including the pause still running.
        waited = paused + (business.minutes_between(cal, paused_at, now) if paused_at else 0)
        due = business.add_minutes(cal, created, policy.resolution + waited)
        out["resolution_due_at"] = due
        if solved_at is not None and status in DONE:
            out["resolution_minutes"] = max(0, business.minutes_between(cal, created, solved_at) - paused)
            out["resolution_breached"] = due is not None and solved_at > due
        elif due is not None and now >= due:
            out["resolution_breached"] = True
    if status in UNSOLVED:
        running = []
        if replied_at is None and out["first_response_due_at"]:
            running.append(out["first_response_due_at"])
        if not waiting and out["resolution_due_at"]:
            running.append(out["resolution_due_at"])
        out["next_due_at"] = min(running) if running else None
    return out


def time_left(due: datetime | None, now: datetime) -> tuple[str, str] | None:
    """("2 h 10 min left" | "overdue 35 min", tone ok|warn|danger) for queues; None without a due."""
    if due is None:
        return None
    minutes = int((due - now).total_seconds() / 60)  # toward zero: "overdue 5 min", "19 min left"
    if minutes < 0:
        return f"overdue {business.human_minutes(-minutes)}", "danger"
    return f"{business.human_minutes(minutes)} left", "warn" if minutes < 60 else "ok"


# --- loading policies and calendars -------------------------------------------------------------------


async def calendar(calendar_id: int | None) -> business.BusinessCalendar:
    """A business calendar (the default one when ``calendar_id`` is None) with the site's holidays."""
    where = "c.id = {}" if calendar_id else "c.is_default = {}"
    rows = await fetch(
        "SELECT c.timezone, h.weekday, h.start_minute, h.end_minute FROM business_calendar c "
        f"LEFT JOIN business_hours h ON h.calendar = c.id WHERE {where}",
        calendar_id if calendar_id else True,
    )
    days = [sql_day(r["day"]) for r in await fetch("SELECT day FROM holiday")]
    holidays = frozenset(day for day in days if day is not None)  # the column is not null: drops nothing
    weekly: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        if row["weekday"] is not None:
            weekly.setdefault(row["weekday"], []).append((row["start_minute"], row["end_minute"]))
    zone = rows[0]["timezone"] if rows else "UTC"
    return business.BusinessCalendar(
        zone=zone, weekly={k: tuple(sorted(v)) for k, v in weekly.items()}, holidays=holidays
    )


async def policy_for(priority: str, category: int | None) -> Policy | None:
    """The active policy for this priority: the category's own first, else the general one."""
    rows = await fetch(
        "SELECT id, name, category, calendar, first_response_minutes, resolution_minutes, "
        "pause_when_pending FROM sla_policy WHERE is_active = {} AND priority = {} "
        "AND (category IS NULL OR category = {})",
        True,
        priority,
        category or 0,
    )
    if not rows:
        return None
    row = sorted(rows, key=lambda r: r["category"] is None)[0]
    return Policy(
        id=row["id"],
        name=row["name"],
        first_response=row["first_response_minutes"],
        resolution=row["resolution_minutes"],
        pause_when_pending=bool(row["pause_when_pending"]),
        calendar=await calendar(row["calendar"]),
    )


# --- the write path ----------------------------------------------------------------------------------------

COLUMNS = (
    "sla_policy",
    "first_response_due_at",
    "resolution_due_at",
    "next_due_at",
    "sla_paused_at",
    "sla_paused_minutes",
    "first_response_minutes",
    "resolution_minutes",
    "first_response_breached",
    "resolution_breached",
)


async def refresh(ticket_id: int, now: datetime | None = None, *, schedule: bool = True) -> Row | None:
    """Recompute and store the ticket's SLA columns; schedule its warnings (unless ``schedule`` is
    false: imports and demo data of the past should not mail anyone). Call inside the write
    transaction that changed the ticket."""
    now = now or utcnow()
    rows = await fetch(
        "SELECT id, number, status, priority, category, created_at, first_response_at, solved_at, "
        "sla_paused_at, sla_paused_minutes, sla_policy, first_response_due_at, resolution_due_at "
        "FROM ticket WHERE id = {}",
        ticket_id,
    )
    if not rows:
        return None
    ticket = aware_row(rows[0])
    policy = await policy_for(ticket["priority"], ticket["category"])
    columns = state(ticket, policy, now)
    await fetch(
        "UPDATE ticket SET " + ", ".join(f"{c} = {{}}" for c in COLUMNS) + " WHERE id = {}",
        *[columns[c] for c in COLUMNS],
        ticket_id,
    )
    if schedule and ticket["status"] in UNSOLVED:
        await _schedule(ticket, columns, now)
    return columns


async def _schedule(ticket: Row, columns: Row, now: datetime) -> None:
    pending: list[tuple[str, datetime]] = []
    if ticket["first_response_at"] is None and columns["first_response_due_at"]:
        pending.append(("first_response", columns["first_response_due_at"]))
    if columns["sla_paused_at"] is None and columns["resolution_due_at"]:
        pending.append(("resolution", columns["resolution_due_at"]))
    for target, due in pending:
        stamp = due.isoformat()
        payload = {"ticket": ticket["id"], "target": target, "due": stamp}
        if due - WARN_BEFORE > now:
            await queue.enqueue(
                "sla.warn", payload, run_at=due - WARN_BEFORE, unique_key=f"sla.warn:{ticket['id']}:{target}:{stamp}"
            )
        await queue.enqueue(
            "sla.breach", payload, run_at=max(due, now), unique_key=f"sla.breach:{ticket['id']}:{target}:{stamp}"
        )


# --- warning and breach jobs ----------------------------------------------------------------------------------


async def _still_due(payload: dict[str, Any]) -> Row | None:
    """The ticket if this job's target is still running with this very due time."""
    target = payload.get("target")
    if target not in TARGETS:
        return None
    rows = await fetch(
        "SELECT t.*, a.email AS assignee_email, a.name AS assignee_name FROM ticket t "
        "LEFT JOIN portal_user a ON a.id = t.assignee WHERE t.id = {}",
        payload.get("ticket"),
    )
    if not rows:
        return None
    ticket = aware_row(rows[0])
    due = ticket[f"{target}_due_at"]
    if ticket["status"] not in UNSOLVED or due is None or due.isoformat() != payload.get("due"):
        return None
    if target == "first_response" and ticket["first_response_at"] is not None:
        return None
    if target == "resolution" and ticket["sla_paused_at"] is not None:
        return None
    ticket["due"] = due
    return ticket


async def _team_addresses(ticket: Row) -> list[str]:
    if ticket.get("assignee_email"):
        return [ticket["assignee_email"]]
    if ticket.get("team"):
        rows = await fetch(
            'SELECT u.email FROM team_member m JOIN portal_user u ON u.id = m."user" '
            "WHERE m.team = {} AND u.is_active = {}",
            ticket["team"],
            True,
        )
        if rows:
            return sorted(r["email"] for r in rows)
    return await admin_addresses()


LABELS = {"first_response": "first response", "resolution": "resolution"}


async def warn(payload: dict[str, Any]) -> None:
    async with write_transaction():
        ticket = await _still_due(payload)
        if ticket is None:
            return
        await _mail_clock(ticket, payload["target"], "sla_warning", await _team_addresses(ticket))


async def breach(payload: dict[str, Any]) -> None:
    async with write_transaction():
        ticket = await _still_due(payload)
        if ticket is None:
            return
        await fetch(f"UPDATE ticket SET {payload['target']}_breached = {{}} WHERE id = {{}}", True, ticket["id"])
        await _mail_clock(ticket, payload["target"], "sla_breach", await admin_addresses())


async def _mail_clock(ticket: Row, target: str, template: str, addresses: list[str]) -> None:
    """One SLA mail (warning or breach) about a ticket's clock to each address."""
    context = {
        "ticket": ticket,
        "target": LABELS[target],
        "due": ticket["due"],
        "link": f"{get_settings().base_url}/back/tickets/{ticket['number']}",
    }
    for address in addresses:  # threaded and signed per address: the agent may answer by mail
        await mailing.mail_about(ticket, address, template, context)
