"""The availability engine on concrete days: exact starts, DST days, group sessions, explain(), speed."""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.booking.availability import (
    Booking,
    ServiceRules,
    Slot,
    StaffCalendar,
    choose_staff,
    explain,
    free_slots,
)

UTC = UTC
PARIS = "Europe/Paris"
EVERY_DAY = range(7)
MONDAY = date(2026, 6, 1)  # an ordinary Monday
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def at(zone: str, day: date, h: int, mi: int = 0, fold: int = 0) -> datetime:
    """A local wall time as a UTC instant."""
    return datetime.combine(day, time(h, mi), tzinfo=ZoneInfo(zone)).replace(fold=fold).astimezone(UTC)


def rules(**kw) -> ServiceRules:
    kw.setdefault("service_id", 1)
    kw.setdefault("duration", timedelta(minutes=30))
    kw.setdefault("step", timedelta(minutes=30))
    kw.setdefault("horizon", timedelta(days=400))
    return ServiceRules(**kw)


def calendar(*ranges: tuple[time, time], zone: str = "UTC", days=EVERY_DAY, **kw) -> StaffCalendar:
    return StaffCalendar(staff_id=kw.pop("staff_id", 7), zone=zone, weekly={d: tuple(ranges) for d in days}, **kw)


def day_slots(rule: ServiceRules, cal: StaffCalendar, day: date, now: datetime = LONG_AGO) -> list[Slot]:
    """Every slot of one LOCAL day of the staff member."""
    return free_slots(rule, cal, at(cal.zone, day, 0), at(cal.zone, day + timedelta(days=1), 0), now)


def hhmm(slots: list[Slot], zone: str = "UTC") -> list[str]:
    return [s.start.astimezone(ZoneInfo(zone)).strftime("%H:%M") for s in slots]


NINE_TO_NOON = (time(9), time(12))


# --- a plain day ------------------------------------------------------------------------------


def test_plain_day_six_half_hour_starts():
    slots = day_slots(rules(), calendar(NINE_TO_NOON), MONDAY)
    assert hhmm(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert slots[0] == Slot(utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), 7, 1)
    assert all(s.end - s.start == timedelta(minutes=30) and s.seats_left == 1 for s in slots)


def test_buffer_after_with_quarter_hour_step_moves_the_last_start():
    slots = day_slots(
        rules(buffer_after=timedelta(minutes=15), step=timedelta(minutes=15)), calendar(NINE_TO_NOON), MONDAY
    )
    assert hhmm(slots)[0] == "09:00"
    assert hhmm(slots)[-1] == "11:15"  # 11:15 + 30 min + 15 min buffer = 12:00
    assert len(slots) == 10
    assert slots[-1].end == utc(2026, 6, 1, 11, 45)  # the slot's end excludes the buffer


def test_buffer_before_moves_the_first_start():
    slots = day_slots(
        rules(buffer_before=timedelta(minutes=15), step=timedelta(minutes=15)), calendar(NINE_TO_NOON), MONDAY
    )
    assert hhmm(slots)[0] == "09:15" and hhmm(slots)[-1] == "11:30"


def test_min_notice():
    rule = rules(min_notice=timedelta(hours=2))
    assert hhmm(day_slots(rule, calendar(NINE_TO_NOON), MONDAY, now=utc(2026, 6, 1, 8))) == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]
    # now + notice = 10:10: the next grid start is 10:30
    assert hhmm(day_slots(rule, calendar(NINE_TO_NOON), MONDAY, now=utc(2026, 6, 1, 8, 10))) == [
        "10:30",
        "11:00",
        "11:30",
    ]


def test_horizon_is_inclusive():
    rule = rules(horizon=timedelta(days=1))
    assert hhmm(day_slots(rule, calendar(NINE_TO_NOON), MONDAY, now=utc(2026, 5, 31, 10))) == [
        "09:00",
        "09:30",
        "10:00",
    ]


