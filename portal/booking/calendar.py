"""The staff calendar: day and week views in the viewer's zone, the appointment page and what staff
do there (note, completed / no-show, cancel, reschedule on the customer's behalf), phone bookings,
and each staff member's iCal subscription feed.

Scope: agents see and act on their own appointments only; admins on anyone's. Another staff
member's appointment answers 404 to an agent. Booking and moving go through ``services.book`` and
``services.reschedule``: the same engine, re-validation and staff lock as customers get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from icalendar import Calendar, Event, vText

from portal.accounts.rules import Actor, normalize_email
from portal.accounts.tables import User
from portal.booking import availability as engine
from portal.booking import services, week_grid
from portal.booking.access import sees_calendar_of
from portal.booking.admin import service_row, staff_members
from portal.booking.tables import Appointment, Holiday, StaffFeed, TimeOff
from portal.clock import local_day_bounds, local_today, parse_day, utcnow, zone_info, zone_or_utc
from portal.db import ilike, read_together, write_transaction
from portal.errors import Forbidden, Invalid, NotFound
from portal.ids import parse_id
from portal.settings import get_settings
from portal.tokens import new_token, plausible_token, token_digest

STATUSES = {"booked": "Booked", "completed": "Completed", "no_show": "No-show", "cancelled": "Cancelled"}
NOT_YOURS = "We could not find that appointment."
FEED_PAST = timedelta(days=90)


def viewer_zone(actor: Actor) -> str:
    return zone_or_utc(actor.timezone)


def parse_anchor(raw: str, zone: str) -> date:
    return parse_day(raw, field="date") if raw else local_today(zone)


@dataclass
class Cell:
    hours: list[str] = field(default_factory=list)
    appointments: list[dict] = field(default_factory=list)
    time_off: list[str] = field(default_factory=list)
    blocks: list[dict] = field(default_factory=list)  # working hours and time off, placed in the week grid
    lanes: int = 1


async def _visible_staff(actor: Actor, choice: str) -> tuple[str, list[dict]]:
    """Agents: themselves only. Admins: one staff member or everyone ("all", the default)."""
    if not actor.is_admin:
        if choice not in ("", str(actor.id)):
            raise Forbidden("Agents see their own calendar only.")
        return str(actor.id), [{"id": actor.id, "name": actor.name, "timezone": actor.timezone}]
    staff = await staff_members()
    if choice in ("", "all"):
        return "all", staff
    chosen = [s for s in staff if str(s["id"]) == choice]
    if not chosen:
        raise NotFound("We could not find that staff member.")
    return choice, chosen


async def calendar_view(actor: Actor, view: str, anchor_raw: str, staff_choice: str) -> dict:
    zone_name = viewer_zone(actor)
    zone = zone_info(zone_name)
    view = "week" if view == "week" else "day"
    anchor = parse_anchor(anchor_raw, zone_name)
    first = anchor - timedelta(days=anchor.weekday()) if view == "week" else anchor
    days = [first + timedelta(days=i) for i in range(7 if view == "week" else 1)]
    lo, hi = local_day_bounds(days[0], zone)[0], local_day_bounds(days[-1], zone)[1]
    choice, staff = await _visible_staff(actor, staff_choice)
    ids = [s["id"] for s in staff]
    cells: dict[tuple[int, date], Cell] = {(s["id"], d): Cell() for s in staff for d in days}
    async with read_together():
        rows = (
            await Appointment.select(*services.listed(Appointment.staff, Appointment.customer_name, Appointment.seats))
            .where(
                Appointment.staff.is_in(ids or [0])
                & (Appointment.start_at < hi)
                & (Appointment.end_at > lo)
                & (Appointment.start_at > lo - services.MAX_APPOINTMENT_SPAN)
            )
            .order_by(Appointment.start_at)
        )
        off = await TimeOff.select().where(
            TimeOff.staff.is_in(ids or [0]) & (TimeOff.end_at > lo) & (TimeOff.start_at < hi)
        )
        holiday_rows = await Holiday.select().where(
            (Holiday.day >= days[0] - timedelta(days=1)) & (Holiday.day <= days[-1] + timedelta(days=1))
        )
        loaded = await services.calendars([{"id": s["id"], "timezone": s["timezone"]} for s in staff], lo, hi)
    for row in rows:
        local = row["start_at"].astimezone(zone)
        cell = cells.get((row["staff"], local.date()))
        if cell is not None:
            row["time_label"] = f"{local:%H:%M}–{row['end_at'].astimezone(zone):%H:%M}"
            row["status_label"] = STATUSES.get(row["status"], row["status"])
            row["minutes"] = _minutes(local.date(), row["start_at"], row["end_at"], zone)
            row["place"] = week_grid.place(*row["minutes"])
            cell.appointments.append(row)
    for calendar in loaded:
        staff_zone = zone_info(calendar.zone)
        first_local = lo.astimezone(staff_zone).date() - timedelta(days=1)
        last_local = hi.astimezone(staff_zone).date() + timedelta(days=1)
        for _, start, end in engine.working_intervals(calendar, first_local, last_local):
            _spread(cells, calendar.staff_id, start, end, zone, days, lambda label: label)
    for row in off:
        reason = f" ({row['reason']})" if row["reason"] else ""
        _spread(
            cells,
            row["staff"],
            row["start_at"],
            row["end_at"],
            zone,
            days,
            lambda label: f"Time off {label}{reason}",  # noqa: B023 - called at once
            target="time_off",
        )
    for cell in cells.values():
        cell.lanes = week_grid.assign_lanes(cell.appointments)
    holidays = {r["day"]: r["name"] for r in holiday_rows if days[0] <= r["day"] <= days[-1]}
    step = timedelta(days=7 if view == "week" else 1)
    return {
        "view": view,
        "anchor": anchor,
        "days": days,
        "zone": zone_name,
        "staff_choice": choice,
        "staff": staff,
        "cells": cells,
        "holidays": holidays,
        "prev": anchor - step,
        "next": anchor + step,
        "today": local_today(zone),
        "staff_options": await staff_members() if actor.is_admin else [],
        "hour_labels": week_grid.hour_labels(),
    }


def _minutes(day: date, start: datetime, end: datetime, zone: tzinfo) -> tuple[int, int]:
    """An interval as minutes after ``day``'s local midnight, cut to that day (0–1440)."""
    day_lo, day_hi = local_day_bounds(day, zone)
    lo, hi = max(start, day_lo).astimezone(zone), min(end, day_hi)
    last = 1440 if hi == day_hi else hi.astimezone(zone).hour * 60 + hi.astimezone(zone).minute
    return lo.hour * 60 + lo.minute, last  # wall-clock minutes, as the rows are labelled


