"""portal.clock as the one place for time zones, local midnights and values read by raw SQL."""

import pathlib
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal import clock

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"
UTC = UTC


def test_local_midnight_and_day_bounds_across_dst():
    # Paris springs forward on 2026-03-29 (23-hour day) and falls back on 2026-10-25 (25 hours).
    assert clock.local_midnight(date(2026, 3, 29), "Europe/Paris") == datetime(2026, 3, 28, 23, tzinfo=UTC)
    lo, hi = clock.local_day_bounds(date(2026, 3, 29), "Europe/Paris")
    assert hi - lo == timedelta(hours=23)
    lo, hi = clock.local_day_bounds(date(2026, 10, 25), ZoneInfo("Europe/Paris"))
    assert hi - lo == timedelta(hours=25)
    # Where midnight itself is skipped (Santiago, 2026-09-06), the day starts at the first instant after it.
    assert clock.local_midnight(date(2026, 9, 6), "America/Santiago") == datetime(2026, 9, 6, 4, tzinfo=UTC)


def test_local_instant_reads_minutes_from_midnight_and_1440_ends_the_day():
    day = date(2026, 3, 28)
    assert clock.local_instant(day, 9 * 60 + 30, "Europe/Paris") == datetime(2026, 3, 28, 8, 30, tzinfo=UTC)
    assert clock.local_instant(day, 1440, "Europe/Paris") == clock.local_midnight(date(2026, 3, 29), "Europe/Paris")


def test_local_today_follows_the_zone():
    now = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert clock.local_today("Europe/Paris", now) == date(2026, 6, 2)
    assert clock.local_today("America/New_York", now) == date(2026, 6, 1)


def test_zone_validation_is_by_the_list_and_bad_names_read_as_utc():
    assert clock.timezone_problem("Europe/Paris") is None and clock.timezone_problem("UTC") is None
    for bad in ("", None, "Mars/Olympus", "../../etc/passwd", "x" * 5000, "EST5EDT\x00"):
        assert clock.timezone_problem(bad) == clock.ZONE_MESSAGE
        assert clock.zone_or_utc(bad) == "UTC"
        assert clock.zone_info(bad) == ZoneInfo("UTC")
    assert clock.zone_or_utc("Asia/Tokyo") == "Asia/Tokyo"


def test_values_read_by_raw_sql():
    assert clock.instant(None) is None
    assert clock.instant("2026-06-01 10:00:00") == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert clock.instant("2026-06-01T12:00:00+02:00") == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert clock.sql_day("2026-06-01") == date(2026, 6, 1) == clock.sql_day(date(2026, 6, 1))


def test_no_module_computes_midnight_or_checks_zones_on_its_own():
    own_ways = re.compile(
        r"combine\([^)]*time\(0|replace\(hour=0|available_timezones|except \(KeyError, ValueError, OSError\)"
    )
    offenders = [
        str(p.relative_to(PORTAL))
        for p in PORTAL.rglob("*.py")
        if p.name not in ("clock.py", "availability.py") and own_ways.search(p.read_text())
    ]
    assert offenders == []