def test_window_start_inclusive_end_exclusive():
    slots = free_slots(rules(), calendar(NINE_TO_NOON), utc(2026, 6, 1, 9, 30), utc(2026, 6, 1, 11), LONG_AGO)
    assert hhmm(slots) == ["09:30", "10:00", "10:30"]
    assert free_slots(rules(), calendar(NINE_TO_NOON), utc(2026, 6, 1, 11), utc(2026, 6, 1, 11), LONG_AGO) == []


def test_several_ranges_a_day_lunch_break():
    cal = calendar((time(9), time(12)), (time(13), time(17)))
    slots = day_slots(rules(duration=timedelta(hours=1)), cal, MONDAY)
    assert hhmm(slots) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
        "15:30",
        "16:00",
    ]


def test_touching_ranges_do_not_join():
    cal = calendar((time(9), time(10)), (time(10), time(11)))
    assert hhmm(day_slots(rules(duration=timedelta(hours=1)), cal, MONDAY)) == ["09:00", "10:00"]


def test_overlapping_ranges_give_each_start_once():
    cal = calendar((time(9), time(11)), (time(10), time(12)))
    assert hhmm(day_slots(rules(duration=timedelta(hours=1)), cal, MONDAY)) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
    ]


def test_override_with_other_hours():
    cal = calendar(NINE_TO_NOON, overrides={MONDAY: ((time(14), time(16)),)})
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["14:00", "14:30", "15:00", "15:30"]
    assert len(day_slots(rules(), cal, MONDAY + timedelta(days=1))) == 6  # the weekly hours again


def test_override_closed_day():
    cal = calendar(NINE_TO_NOON, overrides={MONDAY: ()})
    assert day_slots(rules(), cal, MONDAY) == []
    assert len(day_slots(rules(), cal, MONDAY + timedelta(days=1))) == 6


def test_override_opens_a_day_off():
    cal = calendar(NINE_TO_NOON, days=[0, 1, 2, 3, 4], overrides={date(2026, 6, 6): ((time(10), time(11)),)})
    assert hhmm(day_slots(rules(), cal, date(2026, 6, 6))) == ["10:00", "10:30"]  # a Saturday
    assert day_slots(rules(), cal, date(2026, 6, 7)) == []  # Sunday: no weekly hours


def test_holiday_closes_the_day_even_with_an_override():
    cal = calendar(NINE_TO_NOON, holidays=frozenset({MONDAY}), overrides={MONDAY: (NINE_TO_NOON,)})
    assert day_slots(rules(), cal, MONDAY) == []
    assert len(day_slots(rules(), cal, MONDAY + timedelta(days=1))) == 6


def test_time_off():
    cal = calendar(NINE_TO_NOON, time_off=((utc(2026, 6, 1, 10), utc(2026, 6, 1, 11)),))
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["09:00", "09:30", "11:00", "11:30"]


def test_existing_booking_blocks_overlapping_starts():
    cal = calendar(NINE_TO_NOON, bookings=(Booking(utc(2026, 6, 1, 10, 15), utc(2026, 6, 1, 10, 45), 2, id=1),))
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["09:00", "09:30", "11:00", "11:30"]


def test_back_to_back_touching_is_allowed():
    cal = calendar(NINE_TO_NOON, bookings=(Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30), 1),))
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["09:00", "09:30", "10:30", "11:00", "11:30"]


def test_existing_bookings_own_buffers_are_respected():
    booking = Booking(
        utc(2026, 6, 1, 10),
        utc(2026, 6, 1, 10, 30),
        2,
        buffer_before=timedelta(minutes=30),
        buffer_after=timedelta(minutes=30),
    )
    cal = calendar(NINE_TO_NOON, bookings=(booking,))
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["09:00", "11:00", "11:30"]  # reserved 09:30-11:00
    # and our own buffers add to theirs: 15 min after us must not reach 09:30
    assert hhmm(day_slots(rules(buffer_after=timedelta(minutes=15)), cal, MONDAY)) == ["11:00"]


def test_range_ending_at_midnight():
    cal = calendar((time(22), time(0, 0)))
    assert hhmm(day_slots(rules(duration=timedelta(hours=1)), cal, MONDAY)) == ["22:00", "22:30", "23:00"]
    assert day_slots(rules(), calendar((time(0, 0), time(0, 0))), MONDAY)[-1].start == utc(2026, 6, 1, 23, 30)