def _spread(
    cells,
    staff_id: int,
    start: datetime,
    end: datetime,
    zone: tzinfo,
    days: list[date],
    label_of,
    target: str = "hours",
) -> None:
    """Add an interval to every shown day it touches, cut at the viewer's midnights."""
    for day in days:
        day_lo, day_hi = local_day_bounds(day, zone)
        lo, hi = max(start, day_lo), min(end, day_hi)
        if lo < hi:
            text = f"{lo.astimezone(zone):%H:%M}–{'24:00' if hi == day_hi else format(hi.astimezone(zone), '%H:%M')}"
            cell = cells[(staff_id, day)]
            getattr(cell, target).append(label_of(text))
            place = week_grid.place(*_minutes(day, lo, hi, zone))
            cell.blocks.append({"kind": target, "place": place, "label": label_of(text)})


async def upcoming_for(actor: Actor, limit: int = 5) -> list[dict]:
    """The staff member's own next booked appointments (the back-office home), labelled in their zone."""
    zone = zone_info(viewer_zone(actor))
    rows = (
        await Appointment.select(*services.listed(Appointment.customer_name))
        .where((Appointment.staff == actor.id) & (Appointment.status == "booked") & (Appointment.end_at > utcnow()))
        .order_by(Appointment.start_at)
        .limit(limit)
    )
    for row in rows:
        local = row["start_at"].astimezone(zone)
        row["day"] = local.date()
        row["time_label"] = f"{local:%a %d %b, %H:%M}–{row['end_at'].astimezone(zone):%H:%M}"
    return rows


# --- one appointment -----------------------------------------------------------------------------


async def appointment_for_staff(actor: Actor, appointment_id: int) -> dict:
    """The appointment with everything staff need; 404 for an agent when it is someone else's."""
    appointment = await services.full_appointment(appointment_id)
    if not sees_calendar_of(actor, appointment["staff"]):
        raise NotFound(NOT_YOURS)
    appointment["status_label"] = STATUSES.get(appointment["status"], appointment["status"])
    appointment["booked_by_name"] = ""
    if appointment["booked_by"]:
        row = await User.select(User.name).where(User.id == appointment["booked_by"]).first()
        appointment["booked_by_name"] = row["name"] if row else ""
    appointment["has_account"] = appointment["customer"] is not None
    appointment["started"] = appointment["start_at"] <= utcnow()
    return appointment


async def appointments_of_user(actor: Actor, user_id: int, limit: int = 20) -> dict[str, list[dict]]:
    """A person's appointments as customer and as staff (latest first; ``upcoming`` and
    ``openable`` marked), for the admin's page about a user."""
    now = utcnow()
    found: dict[str, list[dict]] = {}
    for key, column in (("as_customer", Appointment.customer), ("as_staff", Appointment.staff)):
        rows = (
            await Appointment.select(
                *services.listed(
                    Appointment.staff, Appointment.staff.name.as_alias("staff_name"), Appointment.customer_name
                )
            )
            .where(column == user_id)
            .order_by(Appointment.start_at, ascending=False)
            .limit(limit)
        )
        for row in rows:
            row["upcoming"] = row["end_at"] >= now and row["status"] == "booked"
            row["openable"] = sees_calendar_of(actor, row["staff"])
            row["status_label"] = STATUSES.get(row["status"], row["status"])
        found[key] = rows
    return found


