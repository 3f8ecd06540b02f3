"""Pure ticket rules: states, what a customer may do when, and input limits. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from portal.tickets.rows import Row


class Status(StrEnum):
    """A ticket's state. A ``StrEnum``: the database, templates and query strings keep the plain
    words (``Status.on_hold == "on_hold"``), so stored rows need no migration."""

    new = "new"
    open = "open"
    pending = "pending"
    on_hold = "on_hold"
    solved = "solved"
    closed = "closed"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Channel(StrEnum):
    """How a ticket or message arrived (the ``via`` column of tickets and messages)."""

    web = "web"
    email = "email"
    api = "api"
    phone = "phone"
    system = "system"
    # Anything else an agent logs by hand (a chat, a walk-in, a letter): a ticket created from the
    # console for someone who got in touch outside the portal's own channels.
    other = "other"


STATUSES = tuple(Status)
# The one definition of "still needs work": queues, SLA clocks, agent caps, reports and the partial
# indexes (see ``status_in_sql``) all mean these four.
UNSOLVED = (Status.new, Status.open, Status.pending, Status.on_hold)
DONE = (Status.solved, Status.closed)
PRIORITIES = tuple(Priority)
CHANNELS = tuple(Channel)
# What an agent picks when creating a ticket for someone who phoned or wrote.
AGENT_CHANNELS = {Channel.phone: "Phone", Channel.email: "Email", Channel.other: "Other (chat, visit, letter…)"}
RATINGS = ("good", "bad")


def status_in_sql(column: str, statuses: Iterable[Status]) -> str:
    """``column IN ('new', 'open', …)`` with the words inlined, not bound: the partial indexes on
    unsolved tickets are only used when a query spells their predicate out. Enum values only
    (``Status(…)`` refuses anything else); one status gives ``column = 'pending'``."""
    words = [f"'{Status(status).value}'" for status in statuses]
    return f"{column} = {words[0]}" if len(words) == 1 else f"{column} IN ({', '.join(words)})"


# What a customer reads for each state (staff words like "on hold" mean nothing to them).
CUSTOMER_STATUS: dict[str, tuple[str, str]] = {
    Status.new: ("Received", "info"),
    Status.open: ("In progress", "info"),
    Status.pending: ("Awaiting your reply", "warn"),
    Status.on_hold: ("In progress", "info"),
    Status.solved: ("Solved", "ok"),
    Status.closed: ("Closed", "muted"),
}
CUSTOMER_FILTERS = {
    "open": UNSOLVED,
    "awaiting": (Status.pending,),
    "solved": DONE,
}

REOPEN_WINDOW = timedelta(days=14)
GUEST_LINK_IDLE = timedelta(days=30)
GUEST_LINK_SLIDE_AFTER = timedelta(hours=1)  # extend the expiry at most hourly (no write per view)

SUBJECT_MAX = 200
BODY_MAX = 20_000
COMMENT_MAX = 2_000
GUEST_TICKETS_PER_IP_PER_HOUR = 10
GUEST_TICKETS_PER_EMAIL_PER_HOUR = 5
# The live Markdown preview is public (guests file tickets too): for visitors who are not signed in
# it is throttled per address and shows at most 20 KB; signed-in people preview up to BODY_MAX.
GUEST_PREVIEWS_PER_IP = 120
GUEST_PREVIEW_WINDOW_SECONDS = 600
GUEST_PREVIEW_MAX_BYTES = 20 * 1024


def customer_status(status: str) -> tuple[str, str]:
    return CUSTOMER_STATUS.get(status, (status, "info"))


def can_reopen(status: str, solved_at: datetime | None, now: datetime) -> bool:
    return status == Status.solved and solved_at is not None and now - solved_at <= REOPEN_WINDOW


def can_rate(status: str) -> bool:
    """A rating can be given and changed while the ticket is solved; closing freezes it."""
    return status == Status.solved


def can_customer_solve(status: str) -> bool:
    return status in UNSOLVED


def status_after_customer_reply(status: str, solved_at: datetime | None, now: datetime) -> str | None:
    """The new status after the requester writes, or None when the reply must be refused."""
    if status == Status.closed or (status == Status.solved and not can_reopen(status, solved_at, now)):
        return None
    if status in (Status.pending, Status.solved):
        return Status.open
    return status


def is_unread(written_at: datetime | None, seen_at: datetime | None) -> bool:
    """Whether the other side's last message (staff's reply for the customer, the customer's for an
    agent) came after the reader last opened the ticket; never opened counts as unread."""
    return written_at is not None and (seen_at is None or written_at > seen_at)


def text_problem(value: str, label: str, maximum: int) -> str | None:
    if not value.strip():
        return f"Enter {label}."
    if len(value) > maximum:
        return f"{label[0].upper()}{label[1:]} can have at most {maximum:,} characters."
    if "\x00" in value:
        return f"{label[0].upper()}{label[1:]} contains characters we cannot store."
    return None


def one_line(value: str) -> str:
    """Subjects are one line: newlines and tabs become spaces."""
    return " ".join(value.split())


# --- the agent console ----------------------------------------------------------------------------

PRIORITY_RANK = {priority: rank for rank, priority in enumerate(Priority)}
STATUS_LABELS = {
    Status.new: "New",
    Status.open: "Open",
    Status.pending: "Pending",
    Status.on_hold: "On hold",
    Status.solved: "Solved",
    Status.closed: "Closed",
}
RECENTLY_SOLVED = timedelta(days=7)
# Built-in queue views: (label, what it shows). Their filters are in console.view_filters().
VIEWS = {
    "unassigned": "Unassigned",
    "mine": "Mine",
    "team": "My teams",
    "open": "All open",
    "breaching": "Breaching soon",
    "overdue": "Overdue",
    "pending": "Pending",
    "solved": "Recently solved",
}
SORTS = {"updated": "Last updated", "created": "Newest", "priority": "Priority", "due": "Due first (SLA)"}
SLA_STATES = {"overdue": "Overdue", "soon": "Due within 1 h", "running": "Running", "none": "No SLA"}
BREACHING_WITHIN = timedelta(hours=1)
TAG_MAX = 40
TAGS_PER_TICKET = 20
PLACEHOLDERS = ("customer_name", "customer_first_name", "ticket_number", "ticket_subject", "agent_name")


def status_changes(old: str, new: str, now: datetime) -> dict[str, datetime | None]:
    """The timestamps a status change sets or clears (column name -> value)."""
    changes: dict[str, datetime | None] = {}
    if new == Status.solved and old != Status.solved:
        changes["solved_at"] = now
    if new in UNSOLVED and old in DONE:
        changes["solved_at"] = None
    if new == Status.closed and old != Status.closed:
        changes["closed_at"] = now
    elif old == Status.closed and new != Status.closed:
        changes["closed_at"] = None
    return changes


def may_see(team_id: int | None, limited: bool, my_teams: frozenset[int]) -> bool:
    """An agent limited to their teams sees tickets of those teams only; others see every ticket."""
    return not limited or (team_id is not None and team_id in my_teams)


def normalize_tag(raw: str) -> str | None:
    """Tags are lower-case words joined by dashes: "Billing & Payments" -> "billing-payments"."""
    kept = "".join(c if c.isalnum() or c in "-_." else " " for c in raw.lower())
    words = [w.strip("-") for w in kept.split()]
    tag = "-".join(w for w in words if w)
    return tag[:TAG_MAX].strip("-") or None


def parse_tags(text: str) -> list[str]:
    seen: list[str] = []
    for part in text.replace(";", ",").split(","):
        tag = normalize_tag(part)
        if tag and tag not in seen:
            seen.append(tag)
    return seen


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def fill_placeholders(body: str, values: dict[str, str]) -> str:
    """Canned reply placeholders like {{customer_name}}, in one pass (a value that itself contains
    braces, like a customer's subject, stays as written); unknown ones stay as written."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        return values.get(key, "") if key in PLACEHOLDERS else match.group(0)

    return _PLACEHOLDER.sub(fill, body)


def placeholder_values(ticket: Row, agent_name: str) -> dict[str, str]:
    name = ticket["requester_name"] or ""
    return {
        "customer_name": name,
        "customer_first_name": name.split()[0] if name.split() else "",
        "ticket_number": str(ticket["number"]),
        "ticket_subject": ticket["subject"],
        "agent_name": agent_name,
    }


def next_in_rotation(candidates: list[Row], last_assigned: int | None) -> Row | None:
    """Round-robin: among available agents below their cap (``candidates``: id, available, cap,
    open), the first one after ``last_assigned`` in id order, wrapping around."""
    eligible = sorted(
        (c for c in candidates if c["available"] and (c["cap"] is None or c["open"] < c["cap"])), key=lambda c: c["id"]
    )
    if not eligible:
        return None
    if last_assigned is not None:
        for candidate in eligible:
            if candidate["id"] > last_assigned:
                return candidate
    return eligible[0]