def test_a_slot_never_crosses_midnight():
    cal = StaffCalendar(7, "UTC", weekly={0: ((time(23), time(0, 0)),), 1: ((time(0, 0), time(1)),)})
    slots = free_slots(rules(duration=timedelta(hours=1)), cal, utc(2026, 6, 1), utc(2026, 6, 3), LONG_AGO)
    assert [s.start for s in slots] == [utc(2026, 6, 1, 23), utc(2026, 6, 2, 0)]


def test_inverted_and_empty_ranges_are_ignored():
    cal = calendar((time(12), time(9)), (time(10), time(10)), (time(11), time(12)))
    assert hhmm(day_slots(rules(), cal, MONDAY)) == ["11:00", "11:30"]


def test_sorted_across_days_and_staff_id():
    slots = free_slots(rules(), calendar(NINE_TO_NOON, staff_id=42), utc(2026, 6, 1), utc(2026, 6, 4), LONG_AGO)
    assert len(slots) == 18 and slots == sorted(slots) and {s.staff_id for s in slots} == {42}


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        free_slots(rules(), calendar(NINE_TO_NOON), datetime(2026, 6, 1), datetime(2026, 6, 2), LONG_AGO)


# --- DST -----------------------------------------------------------------------------------

# (zone, change day, first 09:00 start on the change day in UTC, 09:00 the day before in UTC)
DST_DAYS = [
    ("Europe/Paris", date(2026, 3, 29), utc(2026, 3, 29, 7), utc(2026, 3, 28, 8)),  # spring forward
    ("Europe/Paris", date(2026, 10, 25), utc(2026, 10, 25, 8), utc(2026, 10, 24, 7)),  # fall back
    ("America/New_York", date(2026, 3, 8), utc(2026, 3, 8, 13), utc(2026, 3, 7, 14)),
    ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 14), utc(2026, 10, 31, 13)),
    ("Australia/Sydney", date(2026, 4, 5), utc(2026, 4, 4, 23), utc(2026, 4, 3, 22)),  # fall back
    ("Australia/Sydney", date(2026, 10, 4), utc(2026, 10, 3, 22), utc(2026, 10, 2, 23)),  # spring forward
]


@pytest.mark.parametrize("zone, day, first, first_before", DST_DAYS)
def test_dst_day_keeps_wall_clock_hours(zone, day, first, first_before):
    cal = calendar((time(9), time(17)), zone=zone)
    slots = day_slots(rules(), cal, day)
    before = day_slots(rules(), cal, day - timedelta(days=1))
    assert slots[0].start == first and before[0].start == first_before
    assert len(slots) == len(before) == 16
    assert hhmm(slots, zone)[0] == "09:00" and hhmm(slots, zone)[-1] == "16:30"
    assert slots[-1].start - slots[0].start == timedelta(hours=7, minutes=30)  # no change inside 09-17


# (zone, change day, wall times skipped or repeated)
SPRING = [
    ("Europe/Paris", date(2026, 3, 29), ["02:00", "02:30"]),
    ("America/New_York", date(2026, 3, 8), ["02:00", "02:30"]),
    ("Australia/Sydney", date(2026, 10, 4), ["02:00", "02:30"]),
]
FALL = [
    ("Europe/Paris", date(2026, 10, 25), ["02:00", "02:30"]),
    ("America/New_York", date(2026, 11, 1), ["01:00", "01:30"]),
    ("Australia/Sydney", date(2026, 4, 5), ["02:00", "02:30"]),
]
NIGHT = [f"{h:02d}:{m:02d}" for h in range(6) for m in (0, 30)]


@pytest.mark.parametrize("zone, day, skipped", SPRING)
def test_spring_forward_skips_nonexistent_wall_times(zone, day, skipped):
    cal = calendar((time(0), time(6)), zone=zone)
    slots = day_slots(rules(), cal, day)
    assert hhmm(slots, zone) == [t for t in NIGHT if t not in skipped]
    assert len(slots) == 10
    starts = [s.start for s in slots]
    assert len(set(starts)) == len(starts)  # 02:00 was not shifted onto 03:00
    assert all(b - a == timedelta(minutes=30) for a, b in zip(starts, starts[1:]))  # 23 hours, no hole
    assert all(explain(rules(), cal, s, LONG_AGO) is None for s in starts)


