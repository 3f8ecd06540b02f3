"""The staff calendar (agents and admins): day/week views, appointment page and actions, phone
bookings, the personal iCal feed; and the public, token-authenticated feed itself."""

from __future__ import annotations

from datetime import date as date_type

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal.booking import calendar, services
from portal.booking.back_controllers import form_of
from portal.booking.back_forms import one
from portal.clock import parse_day, zone_info, zone_or_utc
from portal.errors import DomainError, Invalid
from portal.ids import QueryId, parse_id
from portal.web.access import signed_in_actor
from portal.web.responses import after_post, flash, form_error, page_or_fragment

BASE = "/back/calendar"


def _int(raw: str) -> int:
    return parse_id(raw) or 0


def _day(raw: str) -> date_type | None:
    return parse_day(raw) if raw else None


async def _appointment_context(request: Request, appointment_id: int, **extra) -> dict:
    actor = signed_in_actor(request)
    appointment = await calendar.appointment_for_staff(actor, appointment_id)
    zone = calendar.viewer_zone(actor)
    return {
        "appointment": appointment,
        "zone": zone,
        "when": services.local_label(appointment["start_at"], zone),
        "customer_when": services.local_label(appointment["start_at"], appointment["customer_timezone"]),
        "base": request.app.route_reverse("back:appointment", appointment_id=appointment_id),
        "errors": {},
        "reason": "",
        **extra,
    }


def _start_day(appointment: dict, zone: str) -> date_type:
    """The day the appointment starts on in ``zone``: where the reschedule picker opens."""
    return appointment["start_at"].astimezone(zone_info(zone)).date()


def _back_to_appointment(request: Request, appointment_id: int, message: str) -> Response:
    """After a staff action: say what happened and show the appointment page again."""
    flash(request, message)
    return after_post(request, request.app.route_reverse("back:appointment", appointment_id=appointment_id))


