"""Property tests: free_slots against a deliberately simple brute-force re-derivation of every rule.

The checker below shares no code with the engine: it walks every grid wall time of every local day
with both folds, converts with zoneinfo, and tests each rule on datetimes directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.booking.availability import (
    Booking,
    ServiceRules,
    StaffCalendar,
    choose_staff,
    explain,
    free_slots,
    free_start_instants,
    instant,
)

UTC = UTC
ONE_DAY = timedelta(days=1)
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- the brute-force checker ----------------------------------------------------------------


def wall_of(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def instants_showing(wall: datetime, zone: ZoneInfo) -> set[datetime]:
    """All UTC instants at which the local clock shows ``wall`` (0, 1 or 2 of them)."""
    found = set()
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if wall_of(moment, zone) == wall:
            found.add(moment)
    return found


def first_showing_at_least(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose wall time is ``wall`` or later: the documented range-endpoint rule."""
    exact = instants_showing(wall, zone)
    if exact:
        return min(exact)
    moment = min(wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    while wall_of(moment, zone) < wall:  # inside a gap: walk to the jump, minute by minute
        moment += timedelta(minutes=1)
    return moment


def day_ranges(cal: StaffCalendar, day: date) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(cal.zone)
    ranges = cal.overrides[day] if day in cal.overrides else cal.weekly.get(day.weekday(), ())
    out = []
    for a, b in ranges:
        if b == time(0, 0):
            end = datetime.combine(day + ONE_DAY, time(0, 0))
        elif b > a:
            end = datetime.combine(day, b)
        else:
            continue
        out.append((first_showing_at_least(datetime.combine(day, a), zone), first_showing_at_least(end, zone)))
    return out


def brute_force_ok(
    rules: ServiceRules, cal: StaffCalendar, start: datetime, now: datetime, ranges_cache: dict | None = None
) -> bool:
    """Every rule but the window, re-derived for one start."""
    zone = ZoneInfo(cal.zone)
    wall = wall_of(start, zone)
    day = wall.date()
    lo, hi = start - rules.buffer_before, start + rules.duration + rules.buffer_after
    if start < now + rules.min_notice or start > now + rules.horizon:
        return False
    if day in cal.holidays:
        return False
    ranges = ranges_cache.get(day) if ranges_cache is not None else None
    if ranges is None:
        ranges = day_ranges(cal, day)
        if ranges_cache is not None:
            ranges_cache[day] = ranges
    if not any(r_lo <= lo and hi <= r_hi for r_lo, r_hi in ranges):
        return False
    if (wall - datetime.combine(day, time(0, 0))) % rules.step != timedelta(0):
        return False
    if any(a < b and a < hi and lo < b for a, b in cal.time_off):
        return False
    seats = 0
    for b in cal.bookings:
        if rules.capacity > 1 and b.service_id == rules.service_id and b.start == start:
            seats += b.seats
            continue
        b_lo, b_hi = b.start - b.buffer_before, b.end + b.buffer_after
        if b_lo < b_hi and b_lo < hi and lo < b_hi:
            return False
    return rules.capacity == 1 or seats < rules.capacity


def grid_instants(rules: ServiceRules, cal: StaffCalendar, window_start: datetime, window_end: datetime):
    """Every wall time k * step after each local midnight, both folds, as UTC instants in the window."""
    zone = ZoneInfo(cal.zone)
    day = wall_of(window_start, zone).date()
    last = wall_of(window_end, zone).date()
    found = set()
    while day <= last:
        offset = timedelta(0)
        while offset < ONE_DAY:
            for moment in instants_showing(datetime.combine(day, time(0, 0)) + offset, zone):
                if window_start <= moment < window_end:
                    found.add(moment)
            offset += rules.step
        day += ONE_DAY
    return found


# --- strategies -----------------------------------------------------------------------------

# Each zone with the local dates of its 2026 clock changes (none for zones without DST).
ZONE_CHANGES = {
    "UTC": [],
    "Asia/Kolkata": [],
    "Asia/Kathmandu": [],  # +05:45: the local grid is not the UTC grid
    "Europe/Paris": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Sydney": [date(2026, 4, 5), date(2026, 10, 4)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],  # half-hour DST
    "America/Havana": [date(2026, 3, 8), date(2026, 11, 1)],  # clocks jump at midnight
}


def hm(minute: int) -> time:
    return time(minute // 60, minute % 60)


@st.composite
def a_range(draw):
    kind = draw(st.sampled_from(["day", "day", "day", "night", "to_midnight", "inverted"]))
    if kind == "night":  # starting or ending in the small hours, where the clocks change
        start = draw(st.sampled_from([0, 0, 60, 90, 120, 150, 180]))
        return hm(start), hm(start + draw(st.sampled_from([30, 60, 90, 120, 150, 180, 240, 360])))
    start = draw(st.integers(0, 23 * 60).map(lambda m: m - m % 5))
    if kind == "to_midnight":
        return hm(start), time(0, 0)
    if kind == "inverted":
        return hm(start), hm(draw(st.integers(0, start)))
    return hm(start), hm(min(start + draw(st.integers(15, 16 * 60)), 1439))


ranges = st.lists(a_range(), max_size=3).map(tuple)
working_day = st.lists(a_range(), min_size=1, max_size=3).map(tuple)


@st.composite
def scenarios(draw):
    zone_name = draw(st.sampled_from(sorted(ZONE_CHANGES) + [z for z in sorted(ZONE_CHANGES) if ZONE_CHANGES[z]]))
    zone = ZoneInfo(zone_name)
    changes = ZONE_CHANGES[zone_name]
    if changes and draw(st.integers(0, 3)):  # mostly around a clock change
        anchor = draw(st.sampled_from(changes))
    else:
        anchor = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    rules = ServiceRules(
        service_id=draw(st.sampled_from([1, 2])),
        duration=timedelta(minutes=draw(st.integers(15, 120))),
        step=timedelta(minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 60]))),
        buffer_before=timedelta(minutes=draw(st.integers(0, 30))),
        buffer_after=timedelta(minutes=draw(st.integers(0, 30))),
        min_notice=timedelta(minutes=draw(st.one_of(st.just(0), st.integers(0, 48 * 60)))),
        horizon=timedelta(days=draw(st.integers(1, 30)), minutes=draw(st.integers(0, 1439))),
        capacity=draw(st.integers(1, 3)),
    )
    midnight = datetime.combine(anchor, time(0, 0), tzinfo=zone).astimezone(UTC)
    window_start = midnight - timedelta(minutes=draw(st.integers(-4 * 60, 30 * 60)))
    window_end = window_start + timedelta(
        minutes=draw(st.one_of(st.integers(0, 3 * 24 * 60), st.integers(20 * 60, 3 * 24 * 60)))
    )
    # now + notice mostly a little before the window, sometimes inside it or far before it
    now = window_start - rules.min_notice - timedelta(minutes=draw(st.integers(-12 * 60, 36 * 60)))
    near = st.dates(anchor - timedelta(days=3), anchor + timedelta(days=4))
    usual = draw(working_day)  # most days have the same hours; a few differ or are off
    weekly = {day: usual for day in range(7)}
    for day, hours in draw(st.dictionaries(st.integers(0, 6), ranges, max_size=2)).items():
        if hours:
            weekly[day] = hours
        else:
            del weekly[day]
    overrides = draw(st.dictionaries(near, ranges, max_size=2))
    holidays = frozenset(draw(st.lists(near, max_size=1)))

    def around():  # an instant near the window, on a 5-minute mark
        return window_start + timedelta(minutes=5 * draw(st.integers(-24 * 12, 4 * 24 * 12)))

    time_off = []
    for _ in range(draw(st.integers(0, 2))):
        start = around()
        time_off.append((start, start + timedelta(minutes=draw(st.integers(-30, 6 * 60)))))
    bookings = []
    for i in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):  # on a local half-hour, so group sessions really share starts
            wall = datetime.combine(anchor, time(0, 0)) + timedelta(minutes=30 * draw(st.integers(-24, 4 * 48)))
            start = wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1))).astimezone(UTC)
        else:
            start = around()
        bookings.append(
            Booking(
                start=start,
                end=start + timedelta(minutes=draw(st.sampled_from([15, 30, 45, 60, 90]))),
                service_id=draw(st.sampled_from([1, 2])),
                buffer_before=timedelta(minutes=draw(st.sampled_from([0, 10, 15]))),
                buffer_after=timedelta(minutes=draw(st.sampled_from([0, 10, 15]))),
                seats=draw(st.integers(1, 2)),
                id=draw(st.one_of(st.none(), st.just(i + 1))),
            )
        )
    cal = StaffCalendar(
        staff_id=draw(st.integers(1, 5)),
        zone=zone_name,
        weekly=weekly,
        overrides=overrides,
        holidays=holidays,
        time_off=tuple(time_off),
        bookings=tuple(bookings),
    )
    if draw(st.booleans()):
        # Book some of the free starts themselves (this service, exact start): group sessions with
        # seats taken or full, and exact conflicts for single-seat services. The engine only picks
        # the starts here; the checks below do not rely on it.
        free = free_slots(rules, cal, window_start, window_end, now)
        if free:
            for slot in draw(st.lists(st.sampled_from(free), min_size=1, max_size=3)):
                bookings.append(
                    Booking(
                        slot.start,
                        slot.end,
                        rules.service_id,
                        rules.buffer_before,
                        rules.buffer_after,
                        seats=draw(st.integers(1, 2)),
                        id=100 + len(bookings),
                    )
                )
            cal = StaffCalendar(
                cal.staff_id, cal.zone, cal.weekly, cal.overrides, cal.holidays, cal.time_off, tuple(bookings)
            )
    return rules, cal, window_start, window_end, now