@pytest.mark.parametrize("zone, day, repeated", FALL)
def test_fall_back_repeated_wall_times_give_two_instants(zone, day, repeated):
    cal = calendar((time(0), time(6)), zone=zone)
    slots = day_slots(rules(), cal, day)
    walls = hhmm(slots, zone)
    assert len(slots) == 14
    for wall in repeated:
        assert walls.count(wall) == 2
        h, m = map(int, wall.split(":"))
        first, second = at(zone, day, h, m, fold=0), at(zone, day, h, m, fold=1)
        assert second - first == timedelta(hours=1)
        assert first in [s.start for s in slots] and second in [s.start for s in slots]
        assert explain(rules(), cal, first, LONG_AGO) is None and explain(rules(), cal, second, LONG_AGO) is None
    assert all(b.start - a.start == timedelta(minutes=30) for a, b in zip(slots, slots[1:]))  # 25 hours


def test_an_hour_long_service_across_the_fall_back_hour():
    # 01:30 CEST + 1h = 02:30 CEST; 02:30 CET + 1h = 03:30 CET: all inside 00:00-06:00
    cal = calendar((time(0), time(6)), zone=PARIS)
    slots = day_slots(rules(duration=timedelta(hours=1), step=timedelta(hours=1)), cal, date(2026, 10, 25))
    assert hhmm(slots, PARIS) == ["00:00", "01:00", "02:00", "02:00", "03:00", "04:00", "05:00"]


def test_zone_without_dst_is_ordinary_every_day():
    zone = "Asia/Kolkata"
    cal = calendar((time(9), time(17)), zone=zone)
    slots = free_slots(rules(), cal, utc(2026, 1, 1), utc(2027, 1, 1), utc(2025, 12, 31))
    by_day: dict[date, list[Slot]] = {}
    for s in slots:
        by_day.setdefault(s.start.astimezone(ZoneInfo(zone)).date(), []).append(s)
    assert len(by_day) == 365
    for day, day_list in by_day.items():
        assert len(day_list) == 16
        assert day_list[0].start == datetime.combine(day, time(3, 30), tzinfo=UTC)  # 09:00 IST = 03:30 UTC


def test_customer_in_another_zone_sees_the_same_instant():
    cal = calendar((time(9), time(17)), zone=PARIS)
    new_york, sydney = ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney")
    winter = day_slots(rules(), cal, date(2026, 1, 15))[0].start
    assert winter == utc(2026, 1, 15, 8)
    assert winter.astimezone(new_york).strftime("%H:%M %Z") == "03:00 EST"
    assert winter.astimezone(sydney).strftime("%H:%M %Z") == "19:00 AEDT"
    # 8-29 March: America has moved its clocks, Europe not yet; the gap is 5 hours, not 6
    between = day_slots(rules(), cal, date(2026, 3, 20))[0].start
    assert between == utc(2026, 3, 20, 8)
    assert between.astimezone(new_york).strftime("%H:%M %Z") == "04:00 EDT"
    summer = day_slots(rules(), cal, date(2026, 6, 15))[0].start
    assert summer == utc(2026, 6, 15, 7)
    assert summer.astimezone(new_york).strftime("%H:%M %Z") == "03:00 EDT"
    assert summer.astimezone(sydney).strftime("%H:%M %Z") == "17:00 AEST"


# --- group sessions -------------------------------------------------------------------------


def group_rules(**kw) -> ServiceRules:
    return rules(service_id=5, duration=timedelta(hours=1), capacity=3, **kw)


def test_group_session_shares_a_start():
    cal = calendar(NINE_TO_NOON, bookings=(Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 5, seats=2, id=1),))
    slots = day_slots(group_rules(), cal, MONDAY)
    assert [(t, s.seats_left) for t, s in zip(hhmm(slots), slots)] == [("09:00", 3), ("10:00", 1), ("11:00", 3)]
    # 09:30 and 10:30 overlap the session that starts at 10:00
    assert explain(group_rules(), cal, utc(2026, 6, 1, 9, 30), LONG_AGO) == "it overlaps appointment #1"


