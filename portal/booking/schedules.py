"""Admin configuration of availability: staff zones and weekly hours, date overrides, time off,
site-wide holidays (one by one or from an .ics file), and "why is this time not bookable?".

Every change replaces what it edits inside one write transaction: a refused form saves nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from icalendar import Calendar

from portal.accounts.rules import Actor
from portal.accounts.tables import User
from portal.booking import availability as engine
from portal.booking import services
from portal.booking.admin import require_admin, service_row, staff_members
from portal.booking.back_forms import WEEKDAYS, OverrideInput, hhmm, parse_clock, parse_day
from portal.booking.tables import DateOverride, Holiday, ServiceStaff, StaffFeed, TimeOff, WeeklyHours
from portal.clock import (
    CHOOSE_DAY,
    EARLIEST,
    LATEST,
    in_window,
    local_instant,
    local_today,
    time_zones,
    timezone_problem,
    utcnow,
    zone_info,
)
from portal.db import change_one, write_transaction
from portal.errors import Invalid, NotFound

ICS_MAX_BYTES = 512 * 1024
MAX_IMPORT_SPAN_DAYS = 31


async def staff_row(staff_id: int) -> dict:
    row = (
        await User.select(User.id, User.name, User.email, User.timezone, User.role, User.is_active)
        .where((User.id == staff_id) & User.role.is_in(["agent", "admin"]))
        .first()
    )
    if row is None:
        raise NotFound("We could not find that staff member.")
    return row


def staff_today(zone: str) -> date:
    return local_today(zone)


async def overview(actor: Actor) -> list[dict]:
    """Every staff member with their zone, weekly hours in words and the services they offer."""
    require_admin(actor)
    staff = await staff_members(active_only=False)
    hours: dict[int, dict[int, list[str]]] = {}
    for row in await WeeklyHours.select().order_by(WeeklyHours.start_minute):
        hours.setdefault(row["staff"], {}).setdefault(row["weekday"], []).append(
            f"{hhmm(row['start_minute'])}–{hhmm(row['end_minute'])}"
        )
    offers: dict[int, int] = {}
    for row in await ServiceStaff.select(ServiceStaff.staff):
        offers[row["staff"]] = offers.get(row["staff"], 0) + 1
    for s in staff:
        days = hours.get(s["id"], {})
        s["week"] = [(WEEKDAYS[d][:3], ", ".join(days.get(d, [])) or "—") for d in range(7)]
        s["services"] = offers.get(s["id"], 0)
    return staff


async def schedule(actor: Actor, staff_id: int) -> dict:
    require_admin(actor)
    staff = await staff_row(staff_id)
    today = staff_today(staff["timezone"])
    weekly: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
    for row in await WeeklyHours.select().where(WeeklyHours.staff == staff_id).order_by(WeeklyHours.start_minute):
        weekly[row["weekday"]].append((row["start_minute"], row["end_minute"]))
    overrides: dict[date, list] = {}
    for row in (
        await DateOverride.select()
        .where((DateOverride.staff == staff_id) & (DateOverride.day >= today))
        .order_by(DateOverride.day)
        .order_by(DateOverride.start_minute)
    ):
        ranges = overrides.setdefault(row["day"], [])
        if row["start_minute"] is not None:
            ranges.append(f"{hhmm(row['start_minute'])}–{hhmm(row['end_minute'])}")
    time_off = (
        await TimeOff.select()
        .where((TimeOff.staff == staff_id) & (TimeOff.end_at > utcnow()))
        .order_by(TimeOff.start_at)
    )
    feed = (
        await StaffFeed.select(StaffFeed.created_at, StaffFeed.last_used_at).where(StaffFeed.staff == staff_id).first()
    )
    return {
        "staff": staff,
        "weekly": weekly,
        "overrides": sorted(overrides.items()),
        "time_off": time_off,
        "today": today,
        "feed": feed,
    }


async def save_weekly(
    actor: Actor, staff_id: int, zone: str, weekly: dict[int, list[tuple[int, int]]], errors: dict[str, str]
) -> None:
    require_admin(actor)
    errors = dict(errors)
    if problem := timezone_problem(zone):
        errors["timezone"] = f"“{zone}” is not a time zone we know. {problem}"
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        await staff_row(staff_id)
        await User.update({User.timezone: zone}).where(User.id == staff_id).run()
        await WeeklyHours.delete().where(WeeklyHours.staff == staff_id).run()
        for weekday, ranges in weekly.items():
            for start, end in ranges:
                await WeeklyHours.insert(
                    WeeklyHours(staff=staff_id, weekday=weekday, start_minute=start, end_minute=end)
                ).run()


async def copy_day(actor: Actor, staff_id: int, source: int, targets: list[int]) -> int:
    """Give the target weekdays the saved ranges of ``source``; returns how many days changed."""
    require_admin(actor)
    targets = sorted({t for t in targets if 0 <= t < 7 and t != source})
    if not 0 <= source < 7:
        raise Invalid(errors={"copy": "Choose the day to copy."})
    if not targets:
        raise Invalid(errors={"copy": "Tick at least one other day to copy to."})
    async with write_transaction():
        await staff_row(staff_id)
        ranges = await WeeklyHours.select().where((WeeklyHours.staff == staff_id) & (WeeklyHours.weekday == source))
        await WeeklyHours.delete().where((WeeklyHours.staff == staff_id) & WeeklyHours.weekday.is_in(targets)).run()
        for weekday in targets:
            for r in ranges:
                await WeeklyHours.insert(
                    WeeklyHours(
                        staff=staff_id, weekday=weekday, start_minute=r["start_minute"], end_minute=r["end_minute"]
                    )
                ).run()
    return len(targets)


async def save_override(actor: Actor, staff_id: int, data: OverrideInput, errors: dict[str, str]) -> None:
    """Other hours (or closed) on one of the staff member's local dates; replaces that date's override."""
    require_admin(actor)
    if errors:
        raise Invalid(errors=errors)
    async with write_transaction():
        await staff_row(staff_id)
        await DateOverride.delete().where((DateOverride.staff == staff_id) & (DateOverride.day == data.day)).run()
        if data.closed:
            await DateOverride.insert(DateOverride(staff=staff_id, day=data.day)).run()
        for start, end in data.ranges:
            await DateOverride.insert(
                DateOverride(staff=staff_id, day=data.day, start_minute=start, end_minute=end)
            ).run()


NO_OVERRIDE = "There is no override on that date."


async def delete_override(actor: Actor, staff_id: int, day_raw: str) -> None:
    require_admin(actor)
    day = parse_day(day_raw)
    async with write_transaction():
        await staff_row(staff_id)
        if day is None:
            raise NotFound(NO_OVERRIDE)
        await change_one(
            DateOverride.delete().where((DateOverride.staff == staff_id) & (DateOverride.day == day)), NO_OVERRIDE
        )


async def add_time_off(
    actor: Actor, staff_id: int, start_day: str, start_time: str, end_day: str, end_time: str, reason: str
) -> int:
    """Time off between two local moments of the staff member (blank times: whole days)."""
    require_admin(actor)
    staff = await staff_row(staff_id)
    zone = zone_info(staff["timezone"])
    errors: dict[str, str] = {}
    first, last = parse_day(start_day), parse_day(end_day or start_day)
    start_min = parse_clock(start_time) if start_time else 0
    end_min = parse_clock(end_time, end=True) if end_time else 1440
    if first is None or start_min is None:
        errors["start"] = f"Enter the first day (and optionally a time, HH:MM). {CHOOSE_DAY}"
    if last is None or end_min is None:
        errors["end"] = f"Enter the last day (and optionally a time, HH:MM). {CHOOSE_DAY}"
    if len(reason) > 200:
        errors["reason"] = "A reason has at most 200 characters."
    if errors or first is None or last is None or start_min is None or end_min is None:  # each None set an error
        raise Invalid(errors=errors)
    start, end = local_instant(first, start_min, zone), local_instant(last, end_min, zone)
    if end <= start:
        raise Invalid(errors={"end": "The time off ends before it starts."})
    if end <= utcnow():
        raise Invalid(errors={"end": "That time off is already over."})
    if end - start > timedelta(days=366):
        raise Invalid(errors={"end": "Enter at most a year at a time."})
    async with write_transaction():
        rows = await TimeOff.insert(TimeOff(staff=staff_id, start_at=start, end_at=end, reason=reason.strip())).run()
    return rows[0]["id"]


async def delete_time_off(actor: Actor, staff_id: int, time_off_id: int) -> None:
    require_admin(actor)
    async with write_transaction():
        await change_one(
            TimeOff.delete().where((TimeOff.id == time_off_id) & (TimeOff.staff == staff_id)),
            "We could not find that time off.",
        )


# --- holidays ------------------------------------------------------------------------------------


async def holidays(actor: Actor) -> list[dict]:
    require_admin(actor)
    since = utcnow().date() - timedelta(days=30)
    return await Holiday.select().where(Holiday.day >= since).order_by(Holiday.day)


async def add_holiday(actor: Actor, day_raw: str, name: str) -> None:
    require_admin(actor)
    day = parse_day(day_raw)
    errors = {}
    if day is None:
        errors["day"] = CHOOSE_DAY
    elif day < utcnow().date() - timedelta(days=1):
        errors["day"] = "That date is in the past."
    if not name.strip():
        errors["name"] = "Name the holiday, e.g. New Year's Day."
    elif len(name) > 120:
        errors["name"] = "A name has at most 120 characters."
    if errors or day is None:  # a missing day set an error
        raise Invalid(errors=errors)
    async with write_transaction():
        if await Holiday.exists().where(Holiday.day == day):
            raise Invalid(errors={"day": f"{day.isoformat()} is already a holiday."})
        await Holiday.insert(Holiday(day=day, name=name.strip())).run()


async def delete_holiday(actor: Actor, holiday_id: int) -> None:
    require_admin(actor)
    async with write_transaction():
        await change_one(Holiday.delete().where(Holiday.id == holiday_id), "We could not find that holiday.")


def holidays_in_ics(data: bytes) -> list[tuple[date, str]]:
    """(date, name) of every day covered by the file's events; all-day events end the day before DTEND."""
    if not data:
        raise Invalid(errors={"file": "Choose an .ics file to import."})
    if len(data) > ICS_MAX_BYTES:
        raise Invalid(errors={"file": "That file is too large for a holiday calendar (512 KB at most)."})
    try:
        calendar = Calendar.from_ical(data)
        events = calendar.walk("VEVENT")
    except Exception:
        raise Invalid(errors={"file": "That file is not an iCalendar (.ics) file."}) from None
    days: dict[date, str] = {}
    for event in events:
        try:
            start = event.decoded("DTSTART")
        except (KeyError, ValueError):
            continue
        end = event.decoded("DTEND") if "DTEND" in event else None
        first = start.date() if isinstance(start, datetime) else start
        if not isinstance(first, date) or not in_window(first):
            continue  # a birthday series from 1900 or an event in year 9999: no holiday of ours
        if isinstance(end, date) and not in_window(end):
            end = None  # an end in year 9999 (or 1) reads as a one-day event
        if isinstance(end, datetime):
            last = end.date() if end.time() != time(0) or end.date() == first else end.date() - timedelta(days=1)
        elif isinstance(end, date):
            last = max(first, end - timedelta(days=1))
        else:
            last = first
        last = min(last, first + timedelta(days=MAX_IMPORT_SPAN_DAYS - 1))
        name = str(event.get("SUMMARY", "") or "Holiday").strip()[:120] or "Holiday"
        day = first
        while day <= last:
            days.setdefault(day, name)
            day += timedelta(days=1)
    if not days:
        raise Invalid(errors={"file": f"That file has no events with dates between {EARLIEST:%Y} and {LATEST:%Y}."})
    return sorted(days.items())


