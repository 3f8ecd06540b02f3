"""Admin services for SLAs: business-hours calendars and policies (validated, all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import Column

from portal import clock
from portal.accounts.rules import Actor
from portal.clock import timezone_problem
from portal.db import change_one, fetch, taken, write_transaction
from portal.errors import Forbidden, Invalid
from portal.ids import parse_id
from portal.tickets import business, rules
from portal.tickets.rows import first_id
from portal.tickets.tables import BusinessCalendar, BusinessHours, SlaPolicy

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TARGET_MAX = 60 * 24 * 365  # a year of business minutes


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators change SLA settings.")


async def default_calendar_id() -> int:
    """The site's calendar, created (Monday–Friday 09:00–17:00 UTC) if it is missing."""
    rows = await fetch("SELECT id FROM business_calendar WHERE is_default = {} ORDER BY id", True)
    if rows:
        return first_id(rows)
    async with write_transaction():
        rows = await fetch("SELECT id FROM business_calendar WHERE is_default = {} ORDER BY id", True)
        if rows:
            return first_id(rows)
        name = "Office hours"
        if await BusinessCalendar.exists().where(BusinessCalendar.name == name):
            name = "Office hours (default)"
        created = await BusinessCalendar.insert(BusinessCalendar(name=name, timezone="UTC", is_default=True)).run()
        for day in range(5):
            await BusinessHours.insert(
                BusinessHours(calendar=created[0]["id"], weekday=day, start_minute=540, end_minute=1020)
            ).run()
        return first_id(created)


async def overview() -> dict[str, Any]:
    await default_calendar_id()
    calendars = await fetch(
        "SELECT id, name, timezone, is_default FROM business_calendar ORDER BY is_default DESC, name"
    )
    hours = await fetch(
        "SELECT calendar, weekday, start_minute, end_minute FROM business_hours "
        "ORDER BY calendar, weekday, start_minute"
    )
    for cal in calendars:
        weekly: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
        for row in hours:
            if row["calendar"] == cal["id"]:
                weekly[row["weekday"]].append((row["start_minute"], row["end_minute"]))
        cal["weekly"] = weekly
        cal["days"] = {d: ", ".join(business.format_range(r) for r in ranges) for d, ranges in weekly.items()}
    policies = await fetch(
        "SELECT p.*, c.name AS category_name, b.name AS calendar_name FROM sla_policy p "
        "LEFT JOIN category c ON c.id = p.category LEFT JOIN business_calendar b ON b.id = p.calendar "
        "ORDER BY p.priority, c.name"
    )
    order = {p: i for i, p in enumerate(reversed(rules.PRIORITIES))}
    policies.sort(key=lambda p: (order.get(p["priority"], 9), p["category_name"] or ""))
    categories = await fetch("SELECT id, name FROM category ORDER BY name")
    return {"calendars": calendars, "policies": policies, "categories": categories, "days": DAYS}


@dataclass
class CalendarForm:
    name: str = ""
    timezone: str = "UTC"
    days: dict[int, str] = field(default_factory=dict)  # weekday -> "09:00-17:00, …"


def _check_calendar(form: CalendarForm) -> tuple[dict[str, str], dict[int, tuple[tuple[int, int], ...]]]:
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name or len(name) > 80:
        errors["name"] = "Give the calendar a name of at most 80 characters."
    if problem := timezone_problem(form.timezone.strip()):
        errors["timezone"] = problem
    ranges: dict[int, tuple[tuple[int, int], ...]] = {}
    for day in range(7):
        try:
            ranges[day] = business.parse_ranges(form.days.get(day, ""))
        except ValueError as error:
            errors[f"day{day}"] = f"{DAYS[day]}: {error}"
    if not errors and not any(ranges.values()):
        errors["day0"] = "Give at least one day some working hours."
    return errors, ranges