def test_group_session_seats_add_up_and_fill():
    two = (
        Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 5, id=1),
        Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 5, id=2),
    )
    slots = day_slots(group_rules(), calendar(NINE_TO_NOON, bookings=two), MONDAY)
    assert {s.start: s.seats_left for s in slots}[utc(2026, 6, 1, 10)] == 1
    full = calendar(NINE_TO_NOON, bookings=two + (Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 5, id=3),))
    assert hhmm(day_slots(group_rules(), full, MONDAY)) == ["09:00", "11:00"]
    assert "full" in explain(group_rules(), full, utc(2026, 6, 1, 10), LONG_AGO)


def test_other_services_booking_blocks_a_group_start():
    cal = calendar(NINE_TO_NOON, bookings=(Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11), 6, id=9),))
    assert hhmm(day_slots(group_rules(), cal, MONDAY)) == ["09:00", "11:00"]
    assert explain(group_rules(), cal, utc(2026, 6, 1, 10), LONG_AGO) == "it overlaps appointment #9"


def test_capacity_one_does_not_share():
    cal = calendar(NINE_TO_NOON, bookings=(Booking(utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30), 1),))
    assert "10:00" not in hhmm(day_slots(rules(), cal, MONDAY))


# --- explain --------------------------------------------------------------------------------


def paris_day() -> StaffCalendar:
    return calendar((time(9), time(12)), (time(13), time(17)), zone=PARIS, days=[0, 1, 2, 3, 4])


PARIS_10 = utc(2026, 6, 1, 8)  # Monday 10:00 in Paris


def test_explain_none_when_bookable():
    assert explain(rules(), paris_day(), PARIS_10, LONG_AGO) is None


def test_explain_min_notice():
    why = explain(rules(min_notice=timedelta(hours=2)), paris_day(), PARIS_10, PARIS_10 - timedelta(hours=1))
    assert "less than 2 hours from now" in why and "minimum notice" in why


def test_explain_horizon():
    why = explain(rules(horizon=timedelta(days=60)), paris_day(), PARIS_10, PARIS_10 - timedelta(days=61))
    assert "60 days" in why and "horizon" in why


def test_explain_holiday():
    cal = calendar((time(9), time(17)), zone=PARIS, holidays=frozenset({MONDAY}))
    assert "holiday" in explain(rules(), cal, PARIS_10, LONG_AGO)


def test_explain_not_a_working_day():
    assert explain(rules(), paris_day(), utc(2026, 6, 7, 8), LONG_AGO) == "Sunday 2026-06-07 is not a working day"
    closed = calendar((time(9), time(17)), zone=PARIS, overrides={MONDAY: ()})
    assert "not a working day" in explain(rules(), closed, PARIS_10, LONG_AGO)


def test_explain_outside_working_hours_names_the_local_hours():
    why = explain(rules(), paris_day(), utc(2026, 6, 1, 10), LONG_AGO)  # 12:00 in Paris: lunch
    assert "outside working hours (09:00–12:00, 13:00–17:00 Europe/Paris)" in why
    assert why.startswith("12:00–12:30")
    late = explain(rules(), paris_day(), utc(2026, 6, 1, 9, 45), LONG_AGO)  # 11:45 runs past 12:00
    assert "outside working hours" in late
    buffered = explain(rules(buffer_after=timedelta(minutes=15)), paris_day(), utc(2026, 6, 1, 9, 30), LONG_AGO)
    assert "buffers" in buffered and "outside working hours" in buffered
    midnight = calendar((time(22), time(0, 0)), zone=PARIS)
    assert "22:00–24:00" in explain(rules(), midnight, PARIS_10, LONG_AGO)


def test_explain_off_the_grid():
    why = explain(rules(), paris_day(), PARIS_10 + timedelta(minutes=10), LONG_AGO)
    assert why == "10:10 is not a valid start: starts must be on the 30-minute grid"