async def import_holidays(actor: Actor, data: bytes) -> tuple[int, int]:
    """Add every future day of the file that is not a holiday yet; returns (added, skipped)."""
    require_admin(actor)
    found = holidays_in_ics(data)
    today = utcnow().date()
    added = skipped = 0
    async with write_transaction():
        existing = {r["day"] for r in await Holiday.select(Holiday.day).where(Holiday.day >= found[0][0])}
        for day, name in found:
            if day < today or day in existing:
                skipped += 1
                continue
            await Holiday.insert(Holiday(day=day, name=name)).run()
            added += 1
    return added, skipped


# --- why is this time not bookable? --------------------------------------------------------------


async def why_not(actor: Actor, service_id: int, staff_id: int, day_raw: str, time_raw: str, zone: str) -> dict:
    """Which rule blocks (service, staff member, local time in ``zone``) — or that it can be booked."""
    require_admin(actor)
    errors = {}
    day, minutes = parse_day(day_raw), parse_clock(time_raw)
    if day is None:
        errors["date"] = CHOOSE_DAY
    if minutes is None:
        errors["time"] = "Enter a time as HH:MM."
    if problem := timezone_problem(zone):
        errors["tz"] = problem
    if errors or day is None or minutes is None:  # each None set an error
        raise Invalid(errors=errors)
    service = await service_row(service_id)
    staff = await staff_row(staff_id)
    start = local_instant(day, minutes, zone)
    result = {
        "start": start,
        "label": services.local_label(start, zone),
        "staff_label": services.local_label(start, staff["timezone"]),
        "appointment_id": None,
    }
    if not service["is_active"]:
        return {**result, "reason": f"the service {service['name']} is inactive (customers cannot see it)"}
    if not staff["is_active"]:
        return {**result, "reason": f"{staff['name']}'s account is deactivated"}
    if not await ServiceStaff.exists().where((ServiceStaff.service == service_id) & (ServiceStaff.staff == staff_id)):
        return {**result, "reason": f"{staff['name']} does not offer {service['name']}"}
    calendar = (
        await services.calendars(
            [{"id": staff["id"], "timezone": staff["timezone"]}], start - timedelta(days=1), start + timedelta(days=1)
        )
    )[0]
    refusal = engine.refusal(services.rules_for(service), calendar, start, utcnow())
    if refusal is None:
        return {**result, "reason": None}
    reason = engine.describe(refusal)
    if refusal.blocker is engine.Blocker.overlap:
        result["appointment_id"] = refusal.appointment_id
    if refusal.blocker is engine.Blocker.holiday:
        name = await Holiday.select(Holiday.name).where(Holiday.day == refusal.day).first()
        if name:
            reason += f" ({name['name']})"
    if refusal.blocker is engine.Blocker.time_off:
        off = [
            t
            for t in await TimeOff.select().where(
                (TimeOff.staff == staff_id)
                & (TimeOff.end_at > start - timedelta(days=1))
                & (TimeOff.start_at < start + timedelta(days=1))
            )
            if t["reason"] and t["start_at"] <= start + timedelta(minutes=service["duration_minutes"])
        ]
        if off:
            reason += f": {off[0]['reason']}"
    return {**result, "reason": reason}


def zones() -> tuple[str, ...]:
    return time_zones()