async def save_calendar(actor: Actor, calendar_id: int | None, form: CalendarForm) -> int:
    _admin(actor)
    errors, ranges = _check_calendar(form)
    if errors:
        raise Invalid(errors=errors)
    name = " ".join(form.name.split())
    async with write_transaction():
        if await taken(BusinessCalendar.name, name, other_than=calendar_id):
            raise Invalid(errors={"name": "A calendar with this name exists already."})
        if calendar_id is None:
            rows = await BusinessCalendar.insert(BusinessCalendar(name=name, timezone=form.timezone.strip())).run()
            calendar_id = first_id(rows)
        else:
            await change_one(
                BusinessCalendar.update(
                    {BusinessCalendar.name: name, BusinessCalendar.timezone: form.timezone.strip()}
                ).where(BusinessCalendar.id == calendar_id),
                "That calendar does not exist.",
            )
            await BusinessHours.delete().where(BusinessHours.calendar == calendar_id).run()
        for day, day_ranges in ranges.items():
            for lo, hi in day_ranges:
                await BusinessHours.insert(
                    BusinessHours(calendar=calendar_id, weekday=day, start_minute=lo, end_minute=hi)
                ).run()
    return calendar_id


@dataclass
class PolicyForm:
    name: str = ""
    priority: str = ""
    category: str = ""
    calendar: str = ""
    first_response: str = ""  # "1:30" or minutes, or hours like "4h"
    resolution: str = ""
    pause_when_pending: str = ""
    active: str = "1"


BUSINESS_DAY = 8 * 60  # "2d" of business time: two 8-hour days


def parse_duration(text: str) -> int | None:
    """A target as typed ("90", "4h", "1 h 30 min", "1:30", "2d" = two 8-hour business days): the
    portal's one duration reader (``portal.clock``), with business days."""
    return clock.parse_duration(text, day_minutes=BUSINESS_DAY)


async def save_policy(actor: Actor, policy_id: int | None, form: PolicyForm) -> int:
    _admin(actor)
    errors: dict[str, str] = {}
    name = " ".join(form.name.split())
    if not name or len(name) > 80:
        errors["name"] = "Give the policy a name of at most 80 characters."
    if form.priority not in rules.PRIORITIES:
        errors["priority"] = "Choose a priority."
    category = parse_id(form.category)
    if form.category and category is None:
        errors["category"] = "Choose a category from the list."
    calendar = parse_id(form.calendar)
    targets: dict[str, int | None] = {}
    for key in ("first_response", "resolution"):
        try:
            value = parse_duration(getattr(form, key))
        except ValueError as error:
            errors[key] = str(error)
            continue
        if value is not None and not 1 <= value <= TARGET_MAX:
            errors[key] = "Enter a target between 1 minute and a year."
        targets[key] = value
    if not errors and targets.get("first_response") is None and targets.get("resolution") is None:
        errors["first_response"] = "Set a first-response target, a resolution target, or both."
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        if category is not None and not await fetch("SELECT id FROM category WHERE id = {}", category):
            raise Invalid(errors={"category": "That category does not exist."})
        if calendar is None or not await fetch("SELECT id FROM business_calendar WHERE id = {}", calendar):
            raise Invalid(errors={"calendar": "Choose a business-hours calendar."})
        same = await fetch(
            "SELECT id FROM sla_policy WHERE priority = {} AND COALESCE(category, 0) = {}", form.priority, category or 0
        )
        if any(row["id"] != policy_id for row in same):
            raise Invalid(errors={"priority": "There is a policy for this priority and category already."})
        values: dict[Column, Any] = {
            SlaPolicy.name: name,
            SlaPolicy.priority: form.priority,
            SlaPolicy.category: category,
            SlaPolicy.calendar: calendar,
            SlaPolicy.first_response_minutes: targets.get("first_response"),
            SlaPolicy.resolution_minutes: targets.get("resolution"),
            SlaPolicy.pause_when_pending: form.pause_when_pending == "1",
            SlaPolicy.is_active: form.active == "1",
        }
        if policy_id is None:
            rows = await SlaPolicy.insert(SlaPolicy(**{c._meta.name: v for c, v in values.items()})).run()
            return first_id(rows)
        # A copy typed as ``update`` takes it (columns or names as keys; a dict's key type is invariant).
        await change_one(
            SlaPolicy.update({c: v for c, v in values.items()}).where(SlaPolicy.id == policy_id),
            "That policy does not exist.",
        )
        return policy_id


async def delete_policy(actor: Actor, policy_id: int) -> None:
    _admin(actor)
    async with write_transaction():
        await change_one(SlaPolicy.delete().where(SlaPolicy.id == policy_id), "That policy does not exist.")