def test_explain_time_off():
    cal = calendar((time(9), time(17)), zone=PARIS, time_off=((PARIS_10, PARIS_10 + timedelta(hours=2)),))
    why = explain(rules(), cal, PARIS_10, LONG_AGO)
    assert "time off" in why and "overlaps" not in why  # the booking service treats "overlaps" as taken


def test_explain_overlapping_appointment():
    booking = Booking(PARIS_10 + timedelta(minutes=15), PARIS_10 + timedelta(minutes=45), 2, id=12)
    cal = calendar((time(9), time(17)), zone=PARIS, bookings=(booking,))
    assert explain(rules(), cal, PARIS_10, LONG_AGO) == "it overlaps appointment #12"
    unnamed = Booking(PARIS_10, PARIS_10 + timedelta(minutes=30), 2)
    anonymous = calendar((time(9), time(17)), zone=PARIS, bookings=(unnamed,))
    assert explain(rules(), anonymous, PARIS_10, LONG_AGO) == "it overlaps another appointment"


def test_explain_group_full():
    booking = Booking(PARIS_10, PARIS_10 + timedelta(hours=1), 5, seats=3, id=4)
    cal = calendar((time(9), time(17)), zone=PARIS, bookings=(booking,))
    why = explain(group_rules(), cal, PARIS_10, LONG_AGO)
    assert "full" in why and "3 of 3" in why


def test_explain_reports_the_first_failing_rule():
    cal = calendar((time(9), time(17)), zone=PARIS, holidays=frozenset({MONDAY}))
    # too soon AND a holiday: notice comes first
    assert "minimum notice" in explain(rules(min_notice=timedelta(hours=2)), cal, PARIS_10, PARIS_10)
    # outside hours AND off the grid: hours come first
    assert "outside working hours" in explain(rules(), paris_day(), utc(2026, 6, 1, 5, 10), LONG_AGO)


# --- choose_staff ---------------------------------------------------------------------------


def test_choose_staff_fewest_that_day():
    assert choose_staff([3, 1, 2], {1: 4, 2: 1, 3: 2}, {1: 0, 2: 9, 3: 0}) == 2


def test_choose_staff_tie_goes_to_fewest_recently():
    assert choose_staff([3, 1, 2], {1: 1, 2: 1, 3: 1}, {1: 5, 2: 7, 3: 2}) == 3


def test_choose_staff_tie_goes_to_lowest_id():
    assert choose_staff([3, 2, 5], {}, {}) == 2
    assert choose_staff([9], {}, {}) == 9
    with pytest.raises(ValueError):
        choose_staff([], {}, {})


# --- speed ----------------------------------------------------------------------------------


def _busy_calendar(staff_id: int, rnd: random.Random, bookings: int) -> StaffCalendar:
    start = datetime(2026, 3, 1, tzinfo=ZoneInfo(PARIS))
    made = []
    for i in range(bookings):
        s = (start + timedelta(days=rnd.randrange(31), hours=9, minutes=15 * rnd.randrange(34))).astimezone(UTC)
        made.append(
            Booking(
                s,
                s + timedelta(minutes=rnd.choice((30, 45, 60))),
                rnd.choice((1, 2)),
                buffer_after=timedelta(minutes=rnd.choice((0, 15))),
                id=i,
            )
        )
    return StaffCalendar(
        staff_id,
        PARIS,
        weekly={d: ((time(9), time(12, 30)), (time(13, 30), time(18))) for d in range(6)},
        bookings=tuple(made),
    )


