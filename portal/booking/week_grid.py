"""Where things sit in the staff week calendar's time grid, as CSS class names.

The CSP forbids inline styles, so a block is placed with classes from a small fixed set written out in
``static/css/portal.css``: ``r-N`` (the grid row it starts in) and ``s-N`` (how many rows it spans),
in 30-minute rows from 06:00 to 22:00. Row 1 holds anything before 06:00 and the last row anything
from 22:00, so an early or late appointment is clipped into them (its own label keeps its times).
Overlapping appointments of one day sit side by side: ``l-N`` lane of ``w-N`` lanes.
"""

from __future__ import annotations

FIRST_HOUR = 6
LAST_HOUR = 22
STEP = 30
ROWS = 2 + (LAST_HOUR - FIRST_HOUR) * 60 // STEP  # 34: the early row, the half hours, the late row
MAX_LANES = 3


def _row(minute: int) -> int:
    """The row a moment (minutes after the local midnight) falls in."""
    if minute < FIRST_HOUR * 60:
        return 1
    if minute >= LAST_HOUR * 60:
        return ROWS
    return 2 + (minute - FIRST_HOUR * 60) // STEP


def place(start_minute: int, end_minute: int) -> str:
    """``r-N s-M`` for a block from ``start_minute`` to ``end_minute`` (0–1440) of one day."""
    first = _row(start_minute)
    last = _row(max(start_minute, end_minute - 1))  # the row of its last minute
    return f"r-{first} s-{last - first + 1}"


def hour_labels() -> list[tuple[str, str]]:
    """(classes, label) for the time column: the early row, every full hour, the late row."""
    labels = [(place(0, FIRST_HOUR * 60), f"Before {FIRST_HOUR:02d}:00")]
    labels += [(place(h * 60, (h + 1) * 60), f"{h:02d}:00") for h in range(FIRST_HOUR, LAST_HOUR)]
    return [*labels, (place(LAST_HOUR * 60, 1440), f"{LAST_HOUR:02d}:00 and later")]


def assign_lanes(items: list[dict]) -> int:
    """Give each item (with ``minutes``: (start, end)) a ``lane`` so overlapping ones sit side by side;
    returns how many lanes the day needs (at most MAX_LANES; more overlap in the last lane)."""
    ends: list[int] = []
    for item in sorted(items, key=lambda i: i["minutes"]):
        start, end = item["minutes"]
        lane = next((n for n, last in enumerate(ends) if last <= start), len(ends))
        lane = min(lane, MAX_LANES - 1)
        if lane == len(ends):
            ends.append(end)
        else:
            ends[lane] = max(ends[lane], end)
        item["lane"] = lane + 1
    return max(1, len(ends))


def css() -> str:
    """The placement rules, as written into static/css/portal.css (a test keeps them equal)."""
    rules = [f".r-{n} {{ grid-row-start: {n}; }}" for n in range(1, ROWS + 1)]
    rules += [f".s-{n} {{ grid-row-end: span {n}; }}" for n in range(1, ROWS + 1)]
    rules += [
        f".week-col.w-{n} {{ grid-template-columns: repeat({n}, minmax(0, 1fr)); }}" for n in range(2, MAX_LANES + 1)
    ]
    rules += [f".week-col > .l-{n} {{ grid-column: {n}; }}" for n in range(1, MAX_LANES + 1)]
    return "\n".join(rules) + "\n"
