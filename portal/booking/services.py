"""Booking services: what is free, booking it without ever double-booking, and managing it later.

The one guarantee: a slot is re-validated inside the booking's write transaction, with writers for
that staff member serialized (SQLite: ``BEGIN IMMEDIATE`` serializes every writer; PostgreSQL: a
row lock on the staff member's user row), so the check and the insert cannot interleave.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, NoReturn

from piccolo.columns import Column
from piccolo.custom_types import Combinable
from piccolo.querystring import Selectable

from portal.accounts.contact import GuestContact, GuestOwnership
from portal.accounts.rules import Actor
from portal.accounts.tables import User
from portal.booking import availability as engine
from portal.booking.access import sees_calendar_of
from portal.booking.ics import calendar_file
from portal.booking.tables import (
    Appointment,
    DateOverride,
    Holiday,
    Service,
    ServiceStaff,
    TimeOff,
    WeeklyHours,
)
from portal.clock import instant, local_day_bounds, local_midnight, parse_instant, utcnow, zone_info, zone_or_utc
from portal.db import current_engine, fetch, fetch_rows, read_together, required_row, write_transaction
from portal.errors import Conflict, Invalid, NotFound
from portal.jobs import queue
from portal.mail.services import MailAttachment, queue_mail
from portal.settings import get_settings
from portal.tokens import new_token, plausible_token, token_digest

ANYONE = "any"
MAX_APPOINTMENT_SPAN = timedelta(days=1)  # duration + buffers of any service stay below this
NOT_FOUND = "We could not find that appointment."


# --- services and staff -------------------------------------------------------------------------


def json_field(value, default):
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


def rules_for(service: dict) -> engine.ServiceRules:
    return engine.ServiceRules(
        service_id=service["id"],
        duration=timedelta(minutes=service["duration_minutes"]),
        step=timedelta(minutes=service["step_minutes"]),
        buffer_before=timedelta(minutes=service["buffer_before_minutes"]),
        buffer_after=timedelta(minutes=service["buffer_after_minutes"]),
        min_notice=timedelta(minutes=service["min_notice_minutes"]),
        horizon=timedelta(days=service["horizon_days"]),
        capacity=service["capacity"],
    )


def _offered() -> Combinable:
    """A service is offered when it is active and at least one active staff member gives it: a new
    service nobody has been assigned to yet would only show customers an empty calendar."""
    staffed = ServiceStaff.select(ServiceStaff.service).where(
        ServiceStaff.staff.is_in(User.select(User.id).where(User.is_active == True))
    )
    return (Service.is_active == True) & Service.id.is_in(staffed)


async def active_services() -> list[dict]:
    """The services customers (and staff booking for them) can choose: active and staffed."""
    return await Service.select().where(_offered()).order_by(Service.position).order_by(Service.name)


async def service_by_slug(slug: str, *, offered_only: bool = True) -> dict:
    """An active service by its address; ``offered_only`` also hides one nobody gives (a booking of
    it that exists already is still shown and managed with ``offered_only=False``)."""
    condition = _offered() if offered_only else Service.is_active == True
    row = await Service.select().where((Service.slug == slug[:80]) & condition).first()
    if row is None:
        raise NotFound("We could not find that service.")
    row["questions"] = json_field(row["intake_questions"], [])
    return row


async def service_staff(service_id: int) -> list[dict]:
    return (
        await User.select(User.id, User.name, User.timezone)
        .where(
            User.id.is_in(ServiceStaff.select(ServiceStaff.staff).where(ServiceStaff.service == service_id))
            & (User.is_active == True)
        )
        .order_by(User.name)
    )


def time_from_minutes(value: int) -> time:
    return time(0, 0) if value >= 1440 else time(value // 60, value % 60)


async def calendars(staff: list[dict], window_start: datetime, window_end: datetime) -> list[engine.StaffCalendar]:
    """Every staff member's calendar for the window: a handful of queries whatever the staff count."""
    ids = [s["id"] for s in staff]
    if not ids:
        return []
    margin = timedelta(days=1)  # local days, durations and buffers (all under a day) reach past the window
    lo, hi = window_start - margin, window_end + margin
    weekly: dict[int, dict[int, list]] = {i: {} for i in ids}
    for row in await WeeklyHours.select().where(WeeklyHours.staff.is_in(ids)).order_by(WeeklyHours.start_minute):
        weekly[row["staff"]].setdefault(row["weekday"], []).append(
            (time_from_minutes(row["start_minute"]), time_from_minutes(row["end_minute"]))
        )
    overrides: dict[int, dict[date, list]] = {i: {} for i in ids}
    for row in await DateOverride.select().where(
        DateOverride.staff.is_in(ids) & (DateOverride.day >= lo.date()) & (DateOverride.day <= hi.date())
    ):
        ranges = overrides[row["staff"]].setdefault(row["day"], [])
        if row["start_minute"] is not None:
            ranges.append((time_from_minutes(row["start_minute"]), time_from_minutes(row["end_minute"])))
    holidays = frozenset(
        r["day"]
        for r in await Holiday.select(Holiday.day).where((Holiday.day >= lo.date()) & (Holiday.day <= hi.date()))
    )
    time_off: dict[int, list] = {i: [] for i in ids}
    for row in await TimeOff.select().where(TimeOff.staff.is_in(ids) & (TimeOff.end_at > lo) & (TimeOff.start_at < hi)):
        time_off[row["staff"]].append((row["start_at"], row["end_at"]))
    bookings = await _bookings(ids, lo, hi)
    return [
        engine.StaffCalendar(
            staff_id=s["id"],
            zone=s["timezone"] or "UTC",
            weekly={k: tuple(v) for k, v in weekly[s["id"]].items()},
            overrides={k: tuple(v) for k, v in overrides[s["id"]].items()},
            holidays=holidays,
            time_off=tuple(time_off[s["id"]]),
            bookings=tuple(bookings[s["id"]]),
        )
        for s in staff
    ]


