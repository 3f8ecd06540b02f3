"""Admin configuration of services: every field, staff assignment, deactivation and the customer preview.

Rules that protect booked customers: a capacity below the seats already booked at a future start is
refused; removing a staff member from a service, or deactivating it, while they have future
appointments is refused unless the admin asks to cancel those appointments (each customer is then
mailed a CANCEL .ics) — in the same transaction, so nothing is half-saved.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from portal.accounts.rules import Actor
from portal.accounts.tables import User
from portal.booking import services
from portal.booking.back_forms import ServiceInput
from portal.booking.tables import Appointment, Service, ServiceStaff
from portal.clock import utcnow
from portal.db import fetch, write_transaction
from portal.errors import Forbidden, Invalid, NotFound

STAFF_ROLES = ("agent", "admin")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators configure booking.")


async def staff_members(active_only: bool = True) -> list[dict]:
    """Everyone who can hold appointments: agents and admins."""
    query = (
        User.select(User.id, User.name, User.email, User.timezone, User.role, User.is_active)
        .where(User.role.is_in(list(STAFF_ROLES)))
        .order_by(User.name)
    )
    if active_only:
        query = query.where(User.is_active == True)
    return await query


async def list_services(actor: Actor) -> list[dict]:
    require_admin(actor)
    rows = await Service.select().order_by(Service.position).order_by(Service.name)
    staff_counts = {
        r["service"]: r["n"] for r in await fetch("SELECT service, COUNT(*) AS n FROM service_staff GROUP BY service")
    }
    future = {
        r["service"]: r["n"]
        for r in await fetch(
            "SELECT service, COUNT(*) AS n FROM appointment WHERE status = 'booked' AND start_at >= {} GROUP BY service",
            utcnow(),
        )
    }
    for row in rows:
        row["staff_count"] = staff_counts.get(row["id"], 0)
        row["upcoming"] = future.get(row["id"], 0)
    return rows


async def service_row(service_id: int) -> dict:
    row = await Service.select().where(Service.id == service_id).first()
    if row is None:
        raise NotFound("We could not find that service.")
    row["questions"] = services.json_field(row["intake_questions"], [])
    row["reminder_offsets"] = services.json_field(row["reminder_offsets"], [])
    return row


async def service_form(actor: Actor, service_id: int) -> tuple[dict, ServiceInput]:
    require_admin(actor)
    row = await service_row(service_id)
    staff = [
        r["staff"] for r in await ServiceStaff.select(ServiceStaff.staff).where(ServiceStaff.service == service_id)
    ]
    return row, ServiceInput.from_row(row, row["questions"], sorted(staff))


def _columns(data: ServiceInput) -> dict:
    return {
        Service.name: data.name,
        Service.slug: data.slug,
        Service.description: data.description,
        Service.duration_minutes: data.duration_minutes,
        Service.buffer_before_minutes: data.buffer_before_minutes,
        Service.buffer_after_minutes: data.buffer_after_minutes,
        Service.step_minutes: data.step_minutes,
        Service.min_notice_minutes: data.min_notice_minutes,
        Service.horizon_days: data.horizon_days,
        Service.capacity: data.capacity,
        Service.cancel_cutoff_minutes: data.cancel_cutoff_minutes,
        Service.reschedule_cutoff_minutes: data.reschedule_cutoff_minutes,
        Service.position: data.position,
        Service.reminder_offsets: json.dumps(data.reminder_offsets),
        Service.intake_questions: json.dumps([q.as_json() for q in data.questions]),
        Service.is_active: data.is_active,
    }


async def _check_staff(staff_ids: list[int]) -> None:
    if not staff_ids:
        return
    found = {r["id"] for r in await staff_members()}
    if set(staff_ids) - found:
        raise Invalid(errors={"staff": "Choose active agents or administrators from the list."})


async def create_service(actor: Actor, data: ServiceInput, errors: dict[str, str]) -> int:
    require_admin(actor)
    if errors:
        raise Invalid(errors=errors)
    await _check_staff(data.staff)
    async with write_transaction():
        if await Service.exists().where(Service.slug == data.slug):
            raise Invalid(errors={"slug": "Another service already uses this address."})
        rows = await Service.insert(
            Service(**{c._meta.name: v for c, v in _columns(data).items()}, created_at=utcnow())
        ).run()
        service_id = rows[0]["id"]
        for staff_id in data.staff:
            await ServiceStaff.insert(ServiceStaff(service=service_id, staff=staff_id)).run()
    return service_id


async def _future_appointments(service_id: int, staff_ids: list[int] | None = None) -> list[dict]:
    query = Appointment.select(Appointment.id, Appointment.staff, Appointment.start_at, Appointment.seats).where(
        (Appointment.service == service_id) & (Appointment.status == "booked") & (Appointment.end_at > utcnow())
    )
    if staff_ids is not None:
        if not staff_ids:
            return []
        query = query.where(Appointment.staff.is_in(staff_ids))
    return await query.order_by(Appointment.start_at)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


async def update_service(actor: Actor, service_id: int, data: ServiceInput, errors: dict[str, str]) -> int:
    """Save every field; returns how many appointments were cancelled on the admin's request."""
    require_admin(actor)
    if errors:
        raise Invalid(errors=errors)
    await _check_staff(data.staff)
    cancelled = 0
    async with write_transaction():
        current = await service_row(service_id)
        if await Service.exists().where((Service.slug == data.slug) & (Service.id != service_id)):
            raise Invalid(errors={"slug": "Another service already uses this address."})
        assigned = {
            r["staff"] for r in await ServiceStaff.select(ServiceStaff.staff).where(ServiceStaff.service == service_id)
        }
        removed = sorted(assigned - set(data.staff))
        future = await _future_appointments(service_id)
        seats: dict[tuple[int, datetime], int] = {}
        for a in future:
            seats[(a["staff"], a["start_at"])] = seats.get((a["staff"], a["start_at"]), 0) + a["seats"]
        if seats and data.capacity < max(seats.values()):
            raise Invalid(
                errors={
                    "capacity": f"A future session already has {max(seats.values())} seats booked: "
                    "the capacity cannot be lower."
                }
            )
        stranded = [a for a in future if not data.is_active or a["staff"] in removed]
        if stranded and not data.cancel_affected:
            what = (
                "Deactivating this service"
                if not data.is_active and current["is_active"]
                else "Removing staff from this service"
                if data.is_active
                else "This change"
            )
            raise Invalid(
                errors={
                    "cancel_affected": f"{what} would leave {_count(len(stranded), 'future appointment')} "
                    "without a service. Move them first, or tick “Cancel them and "
                    "notify the customers” and save again."
                }
            )
        await Service.update(_columns(data)).where(Service.id == service_id).run()
        if removed:
            await (
                ServiceStaff.delete()
                .where((ServiceStaff.service == service_id) & ServiceStaff.staff.is_in(removed))
                .run()
            )
        for staff_id in sorted(set(data.staff) - assigned):
            await ServiceStaff.insert(ServiceStaff(service=service_id, staff=staff_id)).run()
        reason = (
            "The service is no longer offered."
            if not data.is_active
            else "Your staff member no longer offers this service."
        )
        for a in stranded:
            await services.cancel(await services.full_appointment(a["id"]), reason, None, by_staff=True)
            cancelled += 1
    return cancelled


