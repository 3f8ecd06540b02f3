"""Back office for booking (admins): services, staff schedules, holidays, "why is this time not bookable?"."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal.booking import admin, schedules
from portal.booking.back_forms import (
    KINDS,
    WEEKDAYS,
    EchoedForm,
    Form,
    QuestionRows,
    ServiceInput,
    edit_questions,
    many,
    one,
    parse_override,
    parse_service,
    parse_weekly,
)
from portal.booking.calendar import viewer_zone
from portal.errors import DomainError, Invalid
from portal.ids import QueryId, parse_int
from portal.web.access import signed_in_actor
from portal.web.hours import Rows, posted_rows, saved_rows
from portal.web.responses import after_post, flash, form_error, page_or_fragment, wants_fragment
from portal.web.uploads import chosen_files


async def form_of(request: Request) -> Form:
    raw = await request.form()
    return {key: [v if isinstance(v, str) else "" for v in raw.getall(key)] for key in raw.keys()}  # noqa: SIM118 - a multidict


# --- services ------------------------------------------------------------------------------------


async def _service_context(
    request: Request, data: ServiceInput, service: dict | None, rows: QuestionRows | None = None
) -> dict:
    actor = signed_in_actor(request)
    slots = (
        await admin.preview(actor, service["id"], viewer_zone(actor)) if service and not wants_fragment(request) else []
    )
    return {
        "form": data,
        "service": service,
        "staff_options": await admin.staff_members(),
        "kinds": KINDS,
        "question_rows": (rows or QuestionRows(data.questions)).rows,
        "blank_questions": (rows or QuestionRows(data.questions)).blank,
        "errors": {},
        "zone": viewer_zone(actor),
        "slots": slots,
    }


async def _reshow(request: Request, data: ServiceInput, service: dict | None, rows: QuestionRows) -> Response:
    """The form again after "Add question", "Up" or "Down": nothing saved, nothing refused yet."""
    context = await _service_context(request, data, service, rows)
    return page_or_fragment(request, "booking/back/service.html", "booking/back/_service_form.html", context)


class ServicesController(Controller):
    path = "/back/services"

    @get("/", name="back:services")
    async def index(self, request: Request) -> Template:
        rows = await admin.list_services(signed_in_actor(request))
        return Template("booking/back/services.html", context={"services": rows})

    @get("/new", name="back:services_new")
    async def new(self, request: Request) -> Template:
        admin.require_admin(signed_in_actor(request))
        return Template("booking/back/service.html", context=await _service_context(request, ServiceInput(), None))

    @post("/", name="back:services_create")
    async def create(self, request: Request) -> Response:
        form = await form_of(request)
        data, errors = parse_service(form)
        if rows := edit_questions(form, data.questions):
            return await _reshow(request, data, None, rows)
        try:
            service_id = await admin.create_service(signed_in_actor(request), data, errors)
        except DomainError as error:
            context = await _service_context(request, data, None)
            return form_error(request, "booking/back/service.html", "booking/back/_service_form.html", context, error)
        flash(request, f"Service “{data.name}” created.")
        return after_post(request, request.app.route_reverse("back:service", service_id=service_id))

    @get("/{service_id:int}", name="back:service")
    async def show(self, request: Request, service_id: FromPath[int]) -> Template:
        service, data = await admin.service_form(signed_in_actor(request), service_id)
        return Template("booking/back/service.html", context=await _service_context(request, data, service))

    @post("/{service_id:int}", name="back:service_update")
    async def update(self, request: Request, service_id: FromPath[int]) -> Response:
        actor = signed_in_actor(request)
        form = await form_of(request)
        data, errors = parse_service(form)
        if rows := edit_questions(form, data.questions):
            return await _reshow(request, data, (await admin.service_form(actor, service_id))[0], rows)
        try:
            cancelled = await admin.update_service(actor, service_id, data, errors)
        except DomainError as error:
            service = (await admin.service_form(actor, service_id))[0]
            context = await _service_context(request, data, service)
            return form_error(request, "booking/back/service.html", "booking/back/_service_form.html", context, error)
        flash(
            request,
            f"Service “{data.name}” saved."
            + (
                f" {cancelled} appointment{'s' if cancelled != 1 else ''} cancelled; the customers were notified."
                if cancelled
                else ""
            ),
        )
        return after_post(request, request.app.route_reverse("back:service", service_id=service_id))

    @post("/{service_id:int}/delete", name="back:service_delete")
    async def delete(self, request: Request, service_id: FromPath[int]) -> Response:
        name = await admin.delete_service(signed_in_actor(request), service_id)
        flash(request, f"Service “{name}” deleted.")
        return after_post(request, request.app.route_reverse("back:services"))

    @get("/{service_id:int}/preview", name="back:service_preview")
    async def preview(self, request: Request, service_id: FromPath[int]) -> Template:
        actor = signed_in_actor(request)
        service = await admin.service_row(service_id)
        slots = await admin.preview(actor, service_id, viewer_zone(actor))
        return Template(
            "booking/back/_preview.html", context={"service": service, "slots": slots, "zone": viewer_zone(actor)}
        )


# --- schedules -----------------------------------------------------------------------------------


def _posted_rows(form: Form) -> Rows:
    return posted_rows(lambda key: one(form, key))


@dataclass
class OverrideValues(EchoedForm):
    day: str = ""
    kind: str = "closed"
    r0_start: str = ""
    r0_end: str = ""
    r1_start: str = ""
    r1_end: str = ""


@dataclass
class TimeOffValues(EchoedForm):
    start_day: str = ""
    start_time: str = ""
    end_day: str = ""
    end_time: str = ""
    reason: str = ""


def _back_to_schedule(request: Request, user_id: int, message: str) -> Response:
    """After a schedule change: say what happened and show the staff member's schedule again."""
    flash(request, message)
    return after_post(request, request.app.route_reverse("back:schedule", user_id=user_id))


