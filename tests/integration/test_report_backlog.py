"""The KPI page's backlog against hand counts, the change indicator in words, and refused ranges."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from portal.db import write_transaction
from portal.tickets.tables import Ticket
from tests.factories import make_user as factory_user

PASSWORD = "a long s3cret phrase"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _ticket(
    number: int, created: datetime, status: str = "open", solved: datetime | None = None, closed: datetime | None = None
) -> None:
    last = max(at for at in (created, solved, closed) if at)
    await Ticket.insert(
        Ticket(
            number=number,
            subject=f"Ticket {number}",
            status=status,
            requester_email="gwen@example.org",
            requester_name="Gwen",
            created_at=created,
            updated_at=last,
            solved_at=solved,
            closed_at=closed,
        )
    ).run()


@pytest.fixture
async def admin(app, make_browser):
    await factory_user("ada@example.org", "admin", name="Ada Admin")  # time zone UTC
    async with write_transaction():
        await _ticket(1, utc(2026, 3, 3, 10), "solved", solved=utc(2026, 3, 5, 9))
        # Closed without a solve (as a merge does): it stops counting when it is closed.
        await _ticket(2, utc(2026, 3, 4, 12), "closed", closed=utc(2026, 3, 6, 15))
        await _ticket(3, utc(2026, 3, 6, 8))
        await _ticket(4, utc(2026, 3, 7, 9), "closed", solved=utc(2026, 3, 7, 18), closed=utc(2026, 3, 9, 9))
        await _ticket(5, utc(2026, 3, 10, 9))  # after the range
    browser = await make_browser()
    await browser.login("ada@example.org", PASSWORD)
    return browser


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_backlog_matches_a_hand_count_from_before_the_first_ticket(admin):
    daily = rows((await admin.get("/back/reports/export?table=tickets-daily&from=2026-03-01&to=2026-03-08")).text)
    # Unsolved at the end of each day, counted by hand from the five tickets above.
    hand = {
        "2026-03-01": 0,
        "2026-03-02": 0,
        "2026-03-03": 1,
        "2026-03-04": 2,
        "2026-03-05": 1,
        "2026-03-06": 1,
        "2026-03-07": 1,
        "2026-03-08": 1,
    }
    assert {row[0]: int(row[3]) for row in daily[1:]} == hand
    page = await admin.get("/back/reports?from=2026-03-01&to=2026-03-08")
    assert "−1" not in page.text and ">-1<" not in page.text


async def test_the_change_says_better_or_worse_by_what_the_measure_means(admin):
    grew = {
        r[0]: r[1:]
        for r in rows(
            (await admin.get("/back/reports/export?table=tickets-summary&from=2026-03-04&to=2026-03-04")).text
        )
    }
    assert grew["Backlog at end"] == ["2", "1", "▲ 100.0% (worse)"]  # previous day: 1
    assert grew["Created"] == ["1", "1", "no change"]
    shrank = {
        r[0]: r[1:]
        for r in rows(
            (await admin.get("/back/reports/export?table=tickets-summary&from=2026-03-05&to=2026-03-05")).text
        )
    }
    assert shrank["Backlog at end"] == ["1", "2", "▼ 50.0% (better)"]
    page = (await admin.get("/back/reports?from=2026-03-04&to=2026-03-04")).text
    assert "kpi-change kpi-bad" in page and '<span class="kpi-verdict">worse</span>' in page
    assert '<span aria-hidden="true">▲</span><span class="visually-hidden">up</span> 100.0%' in page
    solved = {
        r[0]: r[1:]
        for r in rows(
            (await admin.get("/back/reports/export?table=tickets-summary&from=2026-03-07&to=2026-03-08")).text
        )
    }
    assert solved["Solved"] == ["1", "1", "no change"]
    more = {
        r[0]: r[1:]
        for r in rows(
            (await admin.get("/back/reports/export?table=tickets-summary&from=2026-03-05&to=2026-03-06")).text
        )
    }
    assert more["Solved"] == ["1", "0", ""]


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-03-08&to=2026-03-01", "The start must be on or before the end."),
        ("from=yesterday&to=2026-03-08", "Enter a date like"),
        ("from=2026-03-01&to=08.03.2026", "Enter a date like"),
    ],
)
async def test_a_bad_range_says_so_instead_of_showing_another_period(admin, query, message):
    page = await admin.get(f"/back/reports?{query}")
    assert page.status_code == 422 and message in page.text
    assert "No report is shown until the dates make a range." in page.text
    assert "Tickets per day" not in page.text and "compared with" not in page.text
    if "yesterday" not in query and "08.03" not in query:
        assert 'value="2026-03-08"' in page.text and 'value="2026-03-01"' in page.text  # as typed
    export = await admin.get(f"/back/reports/export?table=tickets-daily&{query}")
    assert export.status_code == 422 and message in export.text
