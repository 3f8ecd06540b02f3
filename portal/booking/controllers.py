"""Customer booking: services → calendar → times → details → booked; manage by link or account."""

from __future__ import annotations

import calendar as calendar_module
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import HTMXDetails
from litestar.response import Response, Template

from portal.booking import services
from portal.booking.ics import calendar_file
from portal.booking.services import ANYONE
from portal.clock import local_today, parse_day, parse_month, time_zones, utcnow, zone_or_utc
from portal.errors import DomainError
from portal.settings import get_settings
from portal.web.access import signed_in_actor
from portal.web.auth import current_actor
from portal.web.responses import VARY_TARGET, after_post, flash, form_error, page_or_fragment
from portal.web.zones import remember_zone, visitor_zone

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
_zone = visitor_zone
_remember_zone = remember_zone


def _month(value: str, zone: str) -> date:
    if value:
        return parse_month(value, message="That month could not be read. Pick a month from the calendar.")
    return local_today(zone).replace(day=1)


def _day(value: str) -> date | None:
    return parse_day(value, message="That date could not be read. Pick a day from the calendar.") if value else None


def _wants_times_only(request: Request) -> bool:
    """A click on a day swaps only the times: compute that day, not the whole month."""
    htmx: HTMXDetails | None = getattr(request, "htmx", None)
    if not htmx:
        return False
    return htmx.target == "times-slot" and not htmx.boosted


async def _times_context(request: Request, service: dict, staff: str, day: str, tz: str, action: str) -> dict:
    zone = _zone(request, tz)
    chosen_day = _day(day)
    times = await services.day_times(service, staff, chosen_day, zone) if chosen_day else []
    return {
        "service": service,
        "staff": staff or ANYONE,
        "zone": zone,
        "day": chosen_day,
        "times": times,
        "action": action,
    }


async def _calendar_context(
    request: Request, service: dict, staff: str, month: str, day: str, tz: str, action: str
) -> dict[str, Any]:
    zone = _zone(request, tz)
    first = _month(month, zone)
    chosen_day = _day(day)
    counts = await services.month_days(service, staff, first, zone)
    weeks = calendar_module.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    times = await services.day_times(service, staff, chosen_day, zone) if chosen_day else []
    today = local_today(zone)
    return {
        "service": service,
        "staff": staff or ANYONE,
        "staff_list": await services.service_staff(service["id"]),
        "zone": zone,
        "zones": time_zones(),
        "month": first,
        "weeks": weeks,
        "counts": counts,
        "prev_month": (first - timedelta(days=1)).replace(day=1),
        "next_month": (first + timedelta(days=32)).replace(day=1),
        "show_prev": first > today.replace(day=1),
        "day": chosen_day,
        "times": times,
        "action": action,
        "today": today,
    }


@dataclass
class BookForm:
    start: str = ""
    alternative: str = ""  # one of the nearby times offered after a slot was taken
    staff: str = ANYONE
    name: str = ""
    email: str = ""
    phone: str = ""
    note: str = ""
    timezone: str = "UTC"


@dataclass
class CancelForm:
    reason: str = ""


@dataclass
class MoveForm:
    start: str = ""


@dataclass(frozen=True)
class Picker:
    """Where the reschedule picker stands: the ``?month=``, ``?day=`` and ``?tz=`` of its links."""

    month: str = ""
    day: str = ""
    tz: str = ""


def _picker(month: FromQuery[str] = "", day: FromQuery[str] = "", tz: FromQuery[str] = "") -> Picker:
    return Picker(month, day, tz)


PICKER = {"picker": Provide(_picker, sync_to_thread=False)}


def _answers(form: Mapping[str, Any], service: dict[str, Any]) -> dict[str, str]:
    return {f"q_{q['id']}": str(form.get(f"q_{q['id']}", ""))[:2000] for q in service["questions"]}


