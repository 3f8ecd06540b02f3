"""Durations, zone choices and weekly-hours rows as admins type and see them (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.clock import canonical_zones, format_duration, parse_duration, timezone_problem, zone_choices
from portal.web.hours import posted_rows, rows_text, saved_rows

WINTER = datetime(2026, 1, 15, 12, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw, minutes",
    [("1 h 30 min", 90), ("1h30", 90), ("90 min", 90), ("1:30", 90), ("2 h", 120), ("90", 90), ("45 MIN", 45)],
)
def test_durations_typed_in_hours_and_minutes(raw, minutes):
    assert parse_duration(raw) == minutes


def test_a_day_is_what_the_caller_says():
    assert parse_duration("2d") == 2880 and parse_duration("2d", day_minutes=480) == 960


@pytest.mark.parametrize("raw", ["soon", "1:75", "h", "1 hour 30", "-30 min", "1h30h"])
def test_unreadable_durations_say_what_is_expected(raw):
    with pytest.raises(ValueError, match="is not a duration like 90 min, 1 h 30 min"):
        parse_duration(raw)


@pytest.mark.parametrize(
    "minutes, text", [(90, "1 h 30 min"), (120, "2 h"), (45, "45 min"), (0, "0 min"), (2880, "48 h")]
)
def test_durations_shown_in_hours_and_minutes_read_back_the_same(minutes, text):
    assert format_duration(minutes) == text and parse_duration(text) == minutes
    assert format_duration(None) == ""


def test_the_zone_picker_offers_canonical_zones_with_offsets_and_no_legacy_aliases():
    zones = canonical_zones()
    for legacy in ("US/Eastern", "Etc/GMT+5", "EST5EDT", "GMT", "Asia/Calcutta", "Europe/Kiev", "Canada/Pacific"):
        assert legacy not in zones
    assert {"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "America/Argentina/Buenos_Aires"} <= set(zones)
    assert dict(zone_choices(WINTER))["Europe/Paris"] == "Europe/Paris (UTC+01:00)"
    assert dict(zone_choices(SUMMER))["Europe/Paris"] == "Europe/Paris (UTC+02:00)"
    assert dict(zone_choices(WINTER))["America/St_Johns"] == "America/St_Johns (UTC-03:30)"
    assert timezone_problem("US/Eastern") is None  # still valid for the rows that hold it


def test_weekly_rows_for_time_pickers_round_trip():
    rows = saved_rows({0: [(540, 720), (780, 1440)]})
    assert rows[0] == [("09:00", "12:00"), ("13:00", "00:00"), ("", "")] and rows[6] == [("", ""), ("", "")]
    posted = {"w0_0_start": "09:00", "w0_0_end": "12:00", "w0_1_start": " 13:00", "w0_1_end": "", "w2_3_end": "17:00"}
    again = posted_rows(lambda key: posted.get(key, ""))
    assert again[0] == [("09:00", "12:00"), ("13:00", ""), ("", "")] and again[2] == [("", "17:00"), ("", "")]
    assert rows_text(again) == {0: "09:00-12:00, 13:00-", 1: "", 2: "-17:00", 3: "", 4: "", 5: "", 6: ""}
