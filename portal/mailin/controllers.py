"""Back-office pages of the mail channel (admins): mailboxes, and received mail that needs a person."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Response, Template

from portal.errors import Conflict, DomainError
from portal.files import serving_headers
from portal.ids import QueryId
from portal.mailin import admin
from portal.mailin.admin_forms import MailboxForm
from portal.web.access import signed_in_actor
from portal.web.connection import PortalRequest
from portal.web.responses import after_post, flash, flash_and_go, form_error, page_or_fragment, safe_next

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
PAGE, FRAGMENT = "mailin/back/mailbox.html", "mailin/back/_mailbox_form.html"


@dataclass
class ActiveForm:
    active: str = ""


@dataclass
class ConfirmForm:
    confirm: str = ""


@dataclass
class NextForm:
    next: str = ""


async def _form_context(form: MailboxForm, mailbox: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "form": replace(form, imap_secret=""),  # a typed secret is never sent back, not even after an error
        "mailbox": mailbox,
        "team_options": [("", "No team")] + [(str(t["id"]), t["name"]) for t in await admin.team_choices()],
        "errors": {},
    }


class MailboxesController(Controller):
    path = "/back/mailboxes"

    @get("/", name="mailboxes:index")
    async def index(self, request: PortalRequest) -> Template:
        rows = await admin.mailboxes(signed_in_actor(request))
        return Template(
            "mailin/back/mailboxes.html", context={"mailboxes": rows, "waiting": await admin.waiting_count()}
        )

    @get("/new", name="mailboxes:new")
    async def new(self, request: PortalRequest) -> Template:
        admin.require_admin(signed_in_actor(request))
        return Template(PAGE, context=await _form_context(MailboxForm.blank(), None))

    @post("/", name="mailboxes:create")
    async def create(self, request: PortalRequest, data: Annotated[MailboxForm, FORM]) -> Response[Any]:
        try:
            mailbox_id = await admin.create_mailbox(signed_in_actor(request), data)
        except DomainError as error:
            return form_error(request, PAGE, FRAGMENT, await _form_context(data, None), error)
        url = request.app.route_reverse("mailboxes:edit", mailbox_id=mailbox_id)
        return flash_and_go(request, f"Mailbox {data.address.strip().lower()} created.", url)

    @get("/{mailbox_id:int}", name="mailboxes:edit")
    async def edit(self, request: PortalRequest, mailbox_id: FromPath[int]) -> Template:
        row, form = await admin.mailbox(signed_in_actor(request), mailbox_id)
        return Template(PAGE, context=await _form_context(form, row))

    @post("/{mailbox_id:int}", name="mailboxes:update")
    async def update(
        self, request: PortalRequest, mailbox_id: FromPath[int], data: Annotated[MailboxForm, FORM]
    ) -> Response[Any]:
        actor = signed_in_actor(request)
        try:
            await admin.update_mailbox(actor, mailbox_id, data)
        except DomainError as error:
            row, _ = await admin.mailbox(actor, mailbox_id)
            return form_error(request, PAGE, FRAGMENT, await _form_context(data, row), error)
        url = request.app.route_reverse("mailboxes:edit", mailbox_id=mailbox_id)
        return flash_and_go(request, "Mailbox saved.", url)

    @post("/{mailbox_id:int}/active", name="mailboxes:active")
    async def active(
        self, request: PortalRequest, mailbox_id: FromPath[int], data: Annotated[ActiveForm, FORM]
    ) -> Response[Any]:
        on = data.active == "1"
        address = await admin.set_active(signed_in_actor(request), mailbox_id, on)
        message = f"{address} is active again." if on else f"{address} is deactivated: it receives and sends nothing."
        return flash_and_go(request, message, request.app.route_reverse("mailboxes:index"))

    @post("/{mailbox_id:int}/delete", name="mailboxes:delete")
    async def delete(
        self, request: PortalRequest, mailbox_id: FromPath[int], data: Annotated[ConfirmForm, FORM]
    ) -> Response[Any]:
        actor = signed_in_actor(request)
        try:
            address = await admin.delete_mailbox(actor, mailbox_id, data.confirm == "1")
        except DomainError as error:
            row, form = await admin.mailbox(actor, mailbox_id)
            message = "" if error.errors else error.message
            context = {**await _form_context(form, row), "delete_errors": error.errors, "delete_message": message}
            return Template(PAGE, context=context, status_code=error.status_code)
        return flash_and_go(request, f"Mailbox {address} deleted.", request.app.route_reverse("mailboxes:index"))


class InboundController(Controller):
    path = "/back/inbound"

    @get("/", name="inbound:index")
    async def index(self, request: PortalRequest, status: FromQuery[str] = "", before: QueryId = 0) -> Template:
        view = admin.view_of(status)
        rows, next_cursor = await admin.inbound_page(signed_in_actor(request), view, before or None)
        query = request.url.query
        here = request.url.path + (f"?{query}" if query else "")  # where the row buttons come back to
        context = {"rows": rows, "next_cursor": next_cursor, "view": view, "here": here}
        return page_or_fragment(request, "mailin/back/inbound.html", "mailin/back/_inbound_table.html", context)

    @get("/{inbound_id:int}", name="inbound:show")
    async def show(self, request: PortalRequest, inbound_id: FromPath[int]) -> Template:
        mail = await admin.inbound_mail(signed_in_actor(request), inbound_id)
        return Template("mailin/back/inbound_mail.html", context={"mail": mail})

    @get("/{inbound_id:int}/raw", name="inbound:raw")
    async def raw(self, request: PortalRequest, inbound_id: FromPath[int]) -> Response[bytes]:
        """The original message as a file: never a page (it may hold any HTML or script)."""
        raw = await admin.inbound_raw(signed_in_actor(request), inbound_id)
        headers = serving_headers("application/octet-stream", f"inbound-{inbound_id}.eml")
        return Response(raw, media_type=headers.pop("Content-Type"), headers=headers)

    async def _act(self, request: PortalRequest, inbound_id: int, action: str, data: NextForm) -> Response[Any]:
        back = safe_next(data.next, request.app.route_reverse("inbound:show", inbound_id=inbound_id))
        try:
            message = await admin.act(signed_in_actor(request), inbound_id, action)
        except Conflict as error:  # another admin (or the parse job) was first: say so on the page
            flash(request, error.message, "error")
            return after_post(request, back)
        return flash_and_go(request, message, back)

    @post("/{inbound_id:int}/retry", name="inbound:retry")
    async def retry(
        self, request: PortalRequest, inbound_id: FromPath[int], data: Annotated[NextForm, FORM]
    ) -> Response[Any]:
        return await self._act(request, inbound_id, "retry", data)

    @post("/{inbound_id:int}/release", name="inbound:release")
    async def release(
        self, request: PortalRequest, inbound_id: FromPath[int], data: Annotated[NextForm, FORM]
    ) -> Response[Any]:
        return await self._act(request, inbound_id, "release", data)

    @post("/{inbound_id:int}/drop", name="inbound:drop")
    async def drop(
        self, request: PortalRequest, inbound_id: FromPath[int], data: Annotated[NextForm, FORM]
    ) -> Response[Any]:
        return await self._act(request, inbound_id, "drop", data)