async def _schedule_context(request: Request, user_id: int, **extra) -> dict:
    data = await schedules.schedule(signed_in_actor(request), user_id)
    context = {
        **data,
        "weekdays": WEEKDAYS,
        "zone_value": data["staff"]["timezone"],
        "rows": saved_rows(data["weekly"]),
        "override": OverrideValues(),
        "time_off_form": TimeOffValues(),
        "errors": {},
    }
    context.update(extra)
    return context


class SchedulesController(Controller):
    path = "/back/schedules"

    @get("/", name="back:schedules")
    async def index(self, request: Request) -> Template:
        return Template(
            "booking/back/schedules.html",
            context={"staff": await schedules.overview(signed_in_actor(request)), "weekdays": WEEKDAYS},
        )

    @get("/{user_id:int}", name="back:schedule")
    async def show(self, request: Request, user_id: FromPath[int]) -> Template:
        return Template("booking/back/schedule.html", context=await _schedule_context(request, user_id))

    async def _refused(self, request: Request, user_id: int, fragment: str, error: DomainError, **extra) -> Response:
        context = await _schedule_context(request, user_id, **extra)
        return form_error(request, "booking/back/schedule.html", f"booking/back/{fragment}", context, error)

    @post("/{user_id:int}/weekly", name="back:schedule_weekly")
    async def weekly(self, request: Request, user_id: FromPath[int]) -> Response:
        form = await form_of(request)
        weekly, errors = parse_weekly(form)
        zone = one(form, "timezone")
        try:
            await schedules.save_weekly(signed_in_actor(request), user_id, zone, weekly, errors)
        except DomainError as error:
            return await self._refused(
                request, user_id, "_weekly_form.html", error, rows=_posted_rows(form), zone_value=zone
            )
        return _back_to_schedule(request, user_id, "Working hours saved.")

    @post("/{user_id:int}/copy", name="back:schedule_copy")
    async def copy(self, request: Request, user_id: FromPath[int]) -> Response:
        form = await form_of(request)
        try:
            source = int(one(form, "source", "-1"))
            targets = [t for t in (parse_int(v, 0, 6) for v in many(form, "targets")) if t is not None]
            copied = await schedules.copy_day(signed_in_actor(request), user_id, source, targets)
        except ValueError:
            return await self._refused(
                request, user_id, "_copy_form.html", Invalid(errors={"copy": "Choose the day to copy."})
            )
        except DomainError as error:
            return await self._refused(request, user_id, "_copy_form.html", error)
        return _back_to_schedule(
            request, user_id, f"{WEEKDAYS[source]}'s hours copied to {copied} day{'s' if copied != 1 else ''}."
        )

    @post("/{user_id:int}/overrides", name="back:schedule_override")
    async def override(self, request: Request, user_id: FromPath[int]) -> Response:
        form = await form_of(request)
        values = OverrideValues.from_form(form)
        try:
            staff = await schedules.staff_row(user_id)
            data, errors = parse_override(form, schedules.staff_today(staff["timezone"]))
            await schedules.save_override(signed_in_actor(request), user_id, data, errors)
        except DomainError as error:
            return await self._refused(request, user_id, "_override_form.html", error, override=values)
        return _back_to_schedule(request, user_id, f"Override for {values.day} saved.")

    @post("/{user_id:int}/overrides/delete", name="back:schedule_override_delete")
    async def override_delete(self, request: Request, user_id: FromPath[int]) -> Response:
        day = one(await form_of(request), "day")
        await schedules.delete_override(signed_in_actor(request), user_id, day)
        return _back_to_schedule(request, user_id, f"Override for {day} removed: the weekly hours apply again.")

    @post("/{user_id:int}/time-off", name="back:schedule_time_off")
    async def time_off(self, request: Request, user_id: FromPath[int]) -> Response:
        form = await form_of(request)
        values = TimeOffValues.from_form(form)
        try:
            await schedules.add_time_off(
                signed_in_actor(request),
                user_id,
                values.start_day,
                values.start_time,
                values.end_day,
                values.end_time,
                values.reason,
            )
        except DomainError as error:
            return await self._refused(request, user_id, "_time_off_form.html", error, time_off_form=values)
        return _back_to_schedule(request, user_id, "Time off added.")

    @post("/{user_id:int}/time-off/{time_off_id:int}/delete", name="back:schedule_time_off_delete")
    async def time_off_delete(self, request: Request, user_id: FromPath[int], time_off_id: FromPath[int]) -> Response:
        await schedules.delete_time_off(signed_in_actor(request), user_id, time_off_id)
        return _back_to_schedule(request, user_id, "Time off removed.")


