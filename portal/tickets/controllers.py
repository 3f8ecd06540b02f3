"""Front-office tickets: file, list, follow, reply, solve/reopen, rate, download; signed in or by link.

``/tickets/{number}/…`` serves the signed-in requester, ``/t/{token}/…`` the holder of a guest link;
both call the same page functions with the viewer's ``TicketAccess`` (and ``number`` None for a link).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.htmx import ClientRefresh
from litestar.response import Response, Template

from portal import files
from portal.clock import utcnow
from portal.errors import DomainError, Invalid, Throttled
from portal.settings import get_settings
from portal.throttle import Throttle
from portal.tickets import access, messages, reads, rules, write
from portal.tickets.access import TicketAccess
from portal.tickets.messages import Upload
from portal.web.access import signed_in_actor
from portal.web.auth import current_actor
from portal.web.connection import PortalRequest
from portal.web.responses import VARY, after_post, client_ip, flash, form_error, htmx_answer, page_or_fragment
from portal.web.uploads import chosen_files
from portal.web.zones import remember_zone, visitor_zone

MULTIPART = Body(media_type=RequestEncodingType.MULTI_PART)
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
_settings = get_settings()
UPLOAD_BODY_LIMIT = _settings.upload_max_files * _settings.upload_max_bytes + 1024 * 1024
PREVIEW_BODY_LIMIT = 12 * rules.BODY_MAX + 16 * 1024  # BODY_MAX characters, percent-encoded UTF-8


@dataclass
class ReplyForm:
    body: str = ""


@dataclass
class RatingForm:
    rating: str = ""
    comment: str = ""


@dataclass
class FindForm:
    number: str = ""
    email: str = ""


async def read_uploads(request: PortalRequest) -> list[Upload]:
    """The files chosen in the form's ``files`` input (none chosen: an empty list, not a 400)."""
    return [
        Upload(filename=item.filename or "attachment", data=await item.read())
        for item in await chosen_files(request, "files")
    ]


def _throttle(request: PortalRequest) -> Throttle:
    return Throttle(request.app.stores.get("throttle"))


def _signed_in(request: PortalRequest) -> TicketAccess:
    """The signed-in requester's access (the access policy has already required a sign-in)."""
    return access.for_requester(signed_in_actor(request))


# --- page functions shared by both kinds of access ----------------------------------------------


def _version(ticket: dict[str, Any], thread: list[dict[str, Any]]) -> str:
    return f"{ticket['status']}-{thread[-1]['id'] if thread else 0}"


async def _ticket_context(viewer: TicketAccess, ticket: dict[str, Any], **extra: Any) -> dict[str, Any]:
    thread = await reads.thread(viewer, ticket)
    now = utcnow()
    label, tone = rules.customer_status(ticket["status"])
    return {
        "ticket": ticket,
        "thread": thread,
        "base": viewer.page_url(ticket["number"]),
        "is_guest": viewer.is_guest,
        "status_label": label,
        "status_tone": tone,
        "version": _version(ticket, thread),
        "can_reply": rules.status_after_customer_reply(ticket["status"], ticket["solved_at"], now) is not None,
        "can_solve": rules.can_customer_solve(ticket["status"]),
        "can_reopen": rules.can_reopen(ticket["status"], ticket["solved_at"], now),
        "can_rate": rules.can_rate(ticket["status"]),
        "errors": {},
        "reply_body": "",
        "rating_choice": ticket["csat_rating"] or "",
        "max_files": get_settings().upload_max_files,
        "max_mb": get_settings().upload_max_bytes // (1024 * 1024),
        **extra,
    }


async def show_ticket(request: PortalRequest, viewer: TicketAccess, number: int | None) -> Template:
    ticket = await reads.ticket(viewer, number)
    context = await _ticket_context(viewer, ticket)
    await write.mark_seen(viewer, ticket)
    return Template("tickets/show.html", context=context, headers=VARY)


async def poll_thread(request: PortalRequest, viewer: TicketAccess, number: int | None, version: str) -> Response[Any]:
    """204 when nothing changed; the new thread when messages arrived; a refresh when the status moved."""
    ticket = await reads.ticket(viewer, number)
    context = await _ticket_context(viewer, ticket)
    if context["version"] == version:
        return Response(content=b"", status_code=204, headers=VARY)
    await write.mark_seen(viewer, ticket)
    if version.split("-")[0] != ticket["status"]:
        return htmx_answer(ClientRefresh())
    return Template("tickets/_thread.html", context=context, headers=VARY)


async def post_reply(
    request: PortalRequest, viewer: TicketAccess, number: int | None, data: ReplyForm
) -> Response[Any]:
    ticket = await reads.ticket(viewer, number)
    try:
        await write.reply(viewer, number, data.body, await read_uploads(request))
    except Invalid as error:
        context = await _ticket_context(viewer, ticket, reply_body=data.body)
        return form_error(request, "tickets/show.html", "tickets/_reply_form.html", context, error)
    flash(request, "Your reply was added. We will get back to you.")
    return after_post(request, viewer.page_url(ticket["number"]) + "#thread-end")