class CalendarController(Controller):
    path = BASE

    @get("/", name="back:calendar")
    async def index(
        self, request: Request, view: FromQuery[str] = "day", date: FromQuery[str] = "", staff: FromQuery[str] = ""
    ) -> Template:
        context = await calendar.calendar_view(signed_in_actor(request), view, date[:10], staff[:20])
        return page_or_fragment(request, "booking/back/calendar.html", "booking/back/_calendar.html", context)

    # --- one appointment ---------------------------------------------------------------------------

    @get("/appointments/{appointment_id:int}", name="back:appointment")
    async def show(self, request: Request, appointment_id: FromPath[int]) -> Template:
        return Template("booking/back/appointment.html", context=await _appointment_context(request, appointment_id))

    @post("/appointments/{appointment_id:int}/note", name="back:appointment_note")
    async def note(self, request: Request, appointment_id: FromPath[int]) -> Response:
        note = one(await form_of(request), "staff_note")
        try:
            await calendar.save_note(signed_in_actor(request), appointment_id, note)
        except DomainError as error:
            context = await _appointment_context(request, appointment_id)
            context["appointment"]["staff_note"] = note
            return form_error(request, "booking/back/appointment.html", "booking/back/_note_form.html", context, error)
        return _back_to_appointment(request, appointment_id, "Note saved.")

    @post("/appointments/{appointment_id:int}/status", name="back:appointment_status")
    async def status(self, request: Request, appointment_id: FromPath[int]) -> Response:
        label = await calendar.mark(signed_in_actor(request), appointment_id, one(await form_of(request), "status"))
        return _back_to_appointment(request, appointment_id, f"Marked as {label.lower()}.")

    @post("/appointments/{appointment_id:int}/cancel", name="back:appointment_cancel")
    async def cancel(self, request: Request, appointment_id: FromPath[int]) -> Response:
        reason = one(await form_of(request), "reason")[:1000]
        try:
            await calendar.staff_cancel(signed_in_actor(request), appointment_id, reason)
        except DomainError as error:
            context = await _appointment_context(request, appointment_id, reason=reason)
            return form_error(
                request, "booking/back/appointment.html", "booking/back/_staff_cancel_form.html", context, error
            )
        return _back_to_appointment(
            request, appointment_id, "Appointment cancelled; the customer was sent the cancellation."
        )

    @get("/appointments/{appointment_id:int}/reschedule", name="back:appointment_move")
    async def move(self, request: Request, appointment_id: FromPath[int], date: FromQuery[str] = "") -> Template:
        context = await _appointment_context(request, appointment_id)
        appointment = context["appointment"]
        day = _day(date[:10]) or _start_day(appointment, context["zone"])
        context.update(day=day, times=await calendar.move_times(appointment, day, context["zone"]))
        return page_or_fragment(request, "booking/back/reschedule.html", "booking/back/_move_times.html", context)

    @post("/appointments/{appointment_id:int}/reschedule", name="back:appointment_move_submit")
    async def move_submit(self, request: Request, appointment_id: FromPath[int]) -> Response:
        start = one(await form_of(request), "start")
        try:
            await calendar.staff_reschedule(signed_in_actor(request), appointment_id, start)
        except DomainError as error:
            context = await _appointment_context(request, appointment_id)
            appointment = context["appointment"]
            try:
                day = services.parse_start(start).astimezone(zone_info(context["zone"])).date()
            except Invalid:
                day = _start_day(appointment, context["zone"])
            context.update(
                day=day,
                times=await calendar.move_times(appointment, day, context["zone"]),
                alternatives=getattr(error, "alternatives", []),
            )
            return form_error(request, "booking/back/reschedule.html", "booking/back/_move_times.html", context, error)
        return _back_to_appointment(request, appointment_id, "Appointment moved; the customer was sent the new time.")

    # --- phone bookings ----------------------------------------------------------------------------

    async def _book_context(
        self, request: Request, service: int, staff: str, day: str, customer: int, q: str, **extra
    ) -> dict:
        actor = signed_in_actor(request)
        zone = calendar.viewer_zone(actor)
        chosen_day = _day(day[:10]) or calendar.parse_anchor("", zone)
        context = await calendar.booking_choices(actor, service or None, staff, chosen_day, zone)
        context.update(
            zone=zone,
            day=chosen_day,
            q=q,
            matches=await calendar.find_customers(actor, q),
            customer=await calendar.customer_account(customer) if customer else None,
            service_id=service,
            errors={},
            values={},
            answers={},
            start="",
        )
        context.update(extra)
        return context

    @get("/book", name="back:book")
    async def book_page(
        self,
        request: Request,
        service: QueryId = 0,
        staff: FromQuery[str] = "",
        date: FromQuery[str] = "",
        customer: QueryId = 0,
        q: FromQuery[str] = "",
    ) -> Template:
        context = await self._book_context(request, service, staff[:20], date, customer, q[:100])
        return page_or_fragment(request, "booking/back/book.html", "booking/back/_book.html", context)

    @post("/book", name="back:book_submit")
    async def book(self, request: Request) -> Response:
        form = await form_of(request)
        service_id, customer_id = _int(one(form, "service")), _int(one(form, "customer"))
        staff, start = one(form, "staff"), one(form, "start")
        service = None
        try:
            actor = signed_in_actor(request)
            service = await calendar.service_row(service_id) if service_id else None
            if service is None:
                raise Invalid(errors={"service": "Choose a service."})
            if not start:
                raise Invalid(errors={"start": "Choose a time."})
            details = services.Details(
                name=one(form, "name"),
                email=one(form, "email"),
                phone=one(form, "phone"),
                note=one(form, "note"),
                timezone=zone_or_utc(one(form, "timezone") or calendar.viewer_zone(actor)),
                answers={f"q_{q['id']}": one(form, f"q_{q['id']}")[:2000] for q in service["questions"]},
            )
            appointment, _ = await calendar.book_for_customer(
                actor, service_id, staff, start, customer_id or None, details
            )
        except DomainError as error:
            context = await self._book_context(
                request,
                service_id,
                staff,
                one(form, "date"),
                customer_id,
                "",
                values={k: one(form, k) for k in ("name", "email", "phone", "note")},
                answers={k: one(form, k) for k in form if k.startswith("q_")},
                start=start,
                alternatives=getattr(error, "alternatives", []),
            )
            return form_error(request, "booking/back/book.html", "booking/back/_book.html", context, error)
        flash(request, f"Booked for {appointment['customer_name']}; they were sent the confirmation.")
        return after_post(request, request.app.route_reverse("back:appointment", appointment_id=appointment["id"]))

    # --- my feed -----------------------------------------------------------------------------------

    @get("/feed", name="back:feed")
    async def feed(self, request: Request) -> Template:
        actor = signed_in_actor(request)
        return Template("booking/back/feed.html", context={"feed": await calendar.feed_status(actor.id), "url": ""})

    @post("/feed", name="back:feed_issue")
    async def feed_issue(self, request: Request) -> Template:
        actor = signed_in_actor(request)
        url = await calendar.issue_feed(actor)
        return Template("booking/back/feed.html", context={"feed": await calendar.feed_status(actor.id), "url": url})

    @post("/feed/revoke", name="back:feed_revoke")
    async def feed_revoke(self, request: Request) -> Response:
        actor = signed_in_actor(request)
        found = await calendar.revoke_feed(actor, actor.id)
        flash(
            request,
            "Your calendar feed is turned off: the old address no longer works."
            if found
            else "You had no calendar feed.",
        )
        return after_post(request, request.app.route_reverse("back:feed"))


class StaffFeedAdminController(Controller):
    path = "/back/schedules/{user_id:int}/feed"

    @post("/revoke", name="back:schedule_feed_revoke")
    async def revoke(self, request: Request, user_id: FromPath[int]) -> Response:
        found = await calendar.revoke_feed(signed_in_actor(request), user_id)
        flash(request, "Calendar feed turned off." if found else "There was no calendar feed.")
        return after_post(request, request.app.route_reverse("back:schedule", user_id=user_id))


@get("/feeds/staff/{token:str}", name="feeds:staff")
async def staff_feed(token: FromPath[str]) -> Response:
    body = await calendar.feed_calendar(token)
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="calendar.ics"'},
    )
