"""Business time and SLA clocks: weekends, holidays, DST changes, pauses, policies changing mid-ticket."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.tickets import business, sla
from portal.tickets.business import BusinessCalendar

UTC = UTC
WEEKDAYS_9_TO_5 = {d: ((540, 1020),) for d in range(5)}
PARIS = BusinessCalendar(zone="Europe/Paris", weekly=WEEKDAYS_9_TO_5)
NEW_YORK = BusinessCalendar(zone="America/New_York", weekly=WEEKDAYS_9_TO_5)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_adding_within_one_day():
    # Monday 2026-11-23 10:00 Paris = 09:00 UTC.
    assert business.add_minutes(PARIS, utc(2026, 11, 23, 9, 0), 90) == utc(2026, 11, 23, 10, 30)


def test_adding_across_the_night_and_the_weekend():
    # Friday 16:00 Paris + 2 h = Monday 10:00 Paris (one hour on Friday, one on Monday).
    assert business.add_minutes(PARIS, utc(2026, 11, 27, 15, 0), 120) == utc(2026, 11, 30, 9, 0)


def test_starting_outside_hours_counts_from_the_next_opening():
    # Saturday noon + 30 min = Monday 09:30 Paris.
    assert business.add_minutes(PARIS, utc(2026, 11, 28, 11, 0), 30) == utc(2026, 11, 30, 8, 30)


def test_holidays_are_closed():
    cal = BusinessCalendar(zone="Europe/Paris", weekly=WEEKDAYS_9_TO_5, holidays=frozenset({date(2026, 12, 25)}))
    # Thursday 24 Dec 16:30 Paris + 60 min: 30 min that day, Christmas closed, 30 min on Saturday? no: Monday.
    assert business.add_minutes(cal, utc(2026, 12, 24, 15, 30), 60) == utc(2026, 12, 28, 8, 30)
    assert business.minutes_between(cal, utc(2026, 12, 24, 15, 30), utc(2026, 12, 28, 8, 30)) == 60


def test_spring_forward_day_in_paris_keeps_wall_clock_hours():
    # Sunday 29 March 2026 is the change; Monday 30 March 09:00 Paris is 07:00 UTC (CEST).
    cal = BusinessCalendar(zone="Europe/Paris", weekly={d: ((540, 1020),) for d in range(7)})
    assert business.add_minutes(cal, utc(2026, 3, 28, 16, 0), 60) == utc(
        2026, 3, 29, 8, 0
    )  # Sat 17:00 CET -> Sun 10:00 CEST
    assert business.minutes_between(cal, utc(2026, 3, 29, 0, 0), utc(2026, 3, 30, 0, 0)) == 480


def test_a_range_spanning_the_change_has_one_hour_less_or_more():
    night = {d: ((60, 240),) for d in range(7)}  # 01:00–04:00 local
    spring = BusinessCalendar(zone="Europe/Paris", weekly=night)
    assert business.minutes_between(spring, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 6, 0)) == 120
    autumn = BusinessCalendar(zone="Europe/Paris", weekly=night)
    assert business.minutes_between(autumn, utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 6, 0)) == 240


def test_new_york_and_paris_differ_by_the_zone():
    start = utc(2026, 11, 23, 14, 0)  # 15:00 Paris, 09:00 New York
    assert business.add_minutes(PARIS, start, 180) == utc(2026, 11, 24, 9, 0)
    assert business.add_minutes(NEW_YORK, start, 180) == utc(2026, 11, 23, 17, 0)


def test_a_calendar_without_hours_has_no_due_time():
    assert business.add_minutes(BusinessCalendar(zone="UTC"), utc(2026, 1, 1), 60) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("09:00-17:00", ((540, 1020),)),
        ("13:00-17:30, 08:00-12:00", ((480, 720), (780, 1050))),
        ("", ()),
        ("22:00-24:00", ((1320, 1440),)),
    ],
)
def test_parse_ranges(text, expected):
    assert business.parse_ranges(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("17:00-09:00", "ends before it starts"),
        ("09:00-12:00, 11:00-13:00", "overlap"),
        ("9-17", "not a time"),
        ("25:00-26:00", "not a time of day"),
        ("09:00", "not a range"),
    ],
)
def test_parse_ranges_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        business.parse_ranges(text)


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(min_value=1, max_value=5000),
    st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]),
)
def test_adding_then_measuring_gives_the_same_minutes(start, minutes, zone):
    cal = BusinessCalendar(zone=zone, weekly={0: ((540, 720), (780, 1020)), 2: ((0, 1440),), 4: ((60, 200),)})
    start = start.replace(tzinfo=UTC)
    due = business.add_minutes(cal, start, minutes)
    assert business.minutes_between(cal, start, due) == minutes
    assert business.minutes_between(cal, start, due - timedelta(minutes=1)) == minutes - 1


# --- SLA state -----------------------------------------------------------------------------------------

POLICY = sla.Policy(id=1, name="Normal", first_response=60, resolution=480, pause_when_pending=True, calendar=PARIS)
MONDAY_10 = utc(2026, 11, 23, 9, 0)  # 10:00 Paris


def ticket(**overrides) -> dict:
    return {
        "created_at": MONDAY_10,
        "status": "new",
        "first_response_at": None,
        "solved_at": None,
        "sla_paused_at": None,
        "sla_paused_minutes": 0,
        **overrides,
    }


def test_new_ticket_due_times():
    out = sla.state(ticket(), POLICY, MONDAY_10)
    assert out["first_response_due_at"] == utc(2026, 11, 23, 10, 0)
    assert out["resolution_due_at"] == utc(2026, 11, 24, 9, 0)  # 7 h Monday + 1 h Tuesday (10:00 Paris)
    assert out["next_due_at"] == out["first_response_due_at"]
    assert out["first_response_breached"] is None


def test_first_response_met_then_next_due_is_resolution():
    out = sla.state(ticket(status="open", first_response_at=utc(2026, 11, 23, 9, 40)), POLICY, utc(2026, 11, 23, 9, 40))
    assert out["first_response_minutes"] == 40 and out["first_response_breached"] is False
    assert out["next_due_at"] == out["resolution_due_at"]


def test_pending_pauses_and_a_reply_resumes_with_the_due_moved():
    replied = utc(2026, 11, 23, 9, 30)
    paused = sla.state(ticket(status="pending", first_response_at=replied), POLICY, replied)
    assert paused["sla_paused_at"] == replied and paused["next_due_at"] is None
    # The customer answers two business hours later: the resolution due moves by two hours.
    resumed = sla.state(
        ticket(status="open", first_response_at=replied, sla_paused_at=replied), POLICY, utc(2026, 11, 23, 11, 30)
    )
    assert resumed["sla_paused_at"] is None and resumed["sla_paused_minutes"] == 120
    assert resumed["resolution_due_at"] == utc(2026, 11, 24, 11, 0)  # Tuesday 12:00 Paris


def test_no_pause_when_the_policy_says_so():
    policy = sla.Policy(
        id=2, name="Strict", first_response=60, resolution=480, pause_when_pending=False, calendar=PARIS
    )
    out = sla.state(
        ticket(status="pending", first_response_at=utc(2026, 11, 23, 9, 30)), policy, utc(2026, 11, 23, 9, 30)
    )
    assert out["sla_paused_at"] is None and out["next_due_at"] == out["resolution_due_at"]


def test_solved_records_minutes_without_the_paused_time():
    out = sla.state(
        ticket(
            status="solved",
            first_response_at=utc(2026, 11, 23, 9, 30),
            sla_paused_minutes=60,
            solved_at=utc(2026, 11, 23, 14, 0),
        ),
        POLICY,
        utc(2026, 11, 23, 14, 0),
    )
    assert out["resolution_minutes"] == 240 and out["resolution_breached"] is False
    assert out["next_due_at"] is None


def test_overdue_unanswered_ticket_is_breached():
    out = sla.state(ticket(), POLICY, utc(2026, 11, 23, 12, 0))
    assert out["first_response_breached"] is True


def test_a_policy_change_mid_ticket_recomputes_from_creation():
    urgent = sla.Policy(id=3, name="Urgent", first_response=15, resolution=120, pause_when_pending=True, calendar=PARIS)
    now = utc(2026, 11, 23, 9, 10)
    out = sla.state(ticket(status="open"), urgent, now)
    assert out["first_response_due_at"] == utc(2026, 11, 23, 9, 15)
    assert out["resolution_due_at"] == utc(2026, 11, 23, 11, 0)


def test_no_policy_clears_everything():
    out = sla.state(ticket(), None, MONDAY_10)
    assert all(out[k] is None for k in ("first_response_due_at", "resolution_due_at", "next_due_at"))


def test_time_left_labels():
    now = utc(2026, 11, 23, 9, 0)
    assert sla.time_left(now + timedelta(minutes=130), now) == ("2 h 10 min left", "ok")
    assert sla.time_left(now + timedelta(minutes=20), now) == ("20 min left", "warn")
    assert sla.time_left(now - timedelta(minutes=35), now) == ("overdue 35 min", "danger")
    assert sla.time_left(None, now) is None
