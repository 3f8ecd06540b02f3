"""Pure availability engine: which start instants can be booked. No database, no clock, no I/O.

Inputs are one service's rules and one staff member's calendar; the answer is the list of bookable
start instants in UTC. Working hours are local wall-clock ranges in the staff member's IANA zone and
are converted with ``zoneinfo`` for each local date, so days with a DST change have 23 or 25 hours.

Conventions on DST days (documented because wall time is then not a line):

* Grid: a start is on the grid when its *wall time* is a multiple of ``step`` after local midnight.
  A wall time that occurs twice (fall back) gives two candidate instants; a wall time that does not
  exist (spring forward) gives none: it is never shifted to a neighbouring instant.
* Range endpoints: a wall time ``x`` of a range becomes the first instant of that local date at
  which the clock shows ``x`` or later. For a repeated wall time that is its first occurrence; for a
  skipped one it is the moment the clocks jump. ``time(0, 0)`` as an end means the next local
  midnight (24:00).

A day whose two midnights are 24 hours apart has one UTC offset throughout, so its grid is an
arithmetic progression in UTC; other days are cut where the offset changes (found by bisection).
A change and its reversal within the same local day would go unnoticed; no zone does that.

Speed: everything inside runs on integer microseconds since the epoch. Time off and bookings are
converted, sorted and merged once; each working range is then walked against them (bisection to
the first candidate blocker, whole free stretches emitted at once, blocked stretches jumped).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import accumulate
from zoneinfo import ZoneInfo

__all__ = [
    "Blocker",
    "Booking",
    "Refusal",
    "ServiceRules",
    "Slot",
    "StaffCalendar",
    "choose_staff",
    "describe",
    "explain",
    "free_slots",
    "refusal",
    "working_intervals",
]

UTC = UTC
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_DAY_US = 86_400_000_000
_MIDNIGHT = time(0, 0)
_new = object.__new__
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ServiceRules:
    service_id: int
    duration: timedelta
    step: timedelta  # start grid, anchored at LOCAL MIDNIGHT of the staff member's day
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=60)
    capacity: int = 1  # >1: group session; several customers share one start


@dataclass(frozen=True)
class Booking:
    """An existing appointment of this staff member (any service)."""

    start: datetime  # aware UTC
    end: datetime  # aware UTC (without buffers)
    service_id: int
    buffer_before: timedelta = timedelta(0)  # that appointment's own service buffers
    buffer_after: timedelta = timedelta(0)
    seats: int = 1  # customers booked at this start (group sessions)
    id: int | None = None


def quick_booking(
    start: datetime,
    end: datetime,
    service_id: int,
    buffer_before: timedelta,
    buffer_after: timedelta,
    seats: int,
    id: int | None,
) -> Booking:
    """The same Booking without the frozen dataclass __init__ (a month has thousands of them)."""
    booking = _new(Booking)
    booking.__dict__.update(
        start=start,
        end=end,
        service_id=service_id,
        buffer_before=buffer_before,
        buffer_after=buffer_after,
        seats=seats,
        id=id,
    )
    return booking


@dataclass(frozen=True)
class StaffCalendar:
    staff_id: int
    zone: str  # IANA name, e.g. "Europe/Paris"
    weekly: dict[int, tuple[tuple[time, time], ...]]  # weekday (0=Mon) -> local ranges; end time(0, 0) = 24:00
    overrides: dict[date, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # () = closed that day
    holidays: frozenset[date] = frozenset()  # site-wide closed LOCAL dates
    time_off: tuple[tuple[datetime, datetime], ...] = ()  # UTC intervals
    bookings: tuple[Booking, ...] = ()


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC
    staff_id: int
    seats_left: int


# --- time helpers -------------------------------------------------------------------------------


def _us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    try:
        return (moment - _EPOCH) // _US
    except TypeError:
        raise ValueError(f"availability needs aware datetimes, got {moment!r}") from None


def _td_us(delta: timedelta) -> int:
    return delta // _US


def _utc(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _wall(zone: ZoneInfo, us: int) -> datetime:
    """The naive local wall time of an instant."""
    return _utc(us).astimezone(zone).replace(tzinfo=None)


def _first_at_or_after(zone: ZoneInfo, wall: datetime) -> int:
    """The first instant at which the local clock shows ``wall`` or later (the jump, inside a gap)."""
    first = _us(wall.replace(tzinfo=zone, fold=0))
    second = _us(wall.replace(tzinfo=zone, fold=1))
    if first == second:
        return first
    found = [u for u in (first, second) if _wall(zone, u) == wall]
    if found:
        return min(found)
    # A skipped wall time: the clocks jump somewhere between the two readings. Binary search for it.
    lo, hi = min(first, second), max(first, second)
    if _wall(zone, lo) >= wall or _wall(zone, hi) < wall:  # pragma: no cover - zoneinfo guarantees this
        return max(first, second)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(zone, mid) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _clean_ranges(ranges: Iterable[tuple[time, time]]) -> list[tuple[time, time | None]]:
    """Valid ranges of one day in order; an end of ``None`` means 24:00. Inverted/empty ones are dropped."""
    out: list[tuple[time, time | None]] = []
    for start, end in ranges:
        if end == _MIDNIGHT:
            out.append((start, None))
        elif end > start:
            out.append((start, end))
    return sorted(out, key=lambda r: (r[0], r[1] is None, r[1] or _MIDNIGHT))


def _ranges_of_day(staff: StaffCalendar, day: date) -> list[tuple[time, time | None]]:
    ranges = staff.overrides[day] if day in staff.overrides else staff.weekly.get(day.weekday(), ())
    return _clean_ranges(ranges)


def _ranges_utc(zone: ZoneInfo, day: date, ranges: list[tuple[time, time | None]]) -> list[tuple[int, int]]:
    """Local ranges of ``day`` as half-open UTC microsecond intervals (empty ones dropped)."""
    out = []
    for start, end in ranges:
        lo = _first_at_or_after(zone, datetime.combine(day, start))
        hi = _first_at_or_after(
            zone, datetime.combine(day + _DAY, _MIDNIGHT) if end is None else datetime.combine(day, end)
        )
        if hi > lo:
            out.append((lo, hi))
    return out


def _check_rules(rules: ServiceRules) -> None:
    if rules.duration <= timedelta(0):
        raise ValueError("duration must be positive")
    if rules.step <= timedelta(0):
        raise ValueError("step must be positive")
    if rules.buffer_before < timedelta(0) or rules.buffer_after < timedelta(0):
        raise ValueError("buffers cannot be negative")
    if rules.capacity < 1:
        raise ValueError("capacity must be at least 1")


# --- blockers -----------------------------------------------------------------------------------


class _Blockers:
    """Time off and bookings, converted and sorted once.

    ``hard`` intervals block every start: merged into disjoint, sorted intervals. ``soft`` intervals
    are bookings of a group session of this very service (capacity > 1): they block every start but
    their own, where they take seats instead (``seats``).
    """

    def __init__(self, rules: ServiceRules, staff: StaffCalendar):
        group = rules.capacity > 1
        hard: list[tuple[int, int]] = []
        soft: list[tuple[int, int, int]] = []
        self.seats: dict[int, int] = {}
        for off_start, off_end in staff.time_off:
            lo, hi = _us(off_start), _us(off_end)
            if hi > lo:
                hard.append((lo, hi))
        for booking in staff.bookings:
            start = _us(booking.start)
            lo = start - _td_us(booking.buffer_before)
            hi = _us(booking.end) + _td_us(booking.buffer_after)
            if group and booking.service_id == rules.service_id:
                self.seats[start] = self.seats.get(start, 0) + booking.seats
                if hi > lo:
                    soft.append((lo, hi, start))
            elif hi > lo:
                hard.append((lo, hi))
        hard.sort()
        self.hard_lo: list[int] = []
        self.hard_hi: list[int] = []
        for lo, hi in hard:
            if self.hard_hi and lo <= self.hard_hi[-1]:
                if hi > self.hard_hi[-1]:
                    self.hard_hi[-1] = hi
            else:
                self.hard_lo.append(lo)
                self.hard_hi.append(hi)
        soft.sort()
        self.soft_lo = [s[0] for s in soft]
        self.soft_hi = [s[1] for s in soft]
        self.soft_start = [s[2] for s in soft]
        self.soft_reach = list(accumulate(self.soft_hi, max))  # running maximum: ends the scan early

    def soft_blocked(self, lo: int, hi: int, start: int) -> bool:
        """Does [lo, hi) overlap a group booking that does not start at ``start``?"""
        j = bisect_left(self.soft_lo, hi) - 1
        reach, ends, starts = self.soft_reach, self.soft_hi, self.soft_start
        while j >= 0 and reach[j] > lo:
            if ends[j] > lo and starts[j] != start:
                return True
            j -= 1
        return False


# --- the engine ---------------------------------------------------------------------------------


def free_slots(
    rules: ServiceRules, staff: StaffCalendar, window_start: datetime, window_end: datetime, now: datetime
) -> list[Slot]:
    """Bookable starts in [window_start, window_end), sorted, as UTC slots of this staff member."""
    _check_rules(rules)
    blockers = _Blockers(rules, staff)
    slots = _SlotMaker(rules, staff.staff_id, blockers.seats)
    for day_start, found in _starts_by_day(rules, staff, blockers, window_start, window_end, now):
        slots.add_day(found, day_start)
    return slots.slots


def free_start_instants(
    rules: ServiceRules, staff: StaffCalendar, window_start: datetime, window_end: datetime, now: datetime
) -> list[int]:
    """The same starts as ``free_slots``, as microseconds since the epoch (UTC): for callers that
    only count or group them (the month grid), which then skip building thousands of objects."""
    _check_rules(rules)
    blockers = _Blockers(rules, staff)
    starts: list[int] = []
    for _, found in _starts_by_day(rules, staff, blockers, window_start, window_end, now):
        starts.extend(found)
    return starts


def instant(us: int) -> datetime:
    """A UTC datetime from ``free_start_instants``' microseconds."""
    return _utc(us)