async def _bookings(ids: list[int], lo: datetime, hi: datetime) -> dict[int, list[engine.Booking]]:
    """Booked appointments of these staff members overlapping [lo, hi), as engine Bookings.
    Read as plain tuples, and on SQLite as untyped expressions: Piccolo's per-row dicts and
    per-value type converters cost several times the query itself for a month of appointments."""
    if current_engine().engine_type == "sqlite":  # expressions have no declared type: no converter runs
        text, number = "{} || ''", "{} + 0"
    else:
        text = number = "{}"
    rows = await fetch_rows(
        "SELECT "
        + ", ".join(number.format(c) for c in ("a.id", "a.staff", "a.service"))
        + ", "
        + ", ".join(text.format(c) for c in ("a.start_at", "a.end_at"))
        + ", "
        + ", ".join(number.format(c) for c in ("a.seats", "s.buffer_before_minutes", "s.buffer_after_minutes"))
        + " FROM appointment a JOIN service s ON s.id = a.service WHERE a.staff IN ("
        + ", ".join("{}" for _ in ids)
        + ") AND a.status = 'booked' AND a.end_at > {} AND a.start_at < {} AND a.start_at > {}",
        *ids,
        lo,
        hi,
        lo - MAX_APPOINTMENT_SPAN,
    )  # the last bound keeps the index range to the window
    bookings: dict[int, list] = {i: [] for i in ids}
    minutes: dict[int, timedelta] = {}
    for id_, staff, service, start, end, seats, before, after in rows:
        bb = minutes.get(before) or minutes.setdefault(before, timedelta(minutes=before))
        ba = minutes.get(after) or minutes.setdefault(after, timedelta(minutes=after))
        bookings[staff].append(engine.quick_booking(instant(start), instant(end), service, bb, ba, seats, id_))
    return bookings


def _choose(staff: list[dict], choice: str) -> list[dict]:
    if choice in ("", ANYONE):
        return staff
    chosen = [s for s in staff if str(s["id"]) == choice]
    if not chosen:
        raise NotFound("That person does not offer this service.")
    return chosen


