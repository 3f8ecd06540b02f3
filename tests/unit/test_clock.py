"""The one reader of typed dates, months and instants (``portal.clock``), the bounded integer
parser (``portal.ids``), the SLA duration grammar, and the out-of-range safety net."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.clock import (
    EARLIEST,
    LATEST,
    in_window,
    parse_day,
    parse_instant,
    parse_month,
    read_day,
    read_instant,
)
from portal.errors import Invalid
from portal.ids import parse_int
from portal.tickets.sla_admin import parse_duration
from portal.web.errors import EXCEPTION_HANDLERS, is_out_of_range, out_of_range_handler

WINDOW = "between 1970 and 2199"


def test_days_inside_the_window_are_read():
    assert parse_day(" 2026-11-24 ") == date(2026, 11, 24)
    assert parse_day(EARLIEST.isoformat()) == EARLIEST and parse_day(LATEST.isoformat()) == LATEST
    assert read_day("2026-02-28") == date(2026, 2, 28)


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "1969-12-31", "2200-01-01"])
def test_days_outside_the_window_are_refused_with_a_message(raw):
    with pytest.raises(Invalid) as refused:
        parse_day(raw, field="day")
    assert WINDOW in refused.value.message and WINDOW in refused.value.errors["day"]
    assert read_day(raw) is None


@pytest.mark.parametrize("raw", ["", "2026-13-01", "2026-02-30", "tomorrow", "２０２６-01-01", "2026-01-01\x00"])
def test_unreadable_days_are_refused_with_the_callers_message(raw):
    with pytest.raises(Invalid, match="Pick a day"):
        parse_day(raw, message="Pick a day from the calendar.")
    assert read_day(raw) is None


def test_months():
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month("2026-11-24") == date(2026, 11, 1)
    for raw in ("9999-12", "0001-01", "2200-01"):
        with pytest.raises(Invalid, match=WINDOW):
            parse_month(raw)
    for raw in ("2026-13", "11/2026", "2026"):
        with pytest.raises(Invalid, match="could not be read"):
            parse_month(raw)


def test_instants_need_an_offset_and_the_window_is_checked_before_the_conversion():
    assert parse_instant("2026-11-24T10:00:00Z") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert parse_instant("2026-11-24T11:00+01:00") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    for raw in ("0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "9999-12-31T23:59:59.999999Z"):
        with pytest.raises(Invalid, match=WINDOW):
            parse_instant(raw)
    for raw in ("2026-11-24T10:00", "not a time", ""):
        with pytest.raises(Invalid, match="could not be read"):
            parse_instant(raw)


def test_cursor_instants_read_naive_as_utc_and_refuse_the_far_ones():
    assert read_instant("2026-11-24T10:00:00") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert read_instant("2026-11-24T11:00:00+01:00") == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert read_instant("0001-01-01T00:00:00+14:00") is None and read_instant("garbage") is None
    assert in_window(datetime(2199, 12, 31, 23, tzinfo=UTC)) and not in_window(date(1969, 12, 31))


def test_bounded_integers_never_reach_int_with_thousands_of_digits():
    assert parse_int("42", 0, 100) == 42 and parse_int(" -3 ", -5, 5) == -3
    for raw in ("9" * 5000, "9" * 20, "101", "-1", "²", "١٢", "1.5", "1e3", "", "-", "0x10", "nan"):
        assert parse_int(raw, 0, 100) is None, raw


@pytest.mark.parametrize(
    "raw, minutes",
    [
        ("90", 90),
        ("90m", 90),
        ("4h", 240),
        ("1h30", 90),
        ("1.5h", 90),
        ("2:15", 135),
        ("3d", 1440),
        (" 2 h ", 120),
        ("", None),
    ],
)
def test_durations_as_typed(raw, minutes):
    assert parse_duration(raw) == minutes


@pytest.mark.parametrize(
    "raw", ["infd", "1e400h", "nan", "inf", "-5", "-1h", "1e5", "9" * 5000, "nanh", "1h-30", "9999999999h", "4 hours"]
)
def test_durations_that_are_not_finite_positive_numbers_are_refused(raw):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(raw)


def test_the_safety_net_maps_overflows_and_the_digit_limit_but_not_other_errors():
    assert OverflowError in EXCEPTION_HANDLERS and EXCEPTION_HANDLERS[OverflowError] is out_of_range_handler
    with pytest.raises(OverflowError) as overflow:
        date(9999, 12, 31) + (date(2000, 1, 2) - date(2000, 1, 1))
    assert is_out_of_range(overflow.value)
    with pytest.raises(ValueError) as digits:
        int("9" * 5000)
    assert is_out_of_range(digits.value)
    assert not is_out_of_range(ValueError("invalid literal for int() with base 10: 'x'"))
    assert not is_out_of_range(KeyError("x"))
