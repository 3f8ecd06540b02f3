"""Time: the one clock, and the one reader of dates, months and instants that people type.

Every date or instant that comes from a request (a query parameter, a form field, an imported
``.ics`` file) is read here and must fall in ``EARLIEST``..``LATEST``: a window wide enough for any
desk's past and plans, and narrow enough that adding a month, a week of margin or a time-zone
offset to it can never leave Python's calendar (years 1..9999). Outside it the reader raises
``Invalid`` (422) with a message, instead of an ``OverflowError`` deep in a page.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from portal.errors import Invalid

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)
WINDOW_MESSAGE = f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}."
CHOOSE_DAY = f"Choose a date (YYYY-MM-DD, between {EARLIEST:%Y} and {LATEST:%Y})."


def utcnow() -> datetime:
    """Aware UTC now: the only form of time the database stores."""
    return datetime.now(timezone.utc)


def in_window(day: date) -> bool:
    """Whether a date (or the UTC date of an instant) is one the portal accepts."""
    if isinstance(day, datetime):
        day = day.astimezone(timezone.utc).date() if day.tzinfo else day.date()
    return EARLIEST <= day <= LATEST


def _refuse(message: str, field: str | None) -> Invalid:
    return Invalid(message, errors={field: message} if field else None)


def parse_day(raw: str, *, field: str | None = None,
              message: str = "That date could not be read: use the form YYYY-MM-DD.") -> date:
    """A calendar date typed as ``YYYY-MM-DD``; ``Invalid`` (422) when unreadable or outside the window."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        raise _refuse(message, field) from None
    if not in_window(day):
        raise _refuse(WINDOW_MESSAGE, field)
    return day


def parse_month(raw: str, *, field: str | None = None,
                message: str = "That month could not be read: use the form YYYY-MM.") -> date:
    """The first day of a month typed as ``YYYY-MM`` (a full date names its month)."""
    text = (raw or "").strip()
    try:
        day = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        raise _refuse(message, field) from None
    if not in_window(day):
        raise _refuse(WINDOW_MESSAGE, field)
    return day.replace(day=1)


def parse_instant(raw: str, *, field: str | None = None,
                  message: str = "That time could not be read.") -> datetime:
    """An ISO instant with its offset (``Z`` or ``+02:00``), as aware UTC. Checked before the
    conversion: ``0001-01-01T00:00+14:00`` is a valid ISO string whose UTC value is before year 1."""
    try:
        value = datetime.fromisoformat((raw or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(message, field) from None
    if value.tzinfo is None:
        raise _refuse(message, field)
    if not EARLIEST <= value.date() <= LATEST:
        raise _refuse(WINDOW_MESSAGE, field)
    return value.astimezone(timezone.utc)


def read_day(raw: str) -> date | None:
    """``parse_day`` for callers that collect their own messages: None when unreadable or out of the window."""
    try:
        return parse_day(raw)
    except Invalid:
        return None


def read_instant(raw: str) -> datetime | None:
    """An instant the portal wrote itself (a page cursor): ISO, a missing offset meaning UTC; None
    when unreadable or outside the window, so that an edited link is refused rather than overflowing."""
    try:
        value = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc) if EARLIEST <= value.date() <= LATEST else None
