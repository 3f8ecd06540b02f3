"""KPI booking tab, "Coming up": booked appointments from now to the end of the viewer's 30th local
day, per day, per service and the next ten, scoped like the rest of the tab (an agent sees their own
appointments only) — against hand-placed appointments, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

from portal.accounts.tables import User
from portal.booking.tables import Appointment, Service
from portal.clock import utcnow
from portal.db import count_queries, write_transaction
from tests.factories import make_user
from tests.integration.test_reports import PASSWORD, table

PARIS = ZoneInfo("Europe/Paris")


async def _service(slug: str, name: str) -> int:
    return (await Service.insert(Service(slug=slug, name=name, created_at=utcnow())).run())[0]["id"]


async def test_coming_up_counts_and_lists_the_next_30_days(app, make_browser):
    ben = await make_user("ben@example.org", "agent", name="Ben Agent")
    dan = await make_user("dan@example.org", "agent", name="Dan Agent")
    await make_user("ada@example.org", "admin", name="Ada Admin")
    now = utcnow().replace(second=0, microsecond=0)
    day = timedelta(days=1)
    async with write_transaction():
        await User.update({User.timezone: "Europe/Paris"}).where(User.email.is_not_null()).run()
        massage, advice = await _service("massage", "Massage"), await _service("advice", "Advice")
        upcoming = [  # (staff, service, start), all booked, within the 30 days
            (ben, massage, now + day),
            (ben, advice, now + 2 * day),
            (dan, massage, now + 2 * day + timedelta(hours=3)),
            (ben, massage, now + 3 * day),
            (dan, advice, now + 4 * day),
            (ben, massage, now + 5 * day),
            (ben, massage, now + 6 * day),
            (dan, massage, now + 7 * day),
            (ben, advice, now + 8 * day),
            (ben, massage, now + 9 * day),
            (ben, massage, now + 28 * day),
        ]
        others = [  # past, cancelled, beyond the 30 days: never counted
            (ben, massage, now - day, "booked"),
            (ben, massage, now - timedelta(hours=2), "completed"),
            (ben, massage, now + 2 * day + timedelta(hours=1), "cancelled"),
            (dan, advice, now + 3 * day, "cancelled"),
            (ben, massage, now + 31 * day, "booked"),
            (dan, advice, now + 40 * day, "booked"),
        ]
        placed = [(*a, "booked") for a in upcoming] + others
        for n, (staff, service, start, status) in enumerate(placed):
            await Appointment.insert(
                Appointment(
                    service=service,
                    staff=staff,
                    customer_name=f"Customer {n}",
                    customer_email=f"c{n}@example.org",
                    start_at=start,
                    end_at=start + timedelta(minutes=30),
                    status=status,
                    uid=f"u{n}",
                    manage_token_hash=f"{n:064x}",
                    created_at=now - 3 * day,
                    updated_at=now - 3 * day,
                )
            ).run()
    staff_names, service_names = {ben: "Ben Agent", dan: "Dan Agent"}, {massage: "Massage", advice: "Advice"}

    def expected_days(rows):
        return Counter(start.astimezone(PARIS).date().isoformat() for _, _, start in rows)

    def expected_next(rows):
        return [
            [
                start.astimezone(PARIS).strftime("%Y-%m-%d %H:%M"),
                service_names[service],
                staff_names[staff],
                f"Customer {n}",
            ]
            for n, (staff, service, start) in enumerate(rows)
        ][:10]

    async def export(browser, name: str, extra: str = "") -> list[list[str]]:
        answer = await browser.get(f"/back/reports/export?table={name}&tab=booking{extra}")
        assert answer.status_code == 200, answer.text
        return table(answer.text)[1:]

    ada = await make_browser()
    await ada.login("ada@example.org", PASSWORD)
    with count_queries() as queries:
        page = await ada.get("/back/reports?tab=booking")
    assert page.status_code == 200
    assert "Coming up" in page.text and "11 booked appointments from now" in page.text
    assert queries[0] <= 13, queries[0]  # the tab's 11 statements and the coming-up section's 2
    daily = await export(ada, "booking-upcoming-daily")
    today = now.astimezone(PARIS).date()
    assert [r[0] for r in daily] == [(today + timedelta(days=i)).isoformat() for i in range(30)]
    assert {d: int(n) for d, n in daily if n != "0"} == expected_days(upcoming)
    assert await export(ada, "booking-upcoming-by-service") == [["Advice", "3"], ["Massage", "8"]]
    assert await export(ada, "booking-upcoming-next") == expected_next(upcoming)
    assert await export(ada, "booking-upcoming-by-service", f"&service={advice}") == [["Advice", "3"]]

    # Ben, an agent, sees his own appointments only (the numbers keep the customers' original indices).
    bens = [(i, a) for i, a in enumerate(upcoming) if a[0] == ben]
    ben_browser = await make_browser()
    await ben_browser.login("ben@example.org", PASSWORD)
    page = await ben_browser.get("/back/reports?tab=booking")
    assert page.status_code == 200 and "8 booked appointments from now" in page.text
    assert "Dan Agent" not in page.text
    daily = await export(ben_browser, "booking-upcoming-daily")
    assert {d: int(n) for d, n in daily if n != "0"} == expected_days([a for _, a in bens])
    assert await export(ben_browser, "booking-upcoming-by-service") == [["Advice", "2"], ["Massage", "6"]]
    assert await export(ben_browser, "booking-upcoming-next") == [
        [start.astimezone(PARIS).strftime("%Y-%m-%d %H:%M"), service_names[service], "Ben Agent", f"Customer {i}"]
        for i, (_, service, start) in bens
    ]
