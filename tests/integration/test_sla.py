"""SLA policies through the app: due times on creation and priority change, pending pauses,
outcomes, queue views, warnings and breaches sent exactly once, and the admin page's validation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.jobs.worker import drain
from portal.tickets import access, sla, sla_admin, write
from portal.tickets.tables import BusinessHours, SlaPolicy, Ticket
from tests.integration.test_console import Desk, agent, desk, file_ticket  # noqa: F401  (fixtures)


async def around_the_clock() -> int:
    """Make the default calendar open all week, all day, in UTC: due times become plain arithmetic."""
    calendar = await sla_admin.default_calendar_id()
    async with write_transaction():
        await BusinessHours.delete().where(BusinessHours.calendar == calendar).run()
        for day in range(7):
            await BusinessHours.insert(
                BusinessHours(calendar=calendar, weekday=day, start_minute=0, end_minute=1440)
            ).run()
    return calendar


@pytest.fixture
async def policies(desk) -> int:
    calendar = await around_the_clock()
    async with write_transaction():
        for priority, first, resolution in (("normal", 60, 480), ("urgent", 15, 120)):
            await SlaPolicy.insert(
                SlaPolicy(
                    name=priority.title(),
                    priority=priority,
                    calendar=calendar,
                    first_response_minutes=first,
                    resolution_minutes=resolution,
                )
            ).run()
    return calendar


async def row(ticket_id: int) -> dict:
    from portal.tickets.rows import aware_row

    return aware_row((await fetch("SELECT * FROM ticket WHERE id = {}", ticket_id))[0])


def close_to(a, b, seconds: float = 5) -> bool:
    return abs((a - b).total_seconds()) <= seconds


async def test_due_times_on_creation_and_priority_change(desk, policies, make_browser):
    t = await file_ticket("Broken", desk.general)
    r = await row(t["id"])
    assert close_to(r["first_response_due_at"], r["created_at"] + timedelta(minutes=60))
    assert close_to(r["resolution_due_at"], r["created_at"] + timedelta(minutes=480))
    assert r["next_due_at"] == r["first_response_due_at"]
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{t['number']}/fields", {"priority": "urgent"})
    r = await row(t["id"])
    assert close_to(r["first_response_due_at"], r["created_at"] + timedelta(minutes=15))
    assert close_to(r["resolution_due_at"], r["created_at"] + timedelta(minutes=120))
    await ben.post(f"/back/tickets/{t['number']}/fields", {"priority": "low"})  # no policy for low
    r = await row(t["id"])
    assert r["sla_policy"] is None and r["next_due_at"] is None


async def test_pending_pauses_and_the_customer_reply_resumes(desk, policies, make_browser):
    t = await file_ticket("Question", desk.general)
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{t['number']}/reply", {"body": "Which version?", "status": "pending"})
    r = await row(t["id"])
    assert r["sla_paused_at"] is not None and r["next_due_at"] is None
    assert r["first_response_minutes"] is not None and r["first_response_breached"] is False
    # Two hours pass while the customer thinks.
    async with write_transaction():
        await (
            Ticket.update({Ticket.sla_paused_at: r["sla_paused_at"] - timedelta(hours=2)})
            .where(Ticket.id == t["id"])
            .run()
        )
    ticket = await Ticket.select().where(Ticket.id == t["id"]).first()
    await write.reply(access.for_guest(ticket["id"]), None, "Version 2.", [])
    r = await row(t["id"])
    assert r["status"] == "open" and r["sla_paused_at"] is None
    assert 119 <= r["sla_paused_minutes"] <= 121
    assert close_to(r["resolution_due_at"], r["created_at"] + timedelta(minutes=480 + r["sla_paused_minutes"]))
    assert r["next_due_at"] == r["resolution_due_at"]
    await ben.post(f"/back/tickets/{t['number']}/fields", {"status": "solved"})
    r = await row(t["id"])
    assert r["resolution_minutes"] is not None and r["resolution_breached"] is False and r["next_due_at"] is None


async def test_overdue_and_breaching_soon_views_and_due_sort(desk, policies, make_browser):
    late = await file_ticket("Late one", desk.general)
    soon = await file_ticket("Soon one", desk.general)
    calm = await file_ticket("Calm one", desk.general)
    now = utcnow()
    async with write_transaction():
        await Ticket.update({Ticket.next_due_at: now - timedelta(minutes=5)}).where(Ticket.id == late["id"]).run()
        await Ticket.update({Ticket.next_due_at: now + timedelta(minutes=20)}).where(Ticket.id == soon["id"]).run()
        await Ticket.update({Ticket.next_due_at: now + timedelta(hours=5)}).where(Ticket.id == calm["id"]).run()
    ben = await agent(make_browser, "ben@example.org")
    overdue = await ben.get("/back/tickets?view=overdue")
    assert re.findall(r'id="row-(\d+)"', overdue.text) == [str(late["number"])]
    assert 'id="count-overdue">1<' in overdue.text and 'id="count-breaching">1<' in overdue.text
    assert re.search(r"overdue [45] min", overdue.text)
    breaching = await ben.get("/back/tickets?view=breaching")
    assert re.findall(r'id="row-(\d+)"', breaching.text) == [str(soon["number"])]
    by_due = await ben.get("/back/tickets?view=open&sort=due")
    assert re.findall(r'id="row-(\d+)"', by_due.text) == [str(late["number"]), str(soon["number"]), str(calm["number"])]
    filtered = await ben.get("/back/tickets?view=open&sla=soon")
    assert re.findall(r'id="row-(\d+)"', filtered.text) == [str(soon["number"])]


async def test_warning_and_breach_are_sent_exactly_once(desk, policies, make_browser, outbox):
    t = await file_ticket("Nobody answers", desk.general)
    jobs = await fetch("SELECT kind, unique_key FROM job WHERE kind LIKE 'sla.%' ORDER BY kind")
    assert [j["kind"] for j in jobs] == ["sla.breach", "sla.breach", "sla.warn", "sla.warn"]
    await sla.refresh(t["id"])  # nothing changed: no second set of jobs
    assert len(await fetch("SELECT id FROM job WHERE kind LIKE 'sla.%'")) == 4
    # Time flies: every SLA job is due now.
    async with write_transaction():
        await fetch("UPDATE job SET run_at = {} WHERE kind LIKE 'sla.%'", utcnow() - timedelta(seconds=1))
    await drain()
    warnings = [m for m in await outbox() if m["template"] == "sla_warning"]
    breaches = [m for m in await outbox() if m["template"] == "sla_breach"]
    # Unassigned, no team: the warning goes to the admins; each target once.
    assert sorted(m["to_address"] for m in warnings) == ["ada@example.org", "ada@example.org"]
    assert len(breaches) == 2 and {m["to_address"] for m in breaches} == {"ada@example.org"}
    r = await row(t["id"])
    assert r["first_response_breached"] is True and r["resolution_breached"] is True
    await drain()
    await sla.refresh(t["id"])
    await drain()
    assert len([m for m in await outbox() if m["template"].startswith("sla_")]) == 4


async def test_a_met_target_cancels_its_warning(desk, policies, make_browser, outbox):
    t = await file_ticket("Answered quickly", desk.general)
    ben = await agent(make_browser, "ben@example.org")
    await ben.post(f"/back/tickets/{t['number']}/take")
    await ben.post(f"/back/tickets/{t['number']}/reply", {"body": "On it."})
    async with write_transaction():
        await fetch("UPDATE job SET run_at = {} WHERE kind = 'sla.warn'", utcnow() - timedelta(seconds=1))
    await drain()
    warnings = [m for m in await outbox() if m["template"] == "sla_warning"]
    # The first-response warning is stale (answered); the resolution warning goes to the assignee.
    assert [m["to_address"] for m in warnings] == ["ben@example.org"]
    assert "resolution" in warnings[0]["subject"]


async def test_sla_admin_page_and_validation(desk, make_browser):
    admin = await agent(make_browser, "ada@example.org")
    page = await admin.get("/back/sla")
    assert page.status_code == 200 and "Office hours" in page.text
    calendar = await sla_admin.default_calendar_id()
    ok = await admin.post(
        "/back/sla/policies",
        {
            "name": "Urgent",
            "priority": "urgent",
            "calendar": str(calendar),
            "first_response": "30",
            "resolution": "4h",
            "pause_when_pending": "1",
            "active": "1",
        },
    )
    assert ok.status_code == 303
    policy = await SlaPolicy.select().where(SlaPolicy.priority == "urgent").first()
    assert (policy["first_response_minutes"], policy["resolution_minutes"]) == (30, 240)
    dup = await admin.post(
        "/back/sla/policies", {"name": "Again", "priority": "urgent", "calendar": str(calendar), "first_response": "1h"}
    )
    assert dup.status_code == 422 and "already" in dup.text
    bad = await admin.post(
        "/back/sla/policies", {"name": "X", "priority": "high", "calendar": str(calendar), "first_response": "soon"}
    )
    assert bad.status_code == 422 and "not a duration" in bad.text
    hours = await admin.post(
        f"/back/sla/calendars/{calendar}", {"name": "Office hours", "timezone": "Mars/Base", "day0": "17:00-09:00"}
    )
    assert hours.status_code == 422 and "ends before it starts" in hours.text
    assert len(await BusinessHours.select().where(BusinessHours.calendar == calendar)) == 5  # nothing half-saved
    fine = await admin.post(
        f"/back/sla/calendars/{calendar}",
        {"name": "Office hours", "timezone": "Europe/Paris", "day0": "08:00-12:00, 13:00-18:00", "day1": "09:00-17:00"},
    )
    assert fine.status_code == 303
    assert len(await BusinessHours.select().where(BusinessHours.calendar == calendar)) == 3
    ben = await agent(make_browser, "ben@example.org")
    assert (await ben.get("/back/sla")).status_code == 403
    assert (await ben.post("/back/sla/policies", {"name": "x"})).status_code == 403