class BookingController(Controller):
    path = "/book"

    @get("/", name="booking:services")
    async def services_page(self) -> Template:
        return Template("booking/services.html", context={"services": await services.active_services()})

    @get("/{slug:str}", name="booking:calendar")
    async def calendar(
        self,
        request: Request,
        slug: FromPath[str],
        staff: FromQuery[str] = ANYONE,
        month: FromQuery[str] = "",
        day: FromQuery[str] = "",
        tz: FromQuery[str] = "",
    ) -> Response:
        service = await services.service_by_slug(slug)
        if _wants_times_only(request):
            context = await _times_context(request, service, staff, day, tz, f"/book/{slug}/details")
            return Template("booking/_times.html", context=context, headers=VARY_TARGET)
        context = await _calendar_context(request, service, staff, month, day, tz, f"/book/{slug}/details")
        response = page_or_fragment(request, "booking/calendar.html", "booking/_picker.html", context)
        return _remember_zone(response, context["zone"]) if tz else response

    @get("/{slug:str}/details", name="booking:details")
    async def details(
        self,
        request: Request,
        slug: FromPath[str],
        start: FromQuery[str] = "",
        staff: FromQuery[str] = ANYONE,
        tz: FromQuery[str] = "",
    ) -> Template:
        service = await services.service_by_slug(slug)
        when = services.parse_start(start)
        zone = _zone(request, tz)
        return Template(
            "booking/details.html",
            context={
                "service": service,
                "start": when.isoformat(),
                "staff": staff,
                "zone": zone,
                "when": services.local_label(when, zone),
                "form": BookForm(timezone=zone),
                "answers": {},
                "errors": {},
            },
        )

    @post("/{slug:str}", name="booking:book")
    async def book(self, request: Request, slug: FromPath[str]) -> Response:
        service = await services.service_by_slug(slug)
        raw = await request.form()
        form = BookForm(**{k: str(raw.get(k, "") or "")[:2000] for k in BookForm.__dataclass_fields__})
        if form.alternative:
            form.start, form.alternative = form.alternative, ""
        details = services.Details(
            name=form.name,
            email=form.email,
            phone=form.phone,
            note=form.note,
            timezone=zone_or_utc(form.timezone),
            answers=_answers(raw, service),
        )
        try:
            appointment, _ = await services.book(
                current_actor(request), service, form.staff or ANYONE, form.start, details
            )
        except DomainError as error:
            when = services.parse_start(form.start) if form.start else utcnow()
            context = {
                "service": service,
                "start": form.start,
                "staff": form.staff,
                "zone": details.timezone,
                "when": services.local_label(when, details.timezone),
                "form": form,
                "answers": details.answers,
                "alternatives": getattr(error, "alternatives", []),
                "label": lambda s: services.local_label(s, details.timezone),
            }
            return form_error(request, "booking/details.html", "booking/_details_form.html", context, error)
        if current_actor(request) is not None:
            flash(request, "Your appointment is booked. We have sent you a confirmation with a calendar file.")
            return after_post(request, f"/appointments/{appointment['id']}")
        # A guest's manage link is in the mail only: the page must not hand it to whoever typed the address.
        context = {
            "appointment": appointment,
            "when": services.local_label(appointment["start_at"], appointment["customer_timezone"]),
        }
        return page_or_fragment(
            request,
            "booking/booked.html",
            "booking/_booked.html",
            context,
            status_code=201,
            re_target="#main",
            re_swap="innerHTML",
        )


# --- managing: by link (token) or by the signed-in customer (id) --------------------------------


@dataclass(frozen=True)
class Managed:
    """An appointment its customer manages, the address its pages hang under, and the mailed token
    when it was opened by link (None for the signed-in customer: their session is the proof)."""

    appointment: dict
    base: str
    token: str | None


async def _by_link(token: FromPath[str]) -> Managed:
    return Managed(await services.appointment_for_token(token), f"/appointments/manage/{token}", token)


async def _signed_in(request: Request, appointment_id: FromPath[int]) -> Managed:
    appointment = await services.appointment_for_actor(signed_in_actor(request), appointment_id)
    return Managed(appointment, f"/appointments/{appointment_id}", None)


MINE = {"managed": Provide(_signed_in)}


async def _manage_context(appointment: dict, base: str) -> dict:
    now = utcnow()
    booked = appointment["status"] == "booked"
    return {
        "appointment": appointment,
        "base": base,
        "when": services.local_label(appointment["start_at"], appointment["customer_timezone"]),
        "can_cancel": booked and appointment["start_at"] - timedelta(minutes=appointment["cancel_cutoff"]) > now,
        "can_move": booked and appointment["start_at"] - timedelta(minutes=appointment["reschedule_cutoff"]) > now,
        "errors": {},
        "answers": services.json_field(appointment["answers"], {}),
    }


async def _manage_page(managed: Managed) -> Template:
    return Template("booking/manage.html", context=await _manage_context(managed.appointment, managed.base))


async def _ics(appointment: dict) -> Response:
    method = "CANCEL" if appointment["status"] == "cancelled" else "REQUEST"
    body = calendar_file(appointment, method=method, organizer_email=get_settings().mail_from)
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="appointment.ics"', "Cache-Control": "private, no-store"},
    )


async def _cancel(request: Request, managed: Managed, reason: str) -> Response:
    appointment, base, token = managed.appointment, managed.base, managed.token
    try:
        await services.cancel(appointment, reason, token)
    except DomainError as error:
        context = await _manage_context(appointment, base)
        return form_error(request, "booking/manage.html", "booking/_cancel_form.html", context, error)
    flash(request, "Your appointment is cancelled. We have sent you a confirmation.")
    return after_post(request, base)