async def save_note(actor: Actor, appointment_id: int, note: str) -> None:
    if len(note) > 5000:
        raise Invalid(errors={"staff_note": "A note has at most 5,000 characters."})
    async with write_transaction():
        await appointment_for_staff(actor, appointment_id)
        await (
            Appointment.update({Appointment.staff_note: note.strip(), Appointment.updated_at: utcnow()})
            .where(Appointment.id == appointment_id)
            .run()
        )


async def mark(actor: Actor, appointment_id: int, status: str) -> str:
    """Completed or no-show, once the appointment has started (and not when it was cancelled)."""
    if status not in ("completed", "no_show"):
        raise Invalid("Mark it completed or no-show.")
    async with write_transaction():
        appointment = await appointment_for_staff(actor, appointment_id)
        if appointment["status"] == "cancelled":
            raise Invalid("This appointment was cancelled.")
        if not appointment["started"]:
            raise Invalid("You can mark it once it has started.")
        await (
            Appointment.update({Appointment.status: status, Appointment.updated_at: utcnow()})
            .where((Appointment.id == appointment_id) & (Appointment.status != "cancelled"))
            .run()
        )
    return STATUSES[status]


async def staff_cancel(actor: Actor, appointment_id: int, reason: str) -> None:
    appointment = await appointment_for_staff(actor, appointment_id)
    if not reason.strip():
        raise Invalid(errors={"reason": "Give the customer a reason: it is in their mail."})
    await services.cancel(appointment, reason, None, by_staff=True)


async def staff_reschedule(actor: Actor, appointment_id: int, start_raw: str) -> dict:
    appointment = await appointment_for_staff(actor, appointment_id)
    return await services.reschedule(appointment, start_raw, None, by_staff=True)


async def move_times(appointment: dict, day: date, zone: str) -> list[services.TimeChoice]:
    """Free starts of the appointment's staff member on a local day, the appointment itself not blocking."""
    service = await service_row(appointment["service"])
    lo, hi = services.day_window(day, zone)
    staff = [s for s in await services.service_staff(service["id"]) if s["id"] == appointment["staff"]]
    if not staff:
        return []
    calendar = (await services.calendars(staff, lo, hi))[0]
    calendar = engine.StaffCalendar(
        **{**calendar.__dict__, "bookings": tuple(b for b in calendar.bookings if b.id != appointment["id"])}
    )
    tz = zone_info(zone)
    slots = engine.free_slots(services.rules_for(service), calendar, lo, hi, utcnow())
    return [services.TimeChoice(s.start, s.start.astimezone(tz).strftime("%H:%M"), s.seats_left) for s in slots]


# --- booking on a customer's behalf --------------------------------------------------------------


async def bookable_services() -> list[dict]:
    return await services.active_services()


async def booking_choices(actor: Actor, service_id: int | None, staff_raw: str, day: date | None, zone: str) -> dict:
    """What the phone-booking form offers: services, their staff (agents: themselves), the day's times."""
    service = None
    staff: list[dict] = []
    times: list[services.TimeChoice] = []
    if service_id:
        service = await service_row(service_id)
        if not service["is_active"]:
            raise NotFound("That service is not active.")
        staff = await services.service_staff(service_id)
        if not actor.is_admin:
            staff = [s for s in staff if sees_calendar_of(actor, s["id"])]
    chosen = staff_raw if any(str(s["id"]) == staff_raw for s in staff) else (str(staff[0]["id"]) if staff else "")
    if service and chosen and day:
        times = await services.day_times(service, chosen, day, zone)
    return {
        "service": service,
        "staff_list": staff,
        "staff": chosen,
        "times": times,
        "services": await bookable_services(),
    }


async def find_customers(actor: Actor, q: str) -> list[dict]:
    q = q.strip().lower()[:100]
    if len(q) < 2:
        return []
    needle = f"%{q}%"
    return (
        await User.select(User.id, User.name, User.email)
        .where(
            (User.role == "customer") & (User.is_active == True) & (User.email.like(needle) | ilike(User.name, needle))
        )
        .order_by(User.email)
        .limit(10)
    )


async def customer_account(customer_id: int | None = None, email: str = "") -> dict | None:
    query = User.select(User.id, User.name, User.email, User.timezone, User.role).where(User.is_active == True)
    if customer_id:
        return await query.where(User.id == customer_id).first()
    if email:
        return await query.where(User.email == normalize_email(email)).first()
    return None