def _starts_by_day(
    rules: ServiceRules,
    staff: StaffCalendar,
    blockers: _Blockers,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
) -> Iterator[tuple[int, list[int]]]:
    """(local day's first instant, that day's free starts ascending) for each local day in the window."""
    now_us = _us(now)
    lo = max(_us(window_start), now_us + _td_us(rules.min_notice))
    hi = min(_us(window_end) - 1, now_us + _td_us(rules.horizon))  # inclusive
    if lo > hi:
        return
    zone = ZoneInfo(staff.zone)
    step = _td_us(rules.step)
    before = _td_us(rules.buffer_before)
    tail = _td_us(rules.duration) + _td_us(rules.buffer_after)  # start -> end of the reserved interval
    capacity = rules.capacity

    day = _wall(zone, lo).date() - _DAY  # one day of margin each side: local dates are not UTC dates
    last = _wall(zone, hi).date() + _DAY
    day_start, regular = _midnight(zone, datetime.combine(day, _MIDNIGHT))
    while day <= last:
        next_day = day + _DAY
        naive_end = datetime.combine(next_day, _MIDNIGHT)
        day_end, regular_end = _midnight(zone, naive_end)
        ranges = () if day in staff.holidays else _ranges_of_day(staff, day)
        if ranges:
            naive_start_us = _naive_us(naive_end) - _DAY_US  # local midnight's wall time read as if UTC
            if regular and regular_end and day_end - day_start == _DAY_US:
                # An ordinary day: one UTC offset throughout, so wall time = instant + offset.
                pieces = [(day_start, day_end, naive_start_us - day_start)]
                spans = [
                    (day_start + _time_us(a), day_end if b is None else day_start + _time_us(b)) for a, b in ranges
                ]
            else:  # the clocks change today: split the day where the offset changes
                pieces = _pieces(zone, day_start, day_end)
                spans = _ranges_utc(zone, day, ranges)
            found: list[int] = []
            for r_lo, r_hi in spans:
                for p_lo, p_hi, offset in pieces:
                    first = max(r_lo + before, lo, p_lo)
                    final = min(r_hi - tail, hi, p_hi - 1)
                    if first > final:
                        continue
                    # Grid: the wall time (instant + offset) is a whole number of steps after midnight.
                    anchor = naive_start_us - offset
                    s = anchor - (anchor - first) // step * step  # first grid instant >= first
                    found.extend(_free_run(blockers, s, final, step, before, tail))
            if len(spans) > 1 or len(pieces) > 1:
                found = sorted(set(found))
            if capacity > 1:  # group sessions: other starts of this service block; full starts are gone
                found = [
                    s
                    for s in found
                    if blockers.seats.get(s, 0) < capacity and not blockers.soft_blocked(s - before, s + tail, s)
                ]
            if found:
                yield day_start, found
        day, day_start, regular = next_day, day_end, regular_end