# --- properties -----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios(), st.lists(st.integers(0, 3 * 24 * 60 * 60), max_size=10))
def test_free_slots_equal_the_brute_force_set(scenario, seconds):
    rules, cal, window_start, window_end, now = scenario
    slots = free_slots(rules, cal, window_start, window_end, now)
    starts = [s.start for s in slots]

    # sorted, unique, well formed
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for s in slots:
        assert s.start.utcoffset() == timedelta(0)
        assert s.end == s.start + rules.duration and s.staff_id == cal.staff_id
        taken = sum(b.seats for b in cal.bookings if b.service_id == rules.service_id and b.start == s.start)
        assert s.seats_left == (rules.capacity - taken if rules.capacity > 1 else 1) and s.seats_left > 0

    # sound: every returned start passes every rule, re-derived by brute force, and explain agrees
    for s in starts:
        assert window_start <= s < window_end
        assert brute_force_ok(rules, cal, s, now), s
        assert explain(rules, cal, s, now) is None, s

    # complete: every grid instant of the window that the checker accepts is returned
    candidates = grid_instants(rules, cal, window_start, window_end)
    cache: dict = {}
    expected = {c for c in candidates if brute_force_ok(rules, cal, c, now, cache)}
    assert set(starts) == expected

    # explain is None exactly for the returned starts: grid instants, then any instant at all
    for c in candidates - expected:
        assert explain(rules, cal, c, now) is not None, c
    span = int((window_end - window_start).total_seconds())
    for second in seconds if span else ():
        moment = window_start + timedelta(seconds=second % span)
        why = explain(rules, cal, moment, now)
        assert (why is None) == (moment in expected), (moment, why)


