"""/back/sla: business-hours calendars and SLA policies (admins)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Response, Template

from portal.errors import Invalid
from portal.tickets import sla_admin
from portal.web.access import signed_in_actor
from portal.web.connection import PortalRequest
from portal.web.hours import Rows, posted_rows, rows_text, saved_rows
from portal.web.responses import after_post, flash, form_error


async def _page(request: PortalRequest, error: Invalid | None = None, **extra: Any) -> Response[Any]:
    overview = await sla_admin.overview()
    for calendar in overview["calendars"]:
        calendar["rows"] = saved_rows(calendar["weekly"])
    office_hours = {day: [(9 * 60, 17 * 60)] for day in range(5)}  # what a new calendar starts with
    context = {**overview, "section": "sla", "errors": {}, "new_calendar_rows": saved_rows(office_hours), **extra}
    if error is not None:
        return form_error(request, "tickets/back/sla.html", "tickets/back/sla.html", context, error)
    return Template("tickets/back/sla.html", context=context)


def _calendar_rows(form: FormMultiDict) -> Rows | None:
    """The time pickers' rows, when the form has them (a client may still post ``day<n>`` text)."""
    if not any(key.startswith("w") and key.endswith(("_start", "_end")) for key in form):
        return None
    return posted_rows(lambda key: str(form.get(key) or ""))


def _calendar_form(form: FormMultiDict) -> sla_admin.CalendarForm:
    rows = _calendar_rows(form)
    return sla_admin.CalendarForm(
        name=str(form.get("name") or ""),
        timezone=str(form.get("timezone") or ""),
        days=rows_text(rows) if rows is not None else {d: str(form.get(f"day{d}") or "") for d in range(7)},
    )


def _policy_form(form: FormMultiDict) -> sla_admin.PolicyForm:
    return sla_admin.PolicyForm(
        **{
            key: str(form.get(key) or "")
            for key in (
                "name",
                "priority",
                "category",
                "calendar",
                "first_response",
                "resolution",
                "pause_when_pending",
                "active",
            )
        }
    )


class SlaController(Controller):
    path = "/back/sla"

    @get("/", name="sla:index")
    async def index(self, request: PortalRequest) -> Response[Any]:
        return await _page(request)

    @post("/calendars", name="sla:calendar_create")
    async def create_calendar(self, request: PortalRequest) -> Response[Any]:
        return await _save_calendar(request, None)

    @post("/calendars/{calendar_id:int}", name="sla:calendar_update")
    async def update_calendar(self, request: PortalRequest, calendar_id: FromPath[int]) -> Response[Any]:
        return await _save_calendar(request, calendar_id)

    @post("/policies", name="sla:policy_create")
    async def create_policy(self, request: PortalRequest) -> Response[Any]:
        return await _save_policy(request, None)

    @post("/policies/{policy_id:int}", name="sla:policy_update")
    async def update_policy(self, request: PortalRequest, policy_id: FromPath[int]) -> Response[Any]:
        return await _save_policy(request, policy_id)

    @post("/policies/{policy_id:int}/delete", name="sla:policy_delete")
    async def delete_policy(self, request: PortalRequest, policy_id: FromPath[int]) -> Response[Any]:
        await sla_admin.delete_policy(signed_in_actor(request), policy_id)
        flash(request, "Policy deleted. Tickets keep their due times until their priority changes.")
        return after_post(request, request.app.route_reverse("sla:index"))


async def _save_calendar(request: PortalRequest, calendar_id: int | None) -> Response[Any]:
    raw = await request.form()
    form = _calendar_form(raw)
    try:
        await sla_admin.save_calendar(signed_in_actor(request), calendar_id, form)
    except Invalid as error:
        rows = _calendar_rows(raw) or saved_rows({})
        return await _page(request, error, calendar_form=form, calendar_rows=rows, form_calendar_id=calendar_id)
    flash(request, "Business hours saved.")
    return after_post(request, request.app.route_reverse("sla:index"))


async def _save_policy(request: PortalRequest, policy_id: int | None) -> Response[Any]:
    form = _policy_form(await request.form())
    try:
        await sla_admin.save_policy(signed_in_actor(request), policy_id, form)
    except Invalid as error:
        return await _page(request, error, policy_form=form, form_policy_id=policy_id)
    flash(request, "Policy saved. New tickets, and tickets whose priority changes, follow it.")
    return after_post(request, request.app.route_reverse("sla:index"))