async def free_slots(
    service: dict, staff_choice: str, window_start: datetime, window_end: datetime, now: datetime | None = None
) -> list[engine.Slot]:
    now = now or utcnow()
    async with read_together():
        staff = _choose(await service_staff(service["id"]), staff_choice)
        loaded = await calendars(staff, window_start, window_end)
    rules = rules_for(service)
    slots: list[engine.Slot] = []
    for calendar in loaded:
        slots.extend(engine.free_slots(rules, calendar, window_start, window_end, now))
    slots.sort(key=_slot_order)  # a key sort runs in C; the dataclass's own ordering is Python code
    return slots


_slot_order = attrgetter("start", "staff_id")


def month_window(month: date, zone: str) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first, zone), local_midnight(nxt, zone)


def day_window(day: date, zone: str) -> tuple[datetime, datetime]:
    return local_day_bounds(day, zone)


async def month_days(
    service: dict, staff_choice: str, month: date, zone: str, now: datetime | None = None
) -> dict[date, int]:
    """Local dates (customer's zone) in the month that have free times, with how many starts."""
    now = now or utcnow()
    start, end = month_window(month, zone)
    async with read_together():
        staff = _choose(await service_staff(service["id"]), staff_choice)
        loaded = await calendars(staff, start, end)
    rules = rules_for(service)
    starts: set[int] = set()
    for calendar in loaded:
        starts.update(engine.free_start_instants(rules, calendar, start, end, now))
    tz = zone_info(zone)
    days: dict[date, int] = {}
    for us in starts:
        day = engine.instant(us).astimezone(tz).date()
        days[day] = days.get(day, 0) + 1
    return days


@dataclass(frozen=True)
class TimeChoice:
    start: datetime  # UTC
    label: str  # "09:30" in the customer's zone
    seats_left: int


async def day_times(service: dict, staff_choice: str, day: date, zone: str) -> list[TimeChoice]:
    start, end = day_window(day, zone)
    tz = zone_info(zone)
    best: dict[datetime, int] = {}
    for slot in await free_slots(service, staff_choice, start, end):
        best[slot.start] = max(best.get(slot.start, 0), slot.seats_left)
    return [TimeChoice(s, s.astimezone(tz).strftime("%H:%M"), seats) for s, seats in sorted(best.items())]


# --- booking ------------------------------------------------------------------------------------


@dataclass
class Details(GuestContact):
    """What the booking form asks besides the time; ``name`` and ``email`` of guests only."""

    phone: str = ""
    note: str = ""
    timezone: str = "UTC"
    answers: dict[str, str] = field(default_factory=dict)


def check_details(service: dict, details: Details, actor: Actor | None) -> dict[str, str]:
    errors = details.problems(actor)
    if len(details.phone) > 40 or any(c not in "+0123456789 ()-./" for c in details.phone):
        errors["phone"] = "Enter a phone number with digits, spaces and + ( ) - only."
    if len(details.note) > 2000:
        errors["note"] = "A note can have at most 2,000 characters."
    for question in service["questions"]:
        key = f"q_{question['id']}"
        value = details.answers.get(key, "").strip()
        if question.get("required") and not value:
            errors[key] = "Please answer this question."
        elif value and question.get("kind") == "choice" and value not in question.get("options", []):
            errors[key] = "Choose one of the options."
        elif value and question.get("kind") == "yesno" and value not in ("yes", "no"):
            errors[key] = "Answer yes or no."
        elif len(value) > 1000:
            errors[key] = "An answer can have at most 1,000 characters."
    return errors


def parse_start(raw: str) -> datetime:
    return parse_instant(raw, message="That time could not be read. Pick a time from the calendar.")


async def _lock_staff(staff_ids: list[int]) -> None:
    """PostgreSQL: serialize bookings per staff member (SQLite's IMMEDIATE already serializes all)."""
    if current_engine().engine_type != "sqlite":
        for staff_id in sorted(staff_ids):  # a fixed order: no deadlocks between bookers
            await fetch("SELECT id FROM portal_user WHERE id = {} FOR UPDATE", staff_id)