async def post_solve(request: PortalRequest, viewer: TicketAccess, number: int | None) -> Response[Any]:
    ticket = await reads.ticket(viewer, number)
    await write.solve_by_customer(viewer, number)
    flash(request, "Thank you! The ticket is marked as solved. You can reopen it within 14 days.")
    return after_post(request, viewer.page_url(ticket["number"]))


async def post_reopen(request: PortalRequest, viewer: TicketAccess, number: int | None) -> Response[Any]:
    ticket = await reads.ticket(viewer, number)
    await write.reopen(viewer, number)
    flash(request, "The ticket is open again. Tell us what is still wrong.")
    return after_post(request, viewer.page_url(ticket["number"]) + "#reply")


async def rate_page(request: PortalRequest, viewer: TicketAccess, number: int | None, choice: str) -> Template:
    """The rating links in the solved mail land here. Opening a link changes nothing (mail scanners
    and link previews open every link): the choice is pre-selected and the customer confirms it."""
    ticket = await reads.ticket(viewer, number)
    context = await _ticket_context(
        viewer,
        ticket,
        rating_choice=choice if choice in rules.RATINGS else ticket["csat_rating"] or "",
        confirm_rating=choice in rules.RATINGS and rules.can_rate(ticket["status"]),
    )
    return Template("tickets/show.html", context=context)


async def post_rating(
    request: PortalRequest, viewer: TicketAccess, number: int | None, data: RatingForm
) -> Response[Any]:
    ticket = await reads.ticket(viewer, number)
    try:
        await write.rate(viewer, number, data.rating, data.comment)
    except Invalid as error:
        context = await _ticket_context(viewer, ticket, rating_choice=data.rating, rating_comment=data.comment)
        return form_error(request, "tickets/show.html", "tickets/_rating.html", context, error)
    if getattr(request, "htmx", None):
        ticket = await reads.ticket(viewer, number)
        context = await _ticket_context(viewer, ticket, rating_saved=True)
        return Template("tickets/_rating.html", context=context)
    flash(request, "Thank you for your rating.")
    return after_post(request, viewer.page_url(ticket["number"]) + "#rating")


async def download(viewer: TicketAccess, number: int | None, attachment_id: int) -> Response[Any]:
    row = await reads.attachment(viewer, number, attachment_id)
    path = files.path_for(get_settings().var_dir / "uploads", row["storage_key"])
    content = await asyncio.to_thread(path.read_bytes)
    return Response(
        content=content, headers=files.serving_headers(row["content_type"], row["filename"]), media_type=None
    )


async def _new_context(form: write.NewTicket) -> dict[str, Any]:
    return {
        "form": form,
        "errors": {},
        "categories": await reads.categories(),
        "max_files": _settings.upload_max_files,
        "max_mb": _settings.upload_max_bytes // (1024 * 1024),
    }


# --- controllers --------------------------------------------------------------------------------


