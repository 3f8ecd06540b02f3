"""The demo desk's tickets arrive mostly in Paris office hours, so its response times are business-like."""

import random
from datetime import UTC, datetime, timedelta

from portal.tickets.demo import DEMO_ZONE, _in_office_hours


def test_nine_tickets_in_ten_are_moved_into_office_hours_and_never_later():
    now = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)  # a Monday, 08:30 in Paris
    rng = random.Random(1)
    inside = 0
    for minutes in range(5, 42 * 24 * 60, 997):
        age = _in_office_hours(now, timedelta(minutes=minutes), rng)
        assert timedelta(minutes=minutes) <= age <= timedelta(minutes=minutes, days=4)  # only ever earlier
        local = (now - age).astimezone(DEMO_ZONE)
        inside += local.weekday() < 5 and 9 <= local.hour < 17
    total = len(range(5, 42 * 24 * 60, 997))
    assert 0.85 * total <= inside < total