async def _bookings_that_day(staff_ids: list[int], start: datetime) -> tuple[dict[int, int], dict[int, int]]:
    day_start = local_midnight(start.astimezone(UTC).date(), UTC)
    rows = await Appointment.select(Appointment.staff, Appointment.start_at).where(
        Appointment.staff.is_in(staff_ids)
        & (Appointment.status == "booked")
        & (Appointment.start_at >= day_start - timedelta(days=28))
        & (Appointment.start_at < day_start + timedelta(days=1))
    )
    today = {i: 0 for i in staff_ids}
    recent = {i: 0 for i in staff_ids}
    for row in rows:
        recent[row["staff"]] += 1
        if row["start_at"] >= day_start:
            today[row["staff"]] += 1
    return today, recent


async def nearest_alternatives(service: dict, staff_choice: str, start: datetime, count: int = 3) -> list[datetime]:
    slots = await free_slots(service, staff_choice, start - timedelta(days=3), start + timedelta(days=14))
    starts = sorted({s.start for s in slots}, key=lambda s: (abs((s - start).total_seconds()), s))
    return sorted(starts[:count])


class SlotTaken(Conflict):
    def __init__(self, alternatives: list[datetime]) -> None:
        super().__init__("Sorry, that time was just taken. Here are the nearest free times.")
        self.alternatives = alternatives


def refusal_status(refusal: engine.Refusal | None) -> int:
    """How a refused start is answered, by the type of the refusal, never by its wording: taken by
    another booking (or, with several staff members, no single reason) is a 409 offering the nearest
    free times; a rule of the service or calendar is a 422 naming the rule."""
    return SlotTaken.status_code if refusal is None or refusal.taken else Invalid.status_code


async def _refuse(refusal: engine.Refusal | None, service: dict, staff_choice: str, start: datetime) -> NoReturn:
    if refusal_status(refusal) == SlotTaken.status_code:
        raise SlotTaken(await nearest_alternatives(service, staff_choice, start))
    raise Invalid(f"That time cannot be booked: {refusal}.")


async def book(
    actor: Actor | None,
    service: dict,
    staff_choice: str,
    start_raw: str,
    details: Details,
    *,
    booked_by: int | None = None,
) -> tuple[dict, str]:
    """Book one seat. Returns the appointment and the raw manage token (only ever in the mail/page).
    ``actor`` is the customer (None for a guest); ``booked_by`` the staff member booking for them."""
    start = parse_start(start_raw)
    errors = check_details(service, details, actor)
    if errors:
        raise Invalid(errors=errors)
    staff = _choose(await service_staff(service["id"]), staff_choice)
    rules = rules_for(service)
    now = utcnow()
    email, name = details.email_and_name(actor)
    raw_token = new_token()
    async with write_transaction():
        await _lock_staff([s["id"] for s in staff])
        free = [
            calendar.staff_id
            for calendar in await calendars(staff, start - timedelta(days=1), start + timedelta(days=1))
            if any(
                slot.start == start
                for slot in engine.free_slots(rules, calendar, start, start + timedelta(seconds=1), now)
            )
        ]
        if not free:
            why = None
            if len(staff) == 1:
                calendar = (await calendars(staff, start - timedelta(days=1), start + timedelta(days=1)))[0]
                why = engine.refusal(rules, calendar, start, now)
            await _refuse(why, service, staff_choice, start)
        today, recent = await _bookings_that_day(free, start)
        staff_id = engine.choose_staff(free, today, recent)
        if await Appointment.exists().where(
            (Appointment.service == service["id"])
            & (Appointment.staff == staff_id)
            & (Appointment.start_at == start)
            & (Appointment.customer_email == email)
            & (Appointment.status == "booked")
        ):
            raise Invalid("You already have a seat at that time.")
        rows = await Appointment.insert(
            Appointment(
                service=service["id"],
                staff=staff_id,
                customer=actor.id if actor else None,
                customer_name=name,
                customer_email=email,
                customer_phone=details.phone.strip(),
                customer_timezone=zone_or_utc(details.timezone),
                answers=json.dumps(details.answers),
                note=details.note,
                start_at=start,
                end_at=start + rules.duration,
                uid=f"{secrets.token_hex(16)}@front-desk",
                manage_token_hash=token_digest(raw_token),
                booked_by=booked_by,
                created_at=now,
                updated_at=now,
            )
        ).run()
        appointment = await full_appointment(rows[0]["id"])
        await _mail_change(appointment, "appointment_confirmed", raw_token)
        await _schedule_reminders(appointment)
    return appointment, raw_token