CHANGE_CASES = [(zone, day) for zone, days in ZONE_CHANGES.items() for day in days]


@pytest.mark.parametrize("zone, day", CHANGE_CASES, ids=[f"{z}-{d}" for z, d in CHANGE_CASES])
def test_clock_change_days_exhaustively(zone, day):
    """Every step, a few durations and buffers, on each clock-change day: the day itself and around it."""
    hours = ((time(0, 0), time(0, 0)),), ((time(0, 0), time(4)), (time(1, 30), time(3)), (time(2, 30), time(9)))
    window_start = datetime.combine(day - ONE_DAY, time(20), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    window_end = window_start + timedelta(hours=36)
    now = window_start - ONE_DAY
    for ranges in hours:
        cal = StaffCalendar(1, zone, weekly={d: ranges for d in range(7)})
        for step in (5, 10, 15, 20, 30, 60):
            for duration, before, after in ((15, 0, 0), (90, 10, 20)):
                rules = ServiceRules(
                    1,
                    timedelta(minutes=duration),
                    timedelta(minutes=step),
                    timedelta(minutes=before),
                    timedelta(minutes=after),
                )
                cache: dict = {}
                expected = sorted(
                    c
                    for c in grid_instants(rules, cal, window_start, window_end)
                    if brute_force_ok(rules, cal, c, now, cache)
                )
                got = [s.start for s in free_slots(rules, cal, window_start, window_end, now)]
                assert got == expected, (ranges, step, duration)


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(scenarios(), st.integers(0, 3 * 24 * 60))
def test_a_window_split_in_two_gives_the_same_slots(scenario, cut_minutes):
    rules, cal, window_start, window_end, now = scenario
    cut = min(window_start + timedelta(minutes=cut_minutes), window_end)
    whole = free_slots(rules, cal, window_start, window_end, now)
    assert free_slots(rules, cal, window_start, cut, now) + free_slots(rules, cal, cut, window_end, now) == whole


@settings(PROPERTY_SETTINGS, max_examples=60)
@given(scenarios())
def test_start_instants_are_the_slots_starts(scenario):
    """The month grid counts integer instants; they must be exactly the slots' starts."""
    rules, cal, window_start, window_end, now = scenario
    instants = free_start_instants(rules, cal, window_start, window_end, now)
    assert [instant(us) for us in instants] == [s.start for s in free_slots(rules, cal, window_start, window_end, now)]


@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=8, unique=True),
    st.dictionaries(st.integers(1, 30), st.integers(0, 5)),
    st.dictionaries(st.integers(1, 30), st.integers(0, 50)),
)
def test_choose_staff_picks_the_least_busy(free, today, recent):
    chosen = choose_staff(free, today, recent)
    assert chosen in free
    key = (today.get(chosen, 0), recent.get(chosen, 0), chosen)
    assert all(key <= (today.get(s, 0), recent.get(s, 0), s) for s in free)