def test_a_month_for_ten_staff_is_fast():
    """A month (with the March DST change), 15-minute grid, 200 bookings each: ~3 ms per staff at most."""
    rnd = random.Random(2026)
    staff = [_busy_calendar(i, rnd, 200) for i in range(10)]
    rule = rules(step=timedelta(minutes=15), duration=timedelta(minutes=45), buffer_after=timedelta(minutes=15))
    window = (utc(2026, 3, 1), utc(2026, 4, 1), utc(2026, 2, 28))
    timings, count = [], 0
    for _ in range(5):
        began = clock.perf_counter()
        count = sum(len(free_slots(rule, cal, *window)) for cal in staff)
        timings.append(clock.perf_counter() - began)
    best = min(timings) * 1000
    empty = StaffCalendar(99, PARIS, weekly=staff[0].weekly)
    singles = []
    for _ in range(5):
        began = clock.perf_counter()
        free = len(free_slots(rule, empty, *window))
        singles.append(clock.perf_counter() - began)
    single = min(singles) * 1000
    print(
        f"\nfree_slots: 10 staff x 31 days, 2,000 bookings: best {best:.1f} ms of 5 "
        f"({best / 10:.2f} ms per staff, {count} slots); one staff without bookings: {single:.2f} ms ({free} slots)"
    )
    assert count > 0
    assert best < 100, f"10 staff x 1 month took {best:.1f} ms"


# --- range ends inside a skipped or repeated hour (the documented convention) ------------------


def test_range_starting_in_a_skipped_hour_starts_when_the_clocks_jump():
    cal = calendar((time(2, 30), time(5)), zone=PARIS)  # 02:30 does not exist on 29 March
    slots = day_slots(rules(), cal, date(2026, 3, 29))
    assert hhmm(slots, PARIS) == ["03:00", "03:30", "04:00", "04:30"]
    assert slots[0].start == utc(2026, 3, 29, 1)


def test_range_ending_in_a_repeated_hour_ends_at_its_first_occurrence():
    cal = calendar((time(0), time(2, 30)), zone=PARIS)  # 02:30 happens twice on 25 October
    slots = day_slots(rules(), cal, date(2026, 10, 25))
    assert hhmm(slots, PARIS) == ["00:00", "00:30", "01:00", "01:30", "02:00"]
    assert slots[-1].start == utc(2026, 10, 25, 0)  # 02:00 CEST, not 02:00 CET


def test_range_starting_in_a_repeated_hour_starts_at_its_first_occurrence():
    # From the first 02:30 (CEST) the clock runs 02:30, then 02:00-04:00 again (CET): 1.5 + 2 hours
    cal = calendar((time(2, 30), time(4)), zone=PARIS)
    slots = day_slots(rules(), cal, date(2026, 10, 25))
    assert [s.start for s in slots] == [utc(2026, 10, 25, 0, 30) + timedelta(minutes=30 * i) for i in range(5)]
    assert hhmm(slots, PARIS) == ["02:30", "02:00", "02:30", "03:00", "03:30"]


# --- typed refusals -----------------------------------------------------------------------------


def test_refusal_is_typed_and_describe_words_it_as_explain_does():
    from portal.booking.availability import Blocker, describe, refusal

    booking = Booking(PARIS_10 + timedelta(minutes=15), PARIS_10 + timedelta(minutes=45), 2, id=12)
    cal = calendar((time(9), time(17)), zone=PARIS, bookings=(booking,))
    why = refusal(rules(), cal, PARIS_10, LONG_AGO)
    assert why.blocker is Blocker.overlap and why.appointment_id == 12 and why.taken
    assert describe(why) == str(why) == explain(rules(), cal, PARIS_10, LONG_AGO) == "it overlaps appointment #12"
    sunday = refusal(rules(), paris_day(), utc(2026, 6, 7, 8), LONG_AGO)
    assert sunday.blocker is Blocker.not_working_day and sunday.day.isoformat() == "2026-06-07" and not sunday.taken
    assert refusal(rules(), paris_day(), PARIS_10, LONG_AGO) is None


def test_refusals_map_to_status_codes_by_type_not_by_words():
    from portal.booking.availability import TAKEN, Blocker, Refusal
    from portal.booking.services import refusal_status

    assert {Blocker.overlap, Blocker.full} == TAKEN
    for blocker in Blocker:
        assert refusal_status(Refusal(blocker, day=PARIS_10.date(), limit=timedelta(hours=1))) == (
            409 if blocker in TAKEN else 422
        )
    assert refusal_status(None) == 409  # several staff members, none free: offer other times
    # A holiday whose name would contain "full" or "overlaps" is still a rule (422), not a taken slot.
    assert refusal_status(Refusal(Blocker.holiday, day=PARIS_10.date())) == 422