class TicketController(Controller):
    path = "/tickets"

    @get("/new", name="tickets:new")
    async def new_page(self, request: PortalRequest) -> Template:
        return Template("tickets/new.html", context=await _new_context(write.NewTicket()))

    @post("/new", name="tickets:create", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def create(self, request: PortalRequest, data: Annotated[write.NewTicket, MULTIPART]) -> Response[Any]:
        """The form's fields parse straight into ``write.NewTicket``; the chosen files become its uploads."""
        actor = current_actor(request)
        form = replace(data, uploads=await read_uploads(request))
        try:
            ticket = await write.open_ticket(actor, form, ip=client_ip(request), throttle=_throttle(request))
        except DomainError as error:
            context = await _new_context(data)
            return form_error(request, "tickets/new.html", "tickets/_new_form.html", context, error)
        # A guest's private link is in the mail only: the page must not hand it to whoever typed the address.
        context = {
            "ticket": ticket,
            "link": None if actor is None else f"/tickets/{ticket['number']}",
            "is_guest": actor is None,
        }
        # htmx: the confirmation replaces the page's content, not just the form.
        return page_or_fragment(
            request,
            "tickets/created.html",
            "tickets/_created.html",
            context,
            status_code=201,
            re_target="#main",
            re_swap="innerHTML",
        )

    @post("/preview", name="tickets:preview", request_max_body_size=PREVIEW_BODY_LIMIT)
    async def preview(self, request: PortalRequest) -> Template:
        """The editor sends its text alone; inside an upload form htmx encodes it as multipart."""
        body = str((await request.form()).get("body") or "")
        try:
            html = await messages.preview(
                current_actor(request), body, ip=client_ip(request), throttle=_throttle(request)
            )
        except DomainError as error:
            # The problem shows where the preview would: the editor's form is not affected.
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Throttled) else None
            return Template(
                "tickets/_preview.html",
                context={"html": "", "problem": error.message},
                status_code=error.status_code,
                headers=headers,
            )
        return Template("tickets/_preview.html", context={"html": html})

    @get("/", name="tickets:mine")
    async def mine(
        self, request: PortalRequest, status: FromQuery[str] = "", q: FromQuery[str] = "", cursor: FromQuery[str] = ""
    ) -> Template:
        rows, next_cursor = await reads.my_tickets(_signed_in(request), status=status, q=q, cursor=cursor)
        context = {"rows": rows, "next_cursor": next_cursor, "status": status, "q": q, "labels": rules.CUSTOMER_STATUS}
        return page_or_fragment(request, "tickets/mine.html", "tickets/_mine_table.html", context)

    @get("/find", name="tickets:find")
    async def find_page(self) -> Template:
        return Template("tickets/find.html", context={"form": FindForm(), "errors": {}})

    @post("/find", name="tickets:find_submit")
    async def find(self, request: PortalRequest, data: Annotated[FindForm, FORM]) -> Response[Any]:
        try:
            await write.resend_link(data.number, data.email, ip=client_ip(request), throttle=_throttle(request))
        except DomainError as error:
            return form_error(request, "tickets/find.html", "tickets/_find_form.html", {"form": data}, error)
        return page_or_fragment(
            request, "tickets/find.html", "tickets/_find_form.html", {"form": FindForm(), "errors": {}, "sent": True}
        )

    @get("/{number:int}", name="tickets:show")
    async def show(self, request: PortalRequest, number: FromPath[int]) -> Template:
        return await show_ticket(request, _signed_in(request), number)

    @get("/{number:int}/thread", name="tickets:thread")
    async def thread(self, request: PortalRequest, number: FromPath[int], v: FromQuery[str] = "") -> Response[Any]:
        return await poll_thread(request, _signed_in(request), number, v)

    @post("/{number:int}/reply", name="tickets:reply", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def reply(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[ReplyForm, MULTIPART]
    ) -> Response[Any]:
        return await post_reply(request, _signed_in(request), number, data)

    @post("/{number:int}/solve", name="tickets:solve")
    async def solve(self, request: PortalRequest, number: FromPath[int]) -> Response[Any]:
        return await post_solve(request, _signed_in(request), number)

    @post("/{number:int}/reopen", name="tickets:reopen")
    async def reopen(self, request: PortalRequest, number: FromPath[int]) -> Response[Any]:
        return await post_reopen(request, _signed_in(request), number)

    @get("/{number:int}/rate", name="tickets:rate")
    async def rate(self, request: PortalRequest, number: FromPath[int], r: FromQuery[str] = "") -> Template:
        return await rate_page(request, _signed_in(request), number, r)

    @post("/{number:int}/rating", name="tickets:rating")
    async def rating(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[RatingForm, FORM]
    ) -> Response[Any]:
        return await post_rating(request, _signed_in(request), number, data)

    @get("/{number:int}/attachments/{attachment_id:int}", name="tickets:attachment")
    async def attachment(
        self, request: PortalRequest, number: FromPath[int], attachment_id: FromPath[int]
    ) -> Response[Any]:
        return await download(_signed_in(request), number, attachment_id)


class GuestTicketController(Controller):
    """The same pages through a guest link: the token is the credential."""

    path = "/t/{token:str}"

    @get("/", name="guest:show")
    async def show(self, request: PortalRequest, token: FromPath[str], tz: FromQuery[str] = "") -> Template:
        page = await show_ticket(request, await write.use_guest_link(token), None)
        if tz and visitor_zone(request) == tz:  # a valid zone, detected or chosen: keep it
            remember_zone(page, tz)
        return page

    @get("/thread", name="guest:thread")
    async def thread(self, request: PortalRequest, token: FromPath[str], v: FromQuery[str] = "") -> Response[Any]:
        return await poll_thread(request, await write.use_guest_link(token), None, v)

    @post("/reply", name="guest:reply", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def reply(
        self, request: PortalRequest, token: FromPath[str], data: Annotated[ReplyForm, MULTIPART]
    ) -> Response[Any]:
        return await post_reply(request, await write.use_guest_link(token), None, data)

    @post("/solve", name="guest:solve")
    async def solve(self, request: PortalRequest, token: FromPath[str]) -> Response[Any]:
        return await post_solve(request, await write.use_guest_link(token), None)

    @post("/reopen", name="guest:reopen")
    async def reopen(self, request: PortalRequest, token: FromPath[str]) -> Response[Any]:
        return await post_reopen(request, await write.use_guest_link(token), None)

    @get("/rate", name="guest:rate")
    async def rate(self, request: PortalRequest, token: FromPath[str], r: FromQuery[str] = "") -> Template:
        return await rate_page(request, await write.use_guest_link(token), None, r)

    @post("/rating", name="guest:rating")
    async def rating(
        self, request: PortalRequest, token: FromPath[str], data: Annotated[RatingForm, FORM]
    ) -> Response[Any]:
        return await post_rating(request, await write.use_guest_link(token), None, data)

    @get("/attachments/{attachment_id:int}", name="guest:attachment")
    async def attachment(self, token: FromPath[str], attachment_id: FromPath[int]) -> Response[Any]:
        return await download(await write.use_guest_link(token), None, attachment_id)
