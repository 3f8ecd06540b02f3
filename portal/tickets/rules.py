"""Pure ticket rules: states, what a customer may do when, and input limits. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
RATINGS = ("good", "bad")

# What a customer reads for each state (staff words like "on hold" mean nothing to them).
CUSTOMER_STATUS = {
    "new": ("Received", "info"),
    "open": ("In progress", "info"),
    "pending": ("Awaiting your reply", "warn"),
    "on_hold": ("In progress", "info"),
    "solved": ("Solved", "ok"),
    "closed": ("Closed", "muted"),
}
CUSTOMER_FILTERS = {
    "open": ("new", "open", "pending", "on_hold"),
    "awaiting": ("pending",),
    "solved": ("solved", "closed"),
}

REOPEN_WINDOW = timedelta(days=14)
GUEST_LINK_IDLE = timedelta(days=30)
GUEST_LINK_SLIDE_AFTER = timedelta(hours=1)  # extend the expiry at most hourly (no write per view)

SUBJECT_MAX = 200
BODY_MAX = 20_000
COMMENT_MAX = 2_000
GUEST_TICKETS_PER_IP_PER_HOUR = 10
GUEST_TICKETS_PER_EMAIL_PER_HOUR = 5


def customer_status(status: str) -> tuple[str, str]:
    return CUSTOMER_STATUS.get(status, (status, "info"))


def can_reopen(status: str, solved_at: datetime | None, now: datetime) -> bool:
    return status == "solved" and solved_at is not None and now - solved_at <= REOPEN_WINDOW


def can_rate(status: str) -> bool:
    """A rating can be given and changed while the ticket is solved; closing freezes it."""
    return status == "solved"


def can_customer_solve(status: str) -> bool:
    return status in ("new", "open", "pending", "on_hold")


def status_after_customer_reply(status: str, solved_at: datetime | None, now: datetime) -> str | None:
    """The new status after the requester writes, or None when the reply must be refused."""
    if status == "closed" or (status == "solved" and not can_reopen(status, solved_at, now)):
        return None
    if status in ("pending", "solved"):
        return "open"
    return status


def is_unread(staff_replied_at: datetime | None, customer_seen_at: datetime | None) -> bool:
    return staff_replied_at is not None and (customer_seen_at is None or staff_replied_at > customer_seen_at)


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