# --- holidays ------------------------------------------------------------------------------------


async def _holidays_context(request: Request, **extra) -> dict:
    return {
        "holidays": await schedules.holidays(signed_in_actor(request)),
        "errors": {},
        "day": "",
        "name": "",
        **extra,
    }


class HolidaysController(Controller):
    path = "/back/holidays"

    @get("/", name="back:holidays")
    async def index(self, request: Request) -> Template:
        return Template("booking/back/holidays.html", context=await _holidays_context(request))

    @post("/", name="back:holidays_add")
    async def add(self, request: Request) -> Response:
        form = await form_of(request)
        day, name = one(form, "day"), one(form, "name")
        try:
            await schedules.add_holiday(signed_in_actor(request), day, name)
        except DomainError as error:
            context = await _holidays_context(request, day=day, name=name)
            return form_error(request, "booking/back/holidays.html", "booking/back/_holiday_form.html", context, error)
        flash(request, f"{day} is now a holiday.")
        return after_post(request, request.app.route_reverse("back:holidays"))

    @post("/import", name="back:holidays_import")
    async def import_ics(self, request: Request) -> Response:
        chosen = await chosen_files(request, "file")
        data = await chosen[0].read() if chosen else b""
        try:
            added, skipped = await schedules.import_holidays(signed_in_actor(request), data)
        except DomainError as error:
            context = await _holidays_context(request)
            return form_error(request, "booking/back/holidays.html", "booking/back/_import_form.html", context, error)
        flash(
            request,
            f"Imported {added} holiday{'s' if added != 1 else ''}"
            + (f"; {skipped} skipped (past or already there)." if skipped else "."),
        )
        return after_post(request, request.app.route_reverse("back:holidays"))

    @post("/{holiday_id:int}/delete", name="back:holidays_delete")
    async def delete(self, request: Request, holiday_id: FromPath[int]) -> Response:
        await schedules.delete_holiday(signed_in_actor(request), holiday_id)
        flash(request, "Holiday removed.")
        return after_post(request, request.app.route_reverse("back:holidays"))


# --- why is this time not bookable? --------------------------------------------------------------


class WhyController(Controller):
    path = "/back/availability"

    @get("/why", name="back:why")
    async def why(
        self,
        request: Request,
        service: QueryId = 0,
        staff: QueryId = 0,
        date: FromQuery[str] = "",
        time: FromQuery[str] = "",
        tz: FromQuery[str] = "",
    ) -> Template:
        actor = signed_in_actor(request)
        zone = tz or viewer_zone(actor)
        context = {
            "services": await admin.list_services(actor),
            "staff_list": await admin.staff_members(),
            "service_id": service,
            "staff_id": staff,
            "date": date,
            "time": time,
            "zone": zone,
            "zones": schedules.zones(),
            "result": None,
            "errors": {},
            "error_message": "",
        }
        if service and staff:
            try:
                context["result"] = await schedules.why_not(actor, service, staff, date, time, zone)
            except DomainError as error:
                context.update(errors=error.errors, error_message=error.message if not error.errors else "")
                return page_or_fragment(
                    request, "booking/back/why.html", "booking/back/_why.html", context, status_code=error.status_code
                )
        return page_or_fragment(request, "booking/back/why.html", "booking/back/_why.html", context)
