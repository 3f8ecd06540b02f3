"""Which part of a report's range is read from the weekly rollup and which from the tickets."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.backoffice import charts
from portal.backoffice.rollup import week_split


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_whole_utc_weeks_come_from_the_rollup_alone():
    # Monday 2 March 2026 00:00 UTC to Monday 30 March: four whole weeks, nothing left over.
    assert week_split(utc(2026, 3, 2), utc(2026, 3, 30)) == ((date(2026, 3, 2), date(2026, 3, 30)), [])


def test_part_weeks_at_either_end_are_read_from_tickets():
    weeks, rest = week_split(utc(2026, 3, 4, 13), utc(2026, 3, 26, 7))  # Wednesday to Thursday
    assert weeks == (date(2026, 3, 9), date(2026, 3, 23))
    assert rest == [(utc(2026, 3, 4, 13), utc(2026, 3, 9)), (utc(2026, 3, 23), utc(2026, 3, 26, 7))]


def test_a_range_inside_two_weeks_has_no_whole_week():
    assert week_split(utc(2026, 3, 4), utc(2026, 3, 12)) == (None, [(utc(2026, 3, 4), utc(2026, 3, 12))])
    assert week_split(utc(2026, 3, 2, 0, 0, 1), utc(2026, 3, 9)) == (
        None,
        [(utc(2026, 3, 2, 0, 0, 1), utc(2026, 3, 9))],
    )
    assert week_split(utc(2026, 3, 9), utc(2026, 3, 9)) == (None, [])


def test_a_viewers_local_days_leave_part_days_at_the_ends():
    # Kolkata is UTC+5:30: its 9 March starts at 8 March 18:30 UTC (a Sunday).
    first, last = date(2026, 3, 9), date(2026, 4, 5)
    days = charts.day_bounds(first, last, "Asia/Kolkata")
    lo, hi = days[0][1], days[-1][2]
    weeks, rest = week_split(lo, hi)
    assert weeks == (date(2026, 3, 9), date(2026, 3, 30))
    assert rest == [(lo, utc(2026, 3, 9)), (utc(2026, 3, 30), hi)]
    assert lo == utc(2026, 3, 8, 18, 30) and hi == utc(2026, 4, 5, 18, 30)


def test_every_instant_is_covered_exactly_once():
    zone = ZoneInfo("America/New_York")
    for start_day in range(0, 40, 3):
        for length in (1, 6, 7, 8, 13, 20, 45, 400):
            first = date(2026, 1, 1) + timedelta(days=start_day)
            lo = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
            hi = lo + timedelta(days=length, hours=start_day % 5)
            weeks, rest = week_split(lo, hi)
            pieces = list(rest)
            if weeks:
                assert weeks[0].weekday() == 0 and weeks[1].weekday() == 0 and weeks[0] < weeks[1]
                pieces.append(
                    (utc(weeks[0].year, weeks[0].month, weeks[0].day), utc(weeks[1].year, weeks[1].month, weeks[1].day))
                )
            pieces.sort()
            assert pieces[0][0] == lo and pieces[-1][1] == hi
            assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
            assert all(a < b for a, b in pieces)
            # Tickets are read for under a week at each end, or under two weeks when no week is whole.
            assert all(b - a < timedelta(days=7 if weeks else 14) for a, b in rest)