async def delete_service(actor: Actor, service_id: int) -> str:
    """Only a service that was never booked can be deleted (appointments keep their history)."""
    require_admin(actor)
    async with write_transaction():
        row = await service_row(service_id)
        booked = await Appointment.count().where(Appointment.service == service_id)
        if booked:
            upcoming = len(await _future_appointments(service_id))
            raise Invalid(
                f"{row['name']} has {_count(booked, 'appointment')} in its history"
                + (f", {upcoming} of them still to come" if upcoming else "")
                + ": deactivate it instead (it then disappears from the booking pages)."
            )
        await Service.delete().where(Service.id == service_id).run()
    return row["name"]


async def preview(actor: Actor, service_id: int, zone: str, count: int = 12) -> list[dict]:
    """The next free starts as a customer will see them ("anyone available"), in ``zone``."""
    require_admin(actor)
    service = await service_row(service_id)
    now = utcnow()
    found: dict[datetime, int] = {}
    window = timedelta(days=14)
    start = now
    limit = now + timedelta(days=service["horizon_days"]) + timedelta(days=1)
    while len(found) < count and start < limit:
        for slot in await services.free_slots(service, services.ANYONE, start, min(start + window, limit), now):
            found[slot.start] = max(found.get(slot.start, 0), slot.seats_left)
        start += window
    return [
        {"start": s, "label": services.local_label(s, zone), "seats_left": n} for s, n in sorted(found.items())[:count]
    ]