def _naive_us(wall: datetime) -> int:
    return _us(wall.replace(tzinfo=UTC))


def _midnight(zone: ZoneInfo, wall: datetime) -> tuple[int, bool]:
    """Where a local day starts (see _first_at_or_after), and whether that wall time is ordinary."""
    first = _us(wall.replace(tzinfo=zone, fold=0))
    if first == _us(wall.replace(tzinfo=zone, fold=1)):
        return first, True
    return _first_at_or_after(zone, wall), False


def _offset_us(zone: ZoneInfo, us: int) -> int:
    return _td_us(_utc(us).astimezone(zone).utcoffset() or timedelta(0))  # never None in a ZoneInfo


def _pieces(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[lo, hi) cut where the UTC offset changes: (start, end, offset) pieces, found by bisection."""
    pieces = []
    offset, offset_hi = _offset_us(zone, lo), _offset_us(zone, hi - 1)
    while offset != offset_hi:
        a, b = lo, hi - 1  # offset(a) == offset, offset(b) != offset
        while b - a > 1:
            mid = (a + b) // 2
            if _offset_us(zone, mid) == offset:
                a = mid
            else:
                b = mid
        pieces.append((lo, b, offset))
        lo, offset = b, _offset_us(zone, b)
    pieces.append((lo, hi, offset))
    return pieces


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _free_run(blockers: _Blockers, s: int, final: int, step: int, before: int, tail: int) -> list[int]:
    """Grid starts s, s + step, ... <= final whose reserved interval misses every hard blocker.

    Walks the merged blockers once: free stretches become whole ``range``s, blocked ones are jumped.
    """
    out: list[int] = []
    lows, highs = blockers.hard_lo, blockers.hard_hi
    n = len(lows)
    j = bisect_right(highs, s - before)  # the first blocker ending after the reserved interval starts
    while s <= final:
        while j < n and highs[j] <= s - before:
            j += 1
        if j < n and lows[j] < s + tail:  # blocked: jump to the first grid start after blocker j
            s += -((s - before - highs[j]) // step) * step
            continue
        end = final if j == n else min(final, lows[j] - tail)
        run = range(s, end + 1, step)
        out.extend(run)
        s += len(run) * step
    return out


class _SlotMaker:
    """Builds the Slot list. Slots are made without the frozen dataclass __init__ (identical result,
    several times cheaper, and it is most of the time of a month's search); datetimes come from a
    per-day base plus a cached offset, as building a timedelta from microseconds is slow too."""

    def __init__(self, rules: ServiceRules, staff_id: int, seats: dict[int, int]):
        self.slots: list[Slot] = []
        self.duration = rules.duration
        self.capacity = rules.capacity
        self.staff_id = staff_id
        self.seats = seats
        self.offsets: dict[int, timedelta] = {}

    def add_day(self, starts: list[int], day_start: int) -> None:
        """One local day's starts, ascending and unique (days come in order, so the list stays sorted)."""
        if not starts:
            return
        base = _utc(day_start)
        offsets, seats, capacity, staff_id = self.offsets, self.seats, self.capacity, self.staff_id
        duration = self.duration
        append = self.slots.append
        for s in starts:
            delta = s - day_start
            offset = offsets.get(delta)
            if offset is None:
                offset = offsets[delta] = timedelta(microseconds=delta)
            start = base + offset
            slot = _new(Slot)
            fields = slot.__dict__
            fields["start"] = start
            fields["end"] = start + duration
            fields["staff_id"] = staff_id
            fields["seats_left"] = capacity - seats.get(s, 0) if capacity > 1 else 1
            append(slot)


class Blocker(StrEnum):
    """Which rule keeps a start from being bookable (the first failing one, in this order)."""

    min_notice = "min_notice"
    horizon = "horizon"
    holiday = "holiday"
    not_working_day = "not_working_day"
    outside_hours = "outside_hours"
    off_grid = "off_grid"
    time_off = "time_off"
    overlap = "overlap"
    full = "full"


# Another booking holds the time: the caller offers the nearest free times (409). Every other
# blocker is a rule of the service or the calendar, which no other time of the request fixes (422).
TAKEN = frozenset({Blocker.overlap, Blocker.full})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a start cannot be booked, as data; ``describe`` (or ``str``) words it."""

    blocker: Blocker
    day: date | None = None  # holiday, not a working day (the staff member's local date)
    limit: timedelta | None = None  # min notice, horizon; the grid step when off the grid
    local: tuple[datetime, ...] = ()  # wall times: start, end[, buffered start, buffered end]
    hours: tuple[tuple[time, time | None], ...] = ()  # the day's working hours (outside hours)
    zone: str = ""
    appointment_id: int | None = None  # the overlapping appointment, when it has an id
    seats: tuple[int, int] = (0, 0)  # taken, capacity (a full group session)

    @property
    def taken(self) -> bool:
        return self.blocker in TAKEN

    def __str__(self) -> str:
        return describe(self)


def describe(refusal: Refusal) -> str:
    """The refusal in plain words, as shown to staff and customers ("That time cannot be booked: …")."""
    kind, limit, day = refusal.blocker, refusal.limit or timedelta(0), refusal.day or date.min
    if kind is Blocker.min_notice:
        return f"it starts less than {_human(limit)} from now (minimum notice)"
    if kind is Blocker.horizon:
        return f"it is more than {_human(limit)} ahead (booking horizon)"
    if kind is Blocker.holiday:
        return f"{day.isoformat()} is a holiday"
    if kind is Blocker.not_working_day:
        return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()} is not a working day"
    if kind is Blocker.outside_hours:
        what = f"{refusal.local[0]:%H:%M}–{refusal.local[1]:%H:%M}"
        if len(refusal.local) == 4:
            what += f" with its buffers ({refusal.local[2]:%H:%M}–{refusal.local[3]:%H:%M})"
        hours = ", ".join(f"{a:%H:%M}–{'24:00' if b is None else format(b, '%H:%M')}" for a, b in refusal.hours)
        return f"{what} is outside working hours ({hours} {refusal.zone})"
    if kind is Blocker.off_grid:
        return f"{refusal.local[0]:%H:%M} is not a valid start: starts must be on the {_human_step(limit)} grid"
    if kind is Blocker.time_off:
        return "the staff member is away then (time off)"
    if kind is Blocker.overlap:
        return (
            f"it overlaps appointment #{refusal.appointment_id}"
            if refusal.appointment_id is not None
            else "it overlaps another appointment"
        )
    taken, capacity = refusal.seats
    return f"the group session is full ({taken} of {capacity} seats taken)"


def explain(rules: ServiceRules, staff: StaffCalendar, start: datetime, now: datetime) -> str | None:
    """None when ``start`` can be booked, else why not: the first failing rule, in plain words."""
    why = refusal(rules, staff, start, now)
    return None if why is None else describe(why)


def refusal(rules: ServiceRules, staff: StaffCalendar, start: datetime, now: datetime) -> Refusal | None:
    """None when ``start`` can be booked, else the first failing rule as a ``Refusal``."""
    _check_rules(rules)
    zone = ZoneInfo(staff.zone)
    s = _us(start)
    now_us = _us(now)
    if s < now_us + _td_us(rules.min_notice):
        return Refusal(Blocker.min_notice, limit=rules.min_notice)
    if s > now_us + _td_us(rules.horizon):
        return Refusal(Blocker.horizon, limit=rules.horizon)
    local = _wall(zone, s)
    day = local.date()
    if day in staff.holidays:
        return Refusal(Blocker.holiday, day=day)
    ranges = _ranges_of_day(staff, day)
    spans = _ranges_utc(zone, day, ranges)
    if not spans:
        return Refusal(Blocker.not_working_day, day=day)
    lo = s - _td_us(rules.buffer_before)
    hi = s + _td_us(rules.duration) + _td_us(rules.buffer_after)
    if not any(r_lo <= lo and hi <= r_hi for r_lo, r_hi in spans):
        walls: tuple[datetime, ...] = (local, _wall(zone, s + _td_us(rules.duration)))
        if rules.buffer_before or rules.buffer_after:
            walls += (_wall(zone, lo), _wall(zone, hi))
        return Refusal(Blocker.outside_hours, local=walls, hours=tuple(ranges), zone=staff.zone)
    if (local - datetime.combine(day, _MIDNIGHT)) % rules.step:
        return Refusal(Blocker.off_grid, local=(local,), limit=rules.step)
    for off_start, off_end in staff.time_off:
        o_lo, o_hi = _us(off_start), _us(off_end)
        if o_lo < o_hi and o_lo < hi and lo < o_hi:
            return Refusal(Blocker.time_off)
    group = rules.capacity > 1
    taken = 0
    for booking in sorted(staff.bookings, key=lambda b: (_us(b.start), b.id is None, b.id or 0)):
        b_start = _us(booking.start)
        if group and booking.service_id == rules.service_id and b_start == s:
            taken += booking.seats
            continue
        b_lo = b_start - _td_us(booking.buffer_before)
        b_hi = _us(booking.end) + _td_us(booking.buffer_after)
        if b_lo < b_hi and b_lo < hi and lo < b_hi:
            return Refusal(Blocker.overlap, appointment_id=booking.id)
    if group and taken >= rules.capacity:
        return Refusal(Blocker.full, seats=(taken, rules.capacity))
    return None


def working_intervals(staff: StaffCalendar, first_day: date, last_day: date) -> list[tuple[date, datetime, datetime]]:
    """The staff member's working hours on their local dates first_day..last_day (inclusive), as
    (local date, UTC start, UTC end): overrides replace the weekly ranges, holidays close the day.
    Time off and bookings are not subtracted (the staff calendar shows them on their own)."""
    zone = ZoneInfo(staff.zone)
    out = []
    day = first_day
    while day <= last_day:
        if day not in staff.holidays:
            for lo, hi in _ranges_utc(zone, day, _ranges_of_day(staff, day)):
                out.append((day, _utc(lo), _utc(hi)))
        day += _DAY
    return out


def choose_staff(free_staff: list[int], bookings_that_day: dict[int, int], bookings_recently: dict[int, int]) -> int:
    """For "anyone available": fewest bookings that day, then fewest recently, then lowest id."""
    if not free_staff:
        raise ValueError("choose_staff needs at least one free staff member")
    return min(free_staff, key=lambda s: (bookings_that_day.get(s, 0), bookings_recently.get(s, 0), s))


# --- wording ------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _human(delta: timedelta) -> str:
    """2 hours, 1 day 6 hours, 45 minutes, 0 minutes."""
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    days, rest = divmod(abs(minutes), 1440)
    hours, minutes = divmod(rest, 60)
    parts = [_plural(n, w) for n, w in ((days, "day"), (hours, "hour"), (minutes, "minute")) if n]
    return sign + (" ".join(parts) if parts else "0 minutes")


def _human_step(step: timedelta) -> str:
    seconds = step.total_seconds()
    if seconds % 60 == 0:
        return f"{int(seconds // 60)}-minute"
    return f"{seconds:g}-second"
