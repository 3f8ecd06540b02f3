"""Weekly hours as rows of time pickers (``<input type="time">``), for every form that edits them
(a staff member's working hours, an SLA calendar's business hours). Pure: fields in, rows out.

Fields are ``w<weekday>_<row>_start`` / ``w<weekday>_<row>_end`` holding ``HH:MM``; an end of
``00:00`` means the midnight that ends the day. Each day shows its ranges plus a blank row to add one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

MAX_ROWS = 8  # ranges a day can hold in the form
Rows = dict[int, list[tuple[str, str]]]


def hhmm(minutes: int) -> str:
    """Minutes from midnight as a time input's value (the midnight that ends a day is ``00:00``)."""
    minutes = 0 if minutes >= 1440 else minutes
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _padded(ranges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return ranges + [("", "")] * max(1, 2 - len(ranges))


def saved_rows(weekly: Mapping[int, Sequence[tuple[int, int]]]) -> Rows:
    """Stored ranges (minutes) as the time inputs show them, plus blank rows to add one."""
    return {day: _padded([(hhmm(a), hhmm(b)) for a, b in weekly.get(day, [])]) for day in range(7)}


def posted_rows(get: Callable[[str], str]) -> Rows:
    """The rows as posted (to show them again, with their messages, when something is wrong)."""
    rows = {}
    for day in range(7):
        ranges = [(get(f"w{day}_{r}_start").strip(), get(f"w{day}_{r}_end").strip()) for r in range(MAX_ROWS)]
        rows[day] = _padded([r for r in ranges if r != ("", "")])
    return rows


def rows_text(rows: Rows) -> dict[int, str]:
    """Each day's posted rows as ``"09:00-12:00, 13:00-17:00"`` (a half-filled row stays visible as
    ``"09:00-"``, so that the range reader says what is missing)."""
    return {day: ", ".join(f"{a}-{b}" for a, b in ranges if a or b) for day, ranges in rows.items()}
