"""/back/sla: business-hours calendars and SLA policies (admins)."""

from __future__ import annotations

from collections.abc import Awaitable
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
from portal.web.responses import flash_and_go, whole_page


async def _page(request: PortalRequest, error: Invalid | None = None, **extra: Any) -> Template:
    overview = await sla_admin.overview()
    for calendar in overview["calendars"]:
        calendar["rows"] = saved_rows(calendar["weekly"])
    office_hours = {day: [(9 * 60, 17 * 60)] for day in range(5)}  # what a new calendar starts with
    context = {**overview, "section": "sla", "new_calendar_rows": saved_rows(office_hours), **extra}
    return whole_page(request, "tickets/back/sla.html", context, error)


async def _saving(request: PortalRequest, saving: Awaitable[object], message: str, **on_error: Any) -> Response[Any]:
    """Every form on the SLA page: make the change, then back to the page with ``message``; refused,
    the page again with the messages and ``on_error`` (the form as posted)."""
    try:
        await saving
    except Invalid as error:
        return await _page(request, error, **on_error)
    return flash_and_go(request, message, request.app.route_reverse("sla:index"))


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
    async def index(self, request: PortalRequest) -> Template:
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
        message = "Policy deleted. Tickets keep their due times until their priority changes."
        return flash_and_go(request, message, request.app.route_reverse("sla:index"))


async def _save_calendar(request: PortalRequest, calendar_id: int | None) -> Response[Any]:
    raw = await request.form()
    form = _calendar_form(raw)
    saving = sla_admin.save_calendar(signed_in_actor(request), calendar_id, form)
    rows = _calendar_rows(raw) or saved_rows({})
    shown = {"calendar_form": form, "calendar_rows": rows, "form_calendar_id": calendar_id}
    return await _saving(request, saving, "Business hours saved.", **shown)


async def _save_policy(request: PortalRequest, policy_id: int | None) -> Response[Any]:
    form = _policy_form(await request.form())
    saving = sla_admin.save_policy(signed_in_actor(request), policy_id, form)
    message = "Policy saved. New tickets, and tickets whose priority changes, follow it."
    return await _saving(request, saving, message, policy_form=form, form_policy_id=policy_id)
