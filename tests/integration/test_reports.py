"""KPI dashboard: numbers against hand-computed fixtures (Europe/Paris viewer across the spring DST
change), previous-period comparison, backlog, SLA, CSAT, booking KPIs, CSV export and escaping,
and who may see what — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from portal.accounts.tables import Team, TeamMember, User
from portal.booking.tables import Appointment, Service, WeeklyHours
from portal.clock import utcnow
from portal.db import write_transaction
from portal.tickets.tables import Category, Ticket
from tests.factories import make_user as factory_user

PASSWORD = "a long s3cret phrase"
RANGE = "from=2026-03-28&to=2026-03-30"  # Paris: 29 March 2026 has 23 hours (CET -> CEST)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Desk:
    support: int
    billing: int
    tech: int
    ben: int
    dan: int
    admin: int


async def _team(name: str, members: list[int]) -> int:
    team = (await Team.insert(Team(name=name, created_at=utcnow())).run())[0]["id"]
    for member in members:
        await TeamMember.insert(TeamMember(team=team, user=member)).run()
    return team


async def _ticket(
    number: int,
    created: datetime,
    *,
    team: int | None,
    assignee: int | None = None,
    category: int | None = None,
    status: str = "open",
    solved: datetime | None = None,
    fr: int | None = None,
    fr_breached: bool | None = None,
    res: int | None = None,
    res_breached: bool | None = None,
    rating: str | None = None,
    comment: str = "",
    via: str = "web",
) -> None:
    await Ticket.insert(
        Ticket(
            number=number,
            subject=f"Ticket {number}",
            status=status,
            team=team,
            assignee=assignee,
            category=category,
            requester_email="gwen@example.org",
            requester_name="Gwen",
            via=via,
            created_at=created,
            updated_at=created,
            solved_at=solved,
            first_response_minutes=fr,
            first_response_breached=fr_breached,
            resolution_minutes=res,
            resolution_breached=res_breached,
            csat_rating=rating,
            csat_comment=comment,
            csat_at=solved if rating else None,
        )
    ).run()


@pytest.fixture
async def desk(app) -> Desk:
    ben = await factory_user("ben@example.org", "agent", name="Ben Agent")
    dan = await factory_user("dan@example.org", "agent", name="Dan Billing")
    admin = await factory_user("ada@example.org", "admin", name="Ada Admin")
    async with write_transaction():
        support = await _team("Support", [ben])
        billing = await _team("Billing", [dan])
        tech = (await Category.insert(Category(name="Technical", team=support)).run())[0]["id"]
        await User.update({User.timezone: "Europe/Paris"}).where(User.id.is_in([ben, dan, admin])).run()
        # Previous period (25–27 March, Paris): one ticket, solved on 28 March.
        await _ticket(
            1,
            utc(2026, 3, 26, 10),
            team=support,
            assignee=ben,
            status="solved",
            solved=utc(2026, 3, 28, 8),
            res=125,
            res_breached=False,
            rating="bad",
        )
        # 28 March 00:30 Paris (still 27 March in UTC): solved 29 March, rated with a formula.
        await _ticket(
            2,
            utc(2026, 3, 27, 23, 30),
            team=support,
            assignee=ben,
            category=tech,
            status="solved",
            solved=utc(2026, 3, 29, 12),
            fr=30,
            fr_breached=False,
            res=600,
            res_breached=True,
            rating="good",
            comment='=HYPERLINK("http://evil.example","x")',
            via="email",
        )
        await _ticket(3, utc(2026, 3, 28, 22, 30), team=support, fr=90, fr_breached=True)  # 28 Mar 23:30
        await _ticket(4, utc(2026, 3, 29, 21, 30), team=billing, assignee=dan)  # 29 Mar 23:30 CEST
        await _ticket(5, utc(2026, 3, 29, 22, 30), team=billing, fr=10, fr_breached=False)  # 30 Mar 00:30 CEST
        await _ticket(6, utc(2026, 4, 10, 9), team=billing)  # after the range
    return Desk(support, billing, tech, ben, dan, admin)


async def login(make_browser, email: str):
    browser = await make_browser()
    await browser.login(email, PASSWORD)
    return browser


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_ticket_numbers_match_hand_computed_fixture(desk, make_browser):
    ada = await login(make_browser, "ada@example.org")
    page = await ada.get(f"/back/reports?{RANGE}")
    assert page.status_code == 200
    assert 'role="img"' in page.text and "<title>Tickets created and solved per day</title>" in page.text
    daily = await ada.get(f"/back/reports/export?table=tickets-daily&{RANGE}")
    assert daily.status_code == 200
    assert daily.headers["content-type"] == "text/csv; charset=utf-8"
    assert daily.headers["content-disposition"] == 'attachment; filename="tickets-daily_2026-03-28_2026-03-30.csv"'
    # Local days in Paris; backlog = unsolved now (3, 4, 5, 6) − created since + solved since.
    assert table(daily.text) == [
        ["Date", "Created", "Solved", "Backlog at end of day"],
        ["2026-03-28", "2", "1", "2"],
        ["2026-03-29", "1", "1", "2"],
        ["2026-03-30", "1", "0", "3"],
    ]
    summary = {
        row[0]: row[1:] for row in table((await ada.get(f"/back/reports/export?table=tickets-summary&{RANGE}")).text)
    }
    assert summary["Created"] == ["4", "1", "▲ 300.0%"]
    assert summary["Solved"] == ["2", "0", ""]
    assert summary["Backlog at end"] == ["3", "1", "▲ 200.0% (worse)"]
    assert summary["First response, median"] == ["30", "", ""]  # 10, 30, 90 minutes
    assert summary["First response, p90"] == ["90", "", ""]
    assert summary["Resolution, median"] == ["125", "", ""]  # 125, 600 (nearest rank)
    assert summary["Resolution, p90"] == ["600", "", ""]
    assert summary["First response SLA"] == ["66.7", "", ""]  # 2 met of 3 decided
    assert summary["Resolution SLA"] == ["50.0", "", ""]
    assert summary["CSAT"] == ["50.0", "", ""]
    assert "66.7%" in page.text and "2 h 05 min" in page.text


async def test_breakdowns_filters_and_csv_escaping(desk, make_browser):
    ada = await login(make_browser, "ada@example.org")
    by_team = table((await ada.get(f"/back/reports/export?table=tickets-by-team&by=team&{RANGE}")).text)
    rows = {r[0]: r for r in by_team[1:]}
    assert rows["Support"][1:3] == ["2", "30"]  # solved 2 (tickets 1, 2); FR median 30
    assert rows["Billing"][1:3] == ["0", "10"]
    by_channel = table((await ada.get(f"/back/reports/export?table=tickets-by-channel&by=channel&{RANGE}")).text)
    assert {r[0]: r[1] for r in by_channel[1:]} == {"email": "1", "web": "1"}
    billing = table((await ada.get(f"/back/reports/export?table=tickets-daily&team={desk.billing}&{RANGE}")).text)
    assert [r[1] for r in billing[1:]] == ["0", "1", "1"]
    comments = (await ada.get(f"/back/reports/export?table=csat-comments&{RANGE}")).text
    assert "'=HYPERLINK" in comments and ',"=HYPERLINK' not in comments
    assert (await ada.get(f"/back/reports/export?table=nope&{RANGE}")).status_code == 404
    bad = await ada.get("/back/reports?from=yesterday&to=2026-03-30")
    assert bad.status_code == 422 and "Enter a date like" in bad.text


async def test_agents_see_their_own_and_their_teams_only(desk, make_browser):
    ben = await login(make_browser, "ben@example.org")
    daily = table((await ben.get(f"/back/reports/export?table=tickets-daily&{RANGE}")).text)
    assert [r[1] for r in daily[1:]] == ["2", "0", "0"]  # Support's tickets only
    assert (await ben.get(f"/back/reports?team={desk.billing}&{RANGE}")).status_code == 403
    assert (await ben.get(f"/back/reports?agent={desk.dan}&{RANGE}")).status_code == 403
    assert (await ben.get(f"/back/reports?team={desk.support}&agent={desk.ben}&{RANGE}")).status_code == 200
    async with write_transaction():
        await TeamMember.insert(TeamMember(team=desk.support, user=desk.dan)).run()
    dan_rows = table((await ben.get(f"/back/reports/export?table=tickets-by-agent&by=agent&{RANGE}")).text)
    labels = {r[0] for r in dan_rows[1:]}
    assert "Dan Billing" not in labels
    customer = await factory_user("ann@example.org", "customer")
    assert customer
    ann = await login(make_browser, "ann@example.org")
    assert (await ann.get("/back/reports")).status_code == 403
    assert (await ann.get("/back/reports/export?table=tickets-daily")).status_code == 403
    anonymous = await make_browser()
    assert (await anonymous.get("/back/reports")).status_code in (302, 303)


async def test_booking_numbers(desk, make_browser):
    async with write_transaction():
        service = (await Service.insert(Service(slug="demo", name="Demo", created_at=utcnow())).run())[0]["id"]
        await User.update({User.timezone: "UTC"}).where(User.id.is_in([desk.ben, desk.admin])).run()
        await WeeklyHours.insert(WeeklyHours(staff=desk.ben, weekday=0, start_minute=540, end_minute=1020)).run()
        for n, (hour, status) in enumerate([(9, "completed"), (10, "completed"), (11, "no_show"), (12, "cancelled")]):
            start = utc(2026, 3, 30, hour)
            await Appointment.insert(
                Appointment(
                    service=service,
                    staff=desk.ben,
                    customer_name="C",
                    customer_email=f"c{n}@example.org",
                    start_at=start,
                    end_at=utc(2026, 3, 30, hour, 30),
                    status=status,
                    uid=f"u{n}",
                    manage_token_hash=f"{n:064x}",
                    created_at=utc(2026, 3, 28, hour),
                    updated_at=start,
                    cancelled_at=utc(2026, 3, 29) if status == "cancelled" else None,
                )
            ).run()
    ada = await login(make_browser, "ada@example.org")
    query = "tab=booking&from=2026-03-30&to=2026-03-30"
    page = await ada.get(f"/back/reports?{query}")
    assert page.status_code == 200 and "Utilization" in page.text
    summary = {r[0]: r[1] for r in table((await ada.get(f"/back/reports/export?table=booking-summary&{query}")).text)}
    assert summary["Appointments held or due"] == "3"
    assert summary["Cancellations"] == "1"
    assert summary["Cancellation rate"] == "25.0"
    assert summary["No-show rate"] == "33.3"  # 1 of 3 with a known outcome
    assert summary["Lead time, median"] == "48"  # hours between booking and start
    assert summary["Utilization"] == "18.8"  # 90 booked of 480 working minutes
    staff = table((await ada.get(f"/back/reports/export?table=booking-by-staff&{query}")).text)
    assert staff[1] == ["Ben Agent", "3", "1", "1", "1.5", "8.0", "18.8"]
    ben = await login(make_browser, "ben@example.org")
    assert (await ben.get(f"/back/reports?{query}&agent={desk.admin}")).status_code == 403
    assert (await ben.get(f"/back/reports?{query}")).status_code == 200