async def book_for_customer(
    actor: Actor, service_id: int, staff_raw: str, start_raw: str, customer_id: int | None, details: services.Details
) -> tuple[dict, str]:
    """A phone booking: the customer's account when there is one (chosen, or found by email), else the
    contact details typed in. The customer gets the usual confirmation with their manage link."""
    service = await service_row(service_id)
    if not service["is_active"]:
        raise NotFound("That service is not active.")
    if not sees_calendar_of(actor, parse_id(staff_raw)):
        raise Forbidden("Agents book on their own calendar.")
    account = await customer_account(customer_id, details.email)
    if customer_id and account is None:
        raise NotFound("We could not find that customer.")
    customer = None
    if account is not None:
        customer = Actor(
            id=account["id"],
            email=account["email"],
            name=account["name"],
            role=account["role"],
            timezone=account["timezone"],
        )
        details.timezone = zone_or_utc(account["timezone"])
    if not staff_raw or staff_raw == services.ANYONE:
        raise Invalid(errors={"staff": "Choose who the appointment is with."})
    return await services.book(customer, service, staff_raw, start_raw, details, booked_by=actor.id)


# --- iCal subscription feeds ----------------------------------------------------------------------


def feed_url(raw: str) -> str:
    return f"{get_settings().base_url}/feeds/staff/{raw}.ics"


async def feed_status(staff_id: int) -> dict | None:
    return await StaffFeed.select().where(StaffFeed.staff == staff_id).first()


async def issue_feed(actor: Actor) -> str:
    """A new secret feed URL for the actor (the old one stops working); only its hash is kept."""
    raw = new_token()
    async with write_transaction():
        await StaffFeed.delete().where(StaffFeed.staff == actor.id).run()
        await StaffFeed.insert(StaffFeed(staff=actor.id, token_hash=token_digest(raw), created_at=utcnow())).run()
    return feed_url(raw)


async def revoke_feed(actor: Actor, staff_id: int) -> bool:
    if not sees_calendar_of(actor, staff_id):
        raise Forbidden("You can only turn off your own feed.")
    async with write_transaction():
        return bool(await StaffFeed.delete().where(StaffFeed.staff == staff_id).returning(StaffFeed.id).run())


async def drop_feed(staff_id: int, _email: str = "") -> None:
    """When someone stops being staff (an accounts hook: runs inside the caller's write transaction)."""
    await StaffFeed.delete().where(StaffFeed.staff == staff_id).run()


async def feed_calendar(filename: str) -> bytes:
    """The .ics of a feed: the staff member's appointments from 90 days back, cancelled ones left out."""
    raw = filename.removesuffix(".ics")
    if not filename.endswith(".ics") or not plausible_token(raw):
        raise NotFound("No such feed.")
    feed = await StaffFeed.select().where(StaffFeed.token_hash == token_digest(raw)).first()
    if feed is None:
        raise NotFound("No such feed.")
    now = utcnow()
    staff = await User.select(User.name, User.is_active, User.role).where(User.id == feed["staff"]).first()
    if staff is None or not staff["is_active"] or staff["role"] == "customer":
        raise NotFound("No such feed.")
    rows = (
        await Appointment.select(
            *services.listed(
                Appointment.uid,
                Appointment.sequence,
                Appointment.customer_name,
                Appointment.customer_email,
                Appointment.customer_phone,
                Appointment.updated_at,
            )
        )
        .where(
            (Appointment.staff == feed["staff"])
            & (Appointment.status != "cancelled")
            & (Appointment.start_at >= now - FEED_PAST)
        )
        .order_by(Appointment.start_at)
    )
    if feed["last_used_at"] is None or feed["last_used_at"] < now - timedelta(hours=1):
        async with write_transaction():
            await StaffFeed.update({StaffFeed.last_used_at: now}).where(StaffFeed.id == feed["id"]).run()
    calendar = Calendar()
    calendar.add("prodid", "-//Front Desk//Staff calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{get_settings().site_name} · {staff['name']}")
    base = get_settings().base_url
    for row in rows:
        event = Event()
        event.add("uid", f"staff-{row['uid']}")
        event.add("sequence", row["sequence"])
        event.add("dtstamp", row["updated_at"] or now)
        event.add("dtstart", row["start_at"])
        event.add("dtend", row["end_at"])
        event.add("summary", f"{row['service_name']} · {row['customer_name']}")
        details = [f"Customer: {row['customer_name']} <{row['customer_email']}>"]
        if row["customer_phone"]:
            details.append(f"Phone: {row['customer_phone']}")
        if row["status"] != "booked":
            details.append(f"Status: {STATUSES.get(row['status'], row['status'])}")
        event.add("description", vText("\n".join(details)))
        event.add("url", f"{base}/back/calendar/appointments/{row['id']}")
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