async def _move_page(request: Request, managed: Managed, picker: Picker) -> Response:
    appointment, base = managed.appointment, managed.base
    service = await services.service_by_slug(appointment["service_slug"], offered_only=False)
    staff, zone, action = (
        str(appointment["staff"]),
        picker.tz or appointment["customer_timezone"],
        f"{base}/reschedule/confirm",
    )
    if _wants_times_only(request):
        context = await _times_context(request, service, staff, picker.day, zone, action)
        return Template("booking/_times.html", context=context, headers=VARY_TARGET)
    context = await _calendar_context(request, service, staff, picker.month, picker.day, zone, action)
    context.update({"appointment": appointment, "base": base, "moving": True})
    return page_or_fragment(request, "booking/reschedule.html", "booking/_picker.html", context)


async def _move_confirm(managed: Managed, start: str) -> Template:
    appointment, base = managed.appointment, managed.base
    when = services.parse_start(start)
    return Template(
        "booking/reschedule_confirm.html",
        context={
            "appointment": appointment,
            "base": base,
            "start": when.isoformat(),
            "when": services.local_label(when, appointment["customer_timezone"]),
            "errors": {},
        },
    )


async def _move(request: Request, managed: Managed, start: str) -> Response:
    appointment, base, token = managed.appointment, managed.base, managed.token
    try:
        await services.reschedule(appointment, start, token)
    except DomainError as error:
        context = {
            "appointment": appointment,
            "base": base,
            "start": start,
            "errors": {},
            "when": services.local_label(services.parse_start(start), appointment["customer_timezone"])
            if start
            else "",
            "alternatives": getattr(error, "alternatives", []),
            "label": lambda s: services.local_label(s, appointment["customer_timezone"]),
        }
        return form_error(request, "booking/reschedule_confirm.html", "booking/_move_form.html", context, error)
    flash(request, "Your appointment has moved. We have sent you an updated calendar file.")
    return after_post(request, base)


class ManageByLinkController(Controller):
    path = "/appointments/manage/{token:str}"
    dependencies = {"managed": Provide(_by_link)}

    @get("/", name="booking:manage")
    async def show(self, managed: NamedDependency[Managed]) -> Template:
        return await _manage_page(managed)

    @get("/ics", name="booking:manage_ics")
    async def ics(self, managed: NamedDependency[Managed]) -> Response:
        return await _ics(managed.appointment)

    @post("/cancel", name="booking:manage_cancel")
    async def cancel(
        self, request: Request, managed: NamedDependency[Managed], data: Annotated[CancelForm, FORM]
    ) -> Response:
        return await _cancel(request, managed, data.reason)

    @get("/reschedule", name="booking:manage_move", dependencies=PICKER)
    async def move(
        self, request: Request, managed: NamedDependency[Managed], picker: NamedDependency[Picker]
    ) -> Response:
        return await _move_page(request, managed, picker)

    @get("/reschedule/confirm", name="booking:manage_move_confirm")
    async def move_confirm(self, managed: NamedDependency[Managed], start: FromQuery[str] = "") -> Template:
        return await _move_confirm(managed, start)

    @post("/reschedule", name="booking:manage_move_submit")
    async def move_submit(
        self, request: Request, managed: NamedDependency[Managed], data: Annotated[MoveForm, FORM]
    ) -> Response:
        return await _move(request, managed, data.start)


class MyAppointmentsController(Controller):
    path = "/appointments"

    @get("/", name="booking:mine")
    async def mine(self, request: Request) -> Template:
        upcoming, past = await services.my_appointments(signed_in_actor(request))
        return Template("booking/mine.html", context={"upcoming": upcoming, "past": past})

    @get("/{appointment_id:int}", name="booking:mine_show", dependencies=MINE)
    async def show(self, managed: NamedDependency[Managed]) -> Template:
        return await _manage_page(managed)

    @get("/{appointment_id:int}/ics", name="booking:mine_ics", dependencies=MINE)
    async def ics(self, managed: NamedDependency[Managed]) -> Response:
        return await _ics(managed.appointment)

    @post("/{appointment_id:int}/cancel", name="booking:mine_cancel", dependencies=MINE)
    async def cancel(
        self, request: Request, managed: NamedDependency[Managed], data: Annotated[CancelForm, FORM]
    ) -> Response:
        return await _cancel(request, managed, data.reason)

    @get("/{appointment_id:int}/reschedule", name="booking:mine_move", dependencies={**MINE, **PICKER})
    async def move(
        self, request: Request, managed: NamedDependency[Managed], picker: NamedDependency[Picker]
    ) -> Response:
        return await _move_page(request, managed, picker)

    @get("/{appointment_id:int}/reschedule/confirm", name="booking:mine_move_confirm", dependencies=MINE)
    async def move_confirm(self, managed: NamedDependency[Managed], start: FromQuery[str] = "") -> Template:
        return await _move_confirm(managed, start)

    @post("/{appointment_id:int}/reschedule", name="booking:mine_move_submit", dependencies=MINE)
    async def move_submit(
        self, request: Request, managed: NamedDependency[Managed], data: Annotated[MoveForm, FORM]
    ) -> Response:
        return await _move(request, managed, data.start)