async def full_appointment(appointment_id: int) -> dict:
    row = (
        await Appointment.select(
            *Appointment.all_columns(),
            Appointment.service.name.as_alias("service_name"),
            Appointment.service.slug.as_alias("service_slug"),
            Appointment.service.cancel_cutoff_minutes.as_alias("cancel_cutoff"),
            Appointment.service.reschedule_cutoff_minutes.as_alias("reschedule_cutoff"),
            Appointment.service.reminder_offsets.as_alias("reminder_offsets"),
            Appointment.staff.name.as_alias("staff_name"),
            Appointment.staff.email.as_alias("staff_email"),
            Appointment.staff.timezone.as_alias("staff_timezone"),
            Appointment.service.intake_questions.as_alias("questions"),
        )
        .where(Appointment.id == appointment_id)
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    answers = json_field(row["answers"], {})
    row["answer_list"] = [
        (q["label"], answers.get(f"q_{q['id']}", ""))
        for q in json_field(row["questions"], [])
        if answers.get(f"q_{q['id']}")
    ]
    return row


async def _mail_change(appointment: dict, template: str, raw_token: str | None) -> None:
    method = "CANCEL" if appointment["status"] == "cancelled" else "REQUEST"
    link = (
        f"{get_settings().base_url}/appointments/manage/{raw_token}"
        if raw_token
        else f"{get_settings().base_url}/appointments"
    )
    ics = calendar_file(appointment, method=method, organizer_email=get_settings().mail_from)
    await queue_mail(
        appointment["customer_email"],
        template,
        {
            "appointment": appointment,
            "link": link,
            "when": local_label(appointment["start_at"], appointment["customer_timezone"]),
        },
        attachments=[
            MailAttachment(
                "invite.ics" if method == "REQUEST" else "cancel.ics", f"text/calendar; method={method}", ics
            )
        ],
    )


def local_label(instant: datetime, zone: str) -> str:
    local = instant.astimezone(zone_info(zone))
    return f"{local.strftime('%A %d %B %Y, %H:%M')} ({zone_or_utc(zone)})"


async def _schedule_reminders(appointment: dict) -> None:
    now = utcnow()
    for minutes in json_field(appointment["reminder_offsets"], []):
        at = appointment["start_at"] - timedelta(minutes=int(minutes))
        if at > now:
            await queue.enqueue(
                "booking.reminder",
                {"appointment_id": appointment["id"], "sequence": appointment["sequence"], "minutes": int(minutes)},
                run_at=at,
                unique_key=f"reminder:{appointment['id']}:{appointment['sequence']}:{minutes}",
            )


async def send_reminder(payload: dict) -> None:
    """Runs as a job: skipped when the appointment was cancelled or moved since it was scheduled."""
    appointment = await full_appointment(payload["appointment_id"])
    if appointment["status"] != "booked" or appointment["sequence"] != payload["sequence"]:
        return
    async with write_transaction():
        await queue_mail(
            appointment["customer_email"],
            "appointment_reminder",
            {
                "appointment": appointment,
                "link": f"{get_settings().base_url}/appointments",
                "when": local_label(appointment["start_at"], appointment["customer_timezone"]),
            },
        )


# --- managing -----------------------------------------------------------------------------------


async def appointment_for_token(raw: str) -> dict:
    """The appointment a manage link opens. The link is only ever delivered by mail, so its first use
    proves the appointment's address (see ``_prove_address``)."""
    if not plausible_token(raw):
        raise NotFound(NOT_FOUND)
    row = (
        await Appointment.select(Appointment.id, Appointment.customer_email_proven_at)
        .where(Appointment.manage_token_hash == token_digest(raw))
        .first()
    )
    if row is None:
        raise NotFound(NOT_FOUND)
    appointment = await full_appointment(row["id"])
    if appointment["end_at"] < utcnow() - timedelta(days=30):
        raise NotFound("This link has expired.")
    if row["customer_email_proven_at"] is None:
        await GUEST.prove(row["id"], utcnow())
        appointment = await full_appointment(row["id"])
    return appointment


GUEST = GuestOwnership(Appointment.customer, Appointment.customer_email, Appointment.customer_email_proven_at)


async def claim_guest_appointments(user_id: int, email: str) -> int:
    """Guest bookings made with a newly proven address join the account."""
    return await GUEST.claim(user_id, email)


def listed(*more: Selectable) -> list[Selectable]:
    """The columns every list of appointments reads (id, times, status, the service's name), then ``more``."""
    return [
        Appointment.id,
        Appointment.start_at,
        Appointment.end_at,
        Appointment.status,
        Appointment.service.name.as_alias("service_name"),
        *more,
    ]


async def my_appointments(actor: Actor) -> tuple[list[dict], list[dict]]:
    """The customer's own appointments: never a guest booking merely made with their address."""
    rows = (
        await Appointment.select(*listed(Appointment.staff.name.as_alias("staff_name")))
        .where(Appointment.customer == actor.id)
        .order_by(Appointment.start_at)
    )
    now = utcnow()
    upcoming = [r for r in rows if r["end_at"] >= now and r["status"] == "booked"]
    past = [r for r in reversed(rows) if r not in upcoming]
    return upcoming, past


async def appointment_for_actor(actor: Actor, appointment_id: int) -> dict:
    appointment = await full_appointment(appointment_id)
    if appointment["customer"] != actor.id:
        raise NotFound(NOT_FOUND)
    return appointment


def _check_changeable(appointment: dict, cutoff: str, verb: str, by_staff: bool, now: datetime) -> None:
    """Only a booked appointment changes, and the customer only before the service's ``cutoff``
    (``cancel_cutoff`` or ``reschedule_cutoff``, minutes before the start); staff are not bound by it."""
    if appointment["status"] != "booked":
        raise Invalid("This appointment is not booked any more.")
    minutes = appointment[cutoff]
    if not by_staff and appointment["start_at"] - timedelta(minutes=minutes) <= now:
        raise Invalid(f"Appointments can be {verb} up to {_hours(minutes)} before they start. Please contact us.")


async def cancel(appointment: dict, reason: str, raw_token: str | None, *, by_staff: bool = False) -> None:
    """Cancel and mail the customer a CANCEL .ics. Staff (``by_staff``) are not bound by the cutoff."""
    now = utcnow()
    _check_changeable(appointment, "cancel_cutoff", "cancelled", by_staff, now)
    if len(reason) > 1000:
        raise Invalid(errors={"reason": "A reason can have at most 1,000 characters."})
    async with write_transaction():
        await (
            Appointment.update(
                {
                    Appointment.status: "cancelled",
                    Appointment.cancelled_at: now,
                    Appointment.cancel_reason: reason.strip(),
                    Appointment.updated_at: now,
                    Appointment.sequence: Appointment.sequence + 1,
                }
            )
            .where((Appointment.id == appointment["id"]) & (Appointment.status == "booked"))
            .run()
        )
        await _mail_change(await full_appointment(appointment["id"]), "appointment_cancelled", raw_token)


async def reschedule(appointment: dict, start_raw: str, raw_token: str | None, *, by_staff: bool = False) -> dict:
    """Move to another start of the same staff member, re-validated under the staff lock; the customer
    is mailed. Staff (``by_staff``) are not bound by the cutoff; every other rule of the engine holds.
    A staff move gives the customer a fresh manage link (only its hash is stored, so the old one ends)."""
    now = utcnow()
    _check_changeable(appointment, "reschedule_cutoff", "moved", by_staff, now)
    start = parse_start(start_raw)
    service = required_row(await Service.select().where(Service.id == appointment["service"]).first())
    service["questions"] = json_field(service["intake_questions"], [])
    rules = rules_for(service)
    staff = [s for s in await service_staff(service["id"]) if s["id"] == appointment["staff"]]
    if not staff:
        raise Invalid(
            "This appointment cannot be moved online. Please contact us."
            if not by_staff
            else f"{appointment['staff_name']} no longer offers {service['name']}: cancel it and book again."
        )
    if by_staff and raw_token is None:
        raw_token = new_token()
    new_digest = token_digest(raw_token) if by_staff and raw_token is not None else None
    async with write_transaction():
        await _lock_staff([appointment["staff"]])
        calendar = (await calendars(staff, start - timedelta(days=1), start + timedelta(days=1)))[0]
        # The appointment being moved does not block its own new time.
        calendar = engine.StaffCalendar(
            **{**calendar.__dict__, "bookings": tuple(b for b in calendar.bookings if b.id != appointment["id"])}
        )
        why = engine.refusal(rules, calendar, start, now)
        if why is not None:
            await _refuse(why, service, str(appointment["staff"]), start)
        changes: dict[Column | str, Any] = {
            Appointment.start_at: start,
            Appointment.end_at: start + rules.duration,
            Appointment.sequence: Appointment.sequence + 1,
            Appointment.updated_at: now,
        }
        if new_digest is not None:  # a staff move
            changes[Appointment.manage_token_hash] = new_digest
        moved_rows = (
            await Appointment.update(changes)
            .where((Appointment.id == appointment["id"]) & (Appointment.status == "booked"))
            .returning(Appointment.id)
            .run()
        )
        if not moved_rows:
            raise Invalid("This appointment is not booked any more.")
        moved = await full_appointment(appointment["id"])
        await _mail_change(moved, "appointment_moved", raw_token)
        await _schedule_reminders(moved)
    return moved


def _hours(minutes: int) -> str:
    return f"{minutes // 60} hours" if minutes >= 120 else f"{minutes} minutes"


async def objection_to_deactivating(staff_id: int, name: str) -> str | None:
    """Registered with accounts (``before_deactivation``): a staff member with upcoming appointments
    stays active until those are moved or cancelled, so no customer is left waiting."""
    upcoming = await Appointment.count().where(
        (Appointment.staff == staff_id) & (Appointment.status == "booked") & (Appointment.end_at > utcnow())
    )
    if not upcoming:
        return None
    return (
        f"{name} has {upcoming} upcoming appointment{'s' if upcoming != 1 else ''}: "
        "move or cancel them from the calendar first, so no customer is left waiting."
    )


async def appointments_of_contact(actor: Actor, email: str, limit: int = 5) -> list[dict]:
    """A customer's appointments by email, upcoming first then the latest past ones, for the help
    desk's customer sidebar (staff only); ``openable`` says whether ``actor`` may open each. One query."""
    if not actor.is_staff:
        return []
    rows = await fetch(
        "SELECT a.id, a.staff, a.start_at, a.status, s.name AS service_name, u.name AS staff_name FROM appointment a "
        "JOIN service s ON s.id = a.service JOIN portal_user u ON u.id = a.staff WHERE a.customer_email = {} "
        f"ORDER BY a.start_at DESC LIMIT {int(limit) * 4}",
        email,
    )
    now = utcnow()
    for row in rows:
        row["start_at"] = instant(row["start_at"])
        row["upcoming"] = row["start_at"] >= now and row["status"] == "booked"
        row["openable"] = sees_calendar_of(actor, row["staff"])
    upcoming = sorted((r for r in rows if r["upcoming"]), key=lambda r: r["start_at"])
    return (upcoming + [r for r in rows if not r["upcoming"]])[:limit]
