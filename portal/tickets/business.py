"""Business time: working hours in a time zone, closed on holidays (pure; no I/O).

A calendar is weekly ranges of local minutes per weekday (several per day allowed) plus holiday
dates. Every computation walks local days and converts each range to UTC with zoneinfo, so a day
with a clock change has 7 or 9 working hours if its range spans the change, as the wall clock
says. Instants are aware datetimes; results are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.clock import format_duration, local_instant

UTC = UTC
DAY = timedelta(days=1)
SEARCH_DAYS = 3 * 366  # a calendar with no hours at all must not loop forever


@dataclass(frozen=True)
class BusinessCalendar:
    zone: str = "UTC"
    weekly: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # 0 = Monday
    holidays: frozenset[date] = frozenset()

    @property
    def has_hours(self) -> bool:
        return any(end > start for ranges in self.weekly.values() for start, end in ranges)


def day_intervals(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The working intervals of one local date, in UTC, in order (none on a holiday)."""
    if day in calendar.holidays:
        return []
    zone = ZoneInfo(calendar.zone)
    out = []
    for start, end in sorted(calendar.weekly.get(day.weekday(), ())):
        lo, hi = local_instant(day, start, zone), local_instant(day, end, zone)
        if hi > lo:
            out.append((lo, hi))
    return out


def intervals(calendar: BusinessCalendar, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals clipped to [start, end), in order."""
    if end <= start:
        return
    zone = ZoneInfo(calendar.zone)
    day = start.astimezone(zone).date() - DAY
    last = end.astimezone(zone).date() + DAY
    while day <= last:
        for lo, hi in day_intervals(calendar, day):
            lo, hi = max(lo, start), min(hi, end)
            if hi > lo:
                yield lo, hi
        day += DAY


def minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Whole business minutes from ``start`` to ``end`` (0 when end is not after start)."""
    total = sum((hi - lo for lo, hi in intervals(calendar, start, end)), timedelta(0))
    return total // timedelta(minutes=1)  # exact: timedeltas, not float seconds


def add_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime | None:
    """The instant when ``minutes`` business minutes have passed since ``start`` (None when the
    calendar has no working hours within three years)."""
    if minutes <= 0:
        return start.astimezone(UTC)
    if not calendar.has_hours:
        return None
    remaining = timedelta(minutes=minutes)
    zone = ZoneInfo(calendar.zone)
    day = start.astimezone(zone).date() - DAY
    for _ in range(SEARCH_DAYS):
        for lo, hi in day_intervals(calendar, day):
            lo = max(lo, start)
            if hi <= lo:
                continue
            if hi - lo >= remaining:
                return lo + remaining
            remaining -= hi - lo
        day += DAY
    return None


def is_open(calendar: BusinessCalendar, instant: datetime) -> bool:
    zone = ZoneInfo(calendar.zone)
    day = instant.astimezone(zone).date()
    return any(lo <= instant < hi for d in (day - DAY, day) for lo, hi in day_intervals(calendar, d))


def parse_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """ "09:00-12:00, 13:00-17:30" -> ((540, 720), (780, 1050)); "" -> (). ValueError with a message
    people understand on anything else (bad times, inverted or overlapping ranges)."""
    ranges = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().replace("–", "-")
        if not part:
            continue
        if part.count("-") != 1:
            raise ValueError(f"“{part}” is not a range like 09:00-17:00.")
        lo, hi = (_minute(p.strip()) for p in part.split("-"))
        if hi == 0:
            hi = 1440
        if hi <= lo:
            raise ValueError(f"“{part}” ends before it starts.")
        ranges.append((lo, hi))
    ranges.sort()
    for (a_lo, a_hi), (b_lo, b_hi) in zip(ranges, ranges[1:]):
        if b_lo < a_hi:
            raise ValueError(f"{format_range((a_lo, a_hi))} and {format_range((b_lo, b_hi))} overlap.")
    return tuple(ranges)


def _minute(text: str) -> int:
    parts = text.split(":")
    if len(parts) != 2 or not all(p.isascii() and p.isdecimal() for p in parts):
        raise ValueError(f"“{text}” is not a time like 09:30.")
    hours, minutes = int(parts[0]), int(parts[1])
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise ValueError(f"“{text}” is not a time of day.")
    return hours * 60 + minutes


def format_range(value: tuple[int, int]) -> str:
    lo, hi = value
    return f"{lo // 60:02d}:{lo % 60:02d}-{hi // 60:02d}:{hi % 60:02d}"


def human_minutes(minutes: int) -> str:
    """90 -> "1 h 30 min", 2880 -> "48 h" (business time reads best in hours); always positive."""
    return format_duration(abs(int(minutes)))
