"""The agent console: queues (/back/tickets), a ticket's page and its actions, canned replies, SSE.

Thin: parse the request, load the agent's ``TicketAccess``, call ``queue``/``reads`` (reads) or
``write`` (changes), render. htmx requests get the fragment they target; everything also works as plain forms.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Response, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from portal import files
from portal.accounts.rules import Actor
from portal.booking import services as booking_services
from portal.clock import utcnow
from portal.errors import Invalid, NotFound
from portal.ids import MAX_NUMBER, QueryId, parse_id, parse_int
from portal.settings import get_settings
from portal.tickets import access, agent_tools, live, queue, reads, rules, sla, write
from portal.tickets.access import TicketAccess
from portal.tickets.controllers import FORM, MULTIPART, UPLOAD_BODY_LIMIT, read_uploads
from portal.web.access import signed_in_actor
from portal.web.auth import current_actor
from portal.web.connection import PortalRequest
from portal.web.responses import VARY, after_post, flash, form_error, page_or_fragment, safe_next, wants_fragment
from portal.web.templating import environment


def _target(request: PortalRequest) -> str:
    htmx = getattr(request, "htmx", None)
    return (htmx.target or "") if htmx else ""


# --- the queue -----------------------------------------------------------------------------------------


async def _queue_context(request: PortalRequest, viewer: TicketAccess, after: str = "") -> dict[str, Any]:
    filters = queue.parse_filters(list(request.query_params.multi_items()))
    views = await queue.saved_views(viewer)
    filters = queue.apply_saved(filters, views)
    page = await queue.queue_page(viewer, filters, after)
    now = utcnow()
    for row in page.rows:
        row["due"] = sla.time_left(row["next_due_at"], now) if row["status"] in rules.UNSOLVED else None
    return {
        "filters": filters,
        "page": page,
        "page_title": queue.view_title(filters, views),
        "views": views,
        "labels": rules.VIEWS,
        "sorts": rules.SORTS,
        "statuses": rules.STATUS_LABELS,
        "priorities": rules.PRIORITIES,
        "after": after,
        "sla_states": rules.SLA_STATES,
        "section": "tickets",
        "errors": filters.errors,
        "available": viewer.available,
    }


class QueueController(Controller):
    path = "/back/tickets"

    @get("/", name="console:queue")
    async def queue(self, request: PortalRequest, after: FromQuery[str] = "") -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        context = await _queue_context(request, viewer, after)
        if context["page"].jump_to is not None:
            return Redirect(
                path=request.app.route_reverse("console:ticket", number=context["page"].jump_to),
                status_code=303,
                headers=VARY,
            )
        context["directory"] = await reads.directory()
        if _target(request) == "queue" and wants_fragment(request):
            return Template("tickets/back/_queue.html", context=context, headers=VARY)
        context["counts"] = await queue.view_counts(viewer)
        return Template("tickets/back/queue.html", context=context, headers=VARY)

    @get("/counts", name="console:counts")
    async def counts(self, request: PortalRequest) -> Template:
        viewer = await access.for_staff(current_actor(request))
        current = request.query_params.get("view", "open")
        return Template(
            "tickets/back/_views.html",
            context={
                "counts": await queue.view_counts(viewer),
                "views": await queue.saved_views(viewer),
                "labels": rules.VIEWS,
                "current": current,
            },
            headers=VARY,
        )

    @get("/new", name="console:new_ticket")
    async def new_ticket(self, request: PortalRequest) -> Template:
        await access.for_staff(current_actor(request))
        return Template("tickets/back/new.html", context=await _new_context(NewForForm()), headers=VARY)

    @post("/new", name="console:create_ticket")
    async def create_ticket(self, request: PortalRequest, data: Annotated[NewForForm, FORM]) -> Response[Any]:
        """File a ticket for someone who phoned or wrote (see ``write.open_ticket_for``)."""
        viewer = await access.for_staff(current_actor(request))
        try:
            ticket = await write.open_ticket_for(viewer, data, via=data.channel())
        except Invalid as error:
            context = await _new_context(data)
            return form_error(request, "tickets/back/new.html", "tickets/back/_new_form.html", context, error)
        told = " and mailed them the link" if data.send_link else ""
        flash(request, f"Ticket #{ticket['number']} created for {ticket['requester_name']}{told}.")
        if not viewer.sees(ticket):  # routed to a team this agent does not see
            return after_post(request, request.app.route_reverse("console:queue"))
        return after_post(request, request.app.route_reverse("console:ticket", number=ticket["number"]))

    @post("/bulk", name="console:bulk")
    async def bulk(self, request: PortalRequest) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        form = await request.form()
        back = safe_next(str(form.get("next") or ""), request.app.route_reverse("console:queue"))
        numbers = [n for n in (parse_int(str(v), 1, MAX_NUMBER) for v in form.getall("number", [])) if n is not None]
        change = _bulk_change(form)
        try:
            result = await write.bulk(viewer, numbers, change, add_tag=str(form.get("add_tag") or ""))
        except Invalid as error:
            flash(request, _error_text(error), "error")
            return after_post(request, back)
        flash(request, result.summary(), "success" if not result.refused else "warn")
        return after_post(request, back)

    @post("/views", name="console:save_view")
    async def save_view(self, request: PortalRequest) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        form = await request.form()
        team = str(form.get("team") or "")
        try:
            view_id = await agent_tools.save_view(
                viewer, str(form.get("name") or ""), str(form.get("query") or ""), parse_id(team) if team else None
            )
        except Invalid as error:
            flash(request, _error_text(error), "error")
            return after_post(request, request.app.route_reverse("console:queue") + "?" + str(form.get("query") or ""))
        flash(request, "The view is saved.")
        return after_post(request, request.app.route_reverse("console:queue") + f"?view=saved-{view_id}")

    @post("/views/{view_id:int}/delete", name="console:delete_view")
    async def delete_view(self, request: PortalRequest, view_id: FromPath[int]) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        await agent_tools.delete_view(viewer, view_id)
        flash(request, "The view is deleted.")
        return after_post(request, request.app.route_reverse("console:queue"))

    # --- one ticket ---

    @get("/{number:int}", name="console:ticket")
    async def ticket(self, request: PortalRequest, number: FromPath[int], canned: QueryId = 0) -> Template:
        viewer = await access.for_staff(current_actor(request))
        context = await _ticket_context(viewer, number)
        await write.mark_seen(viewer, context["ticket"])
        if canned:
            context["reply_body"] = await agent_tools.canned_text(queue.agent(viewer), canned, context["ticket"])
        if _target(request) == "ticket-main" and wants_fragment(request):
            return Template("tickets/back/_ticket_main.html", context=context, headers=VARY)
        return Template("tickets/back/ticket.html", context=context, headers=VARY)

    @post("/{number:int}/reply", name="console:reply", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def reply(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[ReplyForm, MULTIPART]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        internal = data.kind == "internal"
        try:
            await write.reply(
                viewer, number, data.body, await read_uploads(request), internal=internal, status=data.status or None
            )
        except Invalid as error:
            context = await _ticket_context(viewer, number, reply_body=data.body, reply_kind=data.kind)
            return form_error(request, "tickets/back/ticket.html", "tickets/back/_reply_form.html", context, error)
        flash(request, "Internal note added." if internal else "Reply sent to the customer.")
        return after_post(request, request.app.route_reverse("console:ticket", number=number) + "#end")

    @post("/{number:int}/fields", name="console:fields")
    async def fields(self, request: PortalRequest, number: FromPath[int]) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        form = await request.form()
        try:
            changed = await write.change(viewer, number, _change_from(form))
        except Invalid as error:
            return await _main_refused(request, viewer, number, error)
        return await _after_change(request, viewer, number, changed)

    @post("/{number:int}/take", name="console:take")
    async def take(self, request: PortalRequest, number: FromPath[int]) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        await write.take(viewer, number)
        return await _after_change(request, viewer, number, ["assignee"])

    @post("/{number:int}/tags", name="console:tags")
    async def set_tags(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[TagsForm, FORM]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        try:
            await write.set_tags(viewer, number, data.tags)
        except Invalid as error:
            return await _main_refused(request, viewer, number, error)
        return await _after_change(request, viewer, number, ["tags"])

    @post("/{number:int}/merge", name="console:merge")
    async def merge(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[MergeForm, FORM]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        try:
            target = await write.merge(viewer, number, data.target())
        except Invalid as error:
            context = await _ticket_context(viewer, number, merge_into=data.into)
            return form_error(request, "tickets/back/ticket.html", "tickets/back/_merge_form.html", context, error)
        flash(request, f"#{number} was merged into this ticket; the customer was told.")
        return after_post(request, request.app.route_reverse("console:ticket", number=target["number"]))

    @post("/{number:int}/cc", name="console:add_cc")
    async def add_cc(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[CcForm, FORM]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        try:
            await write.add_cc(viewer, number, data.cc)
        except Invalid as error:
            return await _main_refused(request, viewer, number, error, cc=data.cc)
        return await _after_change(request, viewer, number, ["cc"])

    @post("/{number:int}/cc/remove", name="console:remove_cc")
    async def remove_cc(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[CcForm, FORM]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        await write.remove_cc(viewer, number, data.cc)
        return await _after_change(request, viewer, number, ["cc"])

    @get("/{number:int}/merge/search", name="console:merge_search")
    async def merge_search(self, request: PortalRequest, number: FromPath[int], q: FromQuery[str] = "") -> Template:
        """Merge candidates found by the queue's search (the tickets this agent sees)."""
        viewer = await access.for_staff(current_actor(request))
        context = await _ticket_context(viewer, number, merge_q=q[:200])
        if q.strip():
            found = await queue.queue_page(viewer, queue.Filters(view="all", q=q[:200].strip().lstrip("#")))
            context["merge_found"] = [r for r in found.rows if r["number"] != number]
        return page_or_fragment(request, "tickets/back/ticket.html", "tickets/back/_merge_form.html", context)

    @get("/{number:int}/canned/{reply_id:int}", name="console:canned")
    async def canned(self, request: PortalRequest, number: FromPath[int], reply_id: FromPath[int]) -> Response[Any]:
        """The reply editor with a canned reply filled in (htmx swaps the editor; without JS the
        ticket page's ?canned= does the same)."""
        viewer = await access.for_staff(current_actor(request))
        if request.headers.get("x-canned-text"):  # the editor inserts the text at the cursor itself
            ticket = await reads.ticket(viewer, number)
            text = await agent_tools.canned_text(queue.agent(viewer), reply_id, ticket)
            return Response(content=text, media_type="text/plain; charset=utf-8", headers=VARY)
        context = await _ticket_context(viewer, number)
        context["reply_body"] = await agent_tools.canned_text(queue.agent(viewer), reply_id, context["ticket"])
        return page_or_fragment(request, "tickets/back/ticket.html", "tickets/back/_reply_form.html", context)

    @post("/{number:int}/macro", name="console:macro")
    async def apply_macro(
        self, request: PortalRequest, number: FromPath[int], data: Annotated[MacroForm, FORM]
    ) -> Response[Any]:
        """A canned reply that sets fields: set them now (one change, with history), then open the
        editor with its text (sent only when the agent sends it)."""
        viewer = await access.for_staff(current_actor(request))
        await reads.ticket(viewer, number)  # a ticket this agent does not see: 404, whatever the reply
        reply_id = parse_id(data.reply) or 0
        change, tags = await agent_tools.macro(queue.agent(viewer), reply_id)
        try:
            changed = await write.apply_macro(viewer, number, change, tags)
        except Invalid as error:
            flash(request, _error_text(error), "error")
            return after_post(request, request.app.route_reverse("console:ticket", number=number))
        flash(request, "Macro applied. " + _saved_message(changed))
        url = request.app.route_reverse("console:ticket", number=number)
        return after_post(request, f"{url}?canned={reply_id}#reply")

    @post("/{number:int}/typing", name="console:typing")
    async def typing(self, request: PortalRequest, number: FromPath[int]) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        await reads.ticket(viewer, number)
        me = queue.agent(viewer)
        live.announce_presence(number, me.id, me.name, "typing")
        return Response(content=b"", status_code=204)

    @get("/{number:int}/attachments/{attachment_id:int}", name="console:attachment")
    async def attachment(
        self, request: PortalRequest, number: FromPath[int], attachment_id: FromPath[int]
    ) -> Response[Any]:
        viewer = await access.for_staff(current_actor(request))
        row = await reads.attachment(viewer, number, attachment_id)
        path = files.path_for(get_settings().var_dir / "uploads", row["storage_key"])
        content = await asyncio.to_thread(path.read_bytes)
        return Response(
            content=content, headers=files.serving_headers(row["content_type"], row["filename"]), media_type=None
        )


@dataclass
class ReplyForm:
    body: str = ""
    kind: str = "public"
    status: str = ""


@dataclass
class NewForForm(write.OnBehalf):
    via: str = "phone"

    def channel(self) -> rules.Channel:
        """The channel picked (an unknown word falls to ``system``, which ``open_ticket_for`` refuses)."""
        return rules.Channel(self.via) if self.via in rules.CHANNELS else rules.Channel.system


async def _new_context(form: NewForForm) -> dict[str, Any]:
    return {
        "form": form,
        "channels": rules.AGENT_CHANNELS,
        "categories": await reads.categories(),
        "section": "tickets",
        "errors": {},
    }


@dataclass
class CcForm:
    cc: str = ""


@dataclass
class TagsForm:
    tags: str = ""


@dataclass
class MergeForm:
    into: str = ""  # a typed number
    pick: str = ""  # one of the offered tickets

    def target(self) -> str:
        return self.into.strip() or self.pick


@dataclass
class MacroForm:
    reply: str = ""


def _change_from(form: FormMultiDict) -> write.Change:
    """Fields present in the form become the change ("" means "none" for category/team/assignee)."""

    def ref(name: str) -> int | None:
        if name not in form:
            return None
        value = str(form.get(name) or "")
        if value in ("", "none"):
            return -1
        return parse_id(value) or -2

    return write.Change(
        status=str(form["status"]) if form.get("status") else None,
        priority=str(form["priority"]) if form.get("priority") else None,
        category=ref("category"),
        team=ref("team"),
        assignee=ref("assignee"),
    )


def _error_text(error: Invalid) -> str:
    return " ".join(error.errors.values()) if error.errors else error.message


def _bulk_change(form: FormMultiDict) -> write.Change:
    """The bulk bar: an empty menu means "leave as is", "none" clears, a number picks."""

    def last(name: str) -> str:
        values = [str(v) for v in form.getall(name) if str(v)] if name in form else []
        return values[-1] if values else ""

    def ref(name: str) -> int | None:
        value = last(name)
        if not value:
            return None
        if value == "none":
            return -1
        return parse_id(value) or -2

    return write.Change(
        status=last("status") or None, priority=last("priority") or None, team=ref("team"), assignee=ref("assignee")
    )


def _saved_message(changed: list[str]) -> str:
    if not changed:
        return "Nothing to save: the ticket already had these values."
    return "Saved: " + ", ".join(reads.FIELD_LABELS.get(c, c).lower() for c in changed) + "."


async def _after_change(request: PortalRequest, viewer: TicketAccess, number: int, changed: list[str]) -> Response[Any]:
    """htmx: re-render the ticket's main column in place and announce the outcome with it (a flash
    would only show on the next page load); plain form: a flash, back to the page."""
    message = _saved_message(changed)
    if getattr(request, "htmx", None):
        try:
            context = await _ticket_context(viewer, number, announce=message)
        except NotFound:  # moved to a team this agent does not see
            flash(request, message)
            return after_post(request, request.app.route_reverse("console:queue"))
        return Template("tickets/back/_ticket_main.html", context=context, headers=VARY)
    flash(request, message)
    return after_post(request, request.app.route_reverse("console:ticket", number=number))


async def _main_refused(
    request: PortalRequest, viewer: TicketAccess, number: int, error: Invalid, **extra: Any
) -> Template:
    """A refused edit of the ticket's main column (fields, tags, CCs): that column again with the messages."""
    context = await _ticket_context(viewer, number, **extra)
    return form_error(request, "tickets/back/ticket.html", "tickets/back/_ticket_main.html", context, error)


async def _ticket_context(viewer: TicketAccess, number: int, **extra: Any) -> dict[str, Any]:
    ticket = await reads.ticket(viewer, number)
    messages = await reads.thread(viewer, ticket)
    events = await reads.history(viewer, ticket)
    settings = get_settings()
    now = utcnow()
    return {
        "sla_now": now,
        "next_due": sla.time_left(ticket["next_due_at"], now),
        "ticket": ticket,
        "timeline": reads.timeline(messages, events),
        "tags": ticket["tags"],
        "others": await reads.requester_tickets(viewer, ticket),
        "contacts": await reads.mail_contacts(viewer, ticket),
        "directory": await reads.directory(),
        "appointments": await booking_services.appointments_of_contact(queue.agent(viewer), ticket["requester_email"]),
        "canned": await agent_tools.canned_replies(queue.agent(viewer)),
        "statuses": rules.STATUS_LABELS,
        "priorities": rules.PRIORITIES,
        "section": "tickets",
        "errors": {},
        "reply_body": "",
        "reply_kind": "public",
        "merge_into": "",
        "cc": "",
        "merge_q": "",
        "merge_found": None,
        "announce": "",
        "max_files": settings.upload_max_files,
        "max_mb": settings.upload_max_bytes // (1024 * 1024),
        **extra,
    }


# --- canned replies ---------------------------------------------------------------------------------------


@dataclass
class CannedForm:
    title: str = ""
    body: str = ""
    shared: str = ""
    set_status: str = ""
    set_priority: str = ""
    set_team: str = ""
    set_tags: str = ""

    @classmethod
    def of(cls, row: dict[str, Any]) -> CannedForm:
        return cls(
            title=row["title"],
            body=row["body"],
            shared="1" if row["owner"] is None else "",
            set_status=row["set_status"] or "",
            set_priority=row["set_priority"] or "",
            set_team=str(row["set_team"] or ""),
            set_tags=row["set_tags"] or "",
        )

    def fields(self) -> agent_tools.MacroFields:
        return agent_tools.MacroFields(self.set_status, self.set_priority, self.set_team, self.set_tags)


async def _canned_context(actor: Actor, editing: dict[str, Any] | None, form: CannedForm) -> dict[str, Any]:
    return {
        "replies": await agent_tools.canned_list(actor),
        "editing": editing,
        "form": form,
        "errors": {},
        "section": "canned",
        "placeholders": rules.PLACEHOLDERS,
        "statuses": rules.STATUS_LABELS,
        "priorities": rules.PRIORITIES,
        "directory": await reads.directory(),
    }


class CannedController(Controller):
    path = "/back/canned"

    @get("/", name="console:canned_list")
    async def index(self, request: PortalRequest, edit: QueryId = 0) -> Template:
        actor = signed_in_actor(request)
        replies = await agent_tools.canned_list(actor)
        editing = next((r for r in replies if r["id"] == edit and (r["owner"] == actor.id or actor.is_admin)), None)
        form = CannedForm.of(editing) if editing else CannedForm()
        return Template("tickets/back/canned.html", context=await _canned_context(actor, editing, form))

    @post("/", name="console:canned_create")
    async def create(self, request: PortalRequest, data: Annotated[CannedForm, FORM]) -> Response[Any]:
        return await _save_canned(request, None, data)

    @post("/{reply_id:int}", name="console:canned_update")
    async def update(
        self, request: PortalRequest, reply_id: FromPath[int], data: Annotated[CannedForm, FORM]
    ) -> Response[Any]:
        return await _save_canned(request, reply_id, data)

    @post("/{reply_id:int}/delete", name="console:canned_delete")
    async def delete(self, request: PortalRequest, reply_id: FromPath[int]) -> Response[Any]:
        await agent_tools.delete_canned(signed_in_actor(request), reply_id)
        flash(request, "The canned reply is deleted.")
        return after_post(request, request.app.route_reverse("console:canned_list"))


async def _save_canned(request: PortalRequest, reply_id: int | None, data: CannedForm) -> Response[Any]:
    actor = signed_in_actor(request)
    try:
        await agent_tools.save_canned(actor, reply_id, data.title, data.body, data.shared == "1", data.fields())
    except Invalid as error:
        replies = await agent_tools.canned_list(actor)
        editing = next((r for r in replies if r["id"] == reply_id), None)
        context = await _canned_context(actor, editing, data)
        return form_error(request, "tickets/back/canned.html", "tickets/back/_canned_form.html", context, error)
    flash(request, "The canned reply is saved.")
    return after_post(request, request.app.route_reverse("console:canned_list"))


# --- live (SSE) ---------------------------------------------------------------------------------------------


def _sse(event: str, data: str = "") -> ServerSentEventMessage:
    return ServerSentEventMessage(event=event, data=data.replace("\n", " ") or "-")


@get("/events", name="live:events")
async def events(
    request: PortalRequest, channels: NamedDependency[live.LiveChannels], ticket: QueryId = 0
) -> ServerSentEvent:
    """One stream per open console page: ``queue-changed`` for queues (only tickets this agent may
    see), and on a ticket page ``ticket-changed`` plus the ``presence`` of other agents."""
    viewer = await access.for_staff(signed_in_actor(request))
    if ticket:
        await reads.ticket(viewer, ticket)
    return ServerSentEvent(_stream(viewer, channels, ticket))


async def _stream(
    viewer: TicketAccess, channels: live.LiveChannels, number: int
) -> AsyncIterator[ServerSentEventMessage]:
    me = queue.agent(viewer)
    presence = live.Presence(me=me.id)
    template = environment().get_template("tickets/back/_presence.html")
    # Queue pages refetch on "queue-changed": at most one per QUEUE_EVERY seconds, and never
    # dropping the last one (a burst of changes ends with a refresh that shows all of them).
    last_queue_event, queue_pending = 0.0, False
    with channels.listen() as inbox:
        yield ServerSentEventMessage(comment="connected", retry=3000)
        if number:
            live.announce_presence(number, me.id, me.name, "viewing")
        next_heartbeat = live.monotonic() + live.HEARTBEAT_SECONDS
        try:
            while True:
                now = live.monotonic()
                wait = next_heartbeat - now
                if queue_pending:
                    wait = min(wait, last_queue_event + live.QUEUE_EVERY - now)
                typing_ends = presence.next_change(now)
                if typing_ends is not None:
                    wait = min(wait, typing_ends + 0.05)
                raw = await live.next_event(inbox, max(wait, 0.0))
                now = live.monotonic()
                if queue_pending and now >= last_queue_event + live.QUEUE_EVERY:
                    queue_pending, last_queue_event = False, now
                    yield _sse("queue-changed")
                if raw is None:
                    if number and presence.expire(now):
                        yield _sse("presence", template.render(people=presence.visible(now)))
                    if now >= next_heartbeat:
                        next_heartbeat = now + live.HEARTBEAT_SECONDS
                        if number:
                            live.announce_presence(number, me.id, me.name, "viewing")
                        yield ServerSentEventMessage(comment="keep-alive")
                    continue
                event = live.decode(raw)
                if viewer.sees_event(event):
                    if not number:
                        if now >= last_queue_event + live.QUEUE_EVERY:
                            last_queue_event = now
                            yield _sse("queue-changed", str(event.get("number")))
                        else:
                            queue_pending = True
                    elif event.get("number") == number and event.get("actor") != me.id:
                        yield _sse("ticket-changed", json.dumps({"name": event.get("name"), "what": event.get("what")}))
                elif event.get("type") == "presence" and number and event.get("number") == number:
                    if presence.update(event, now):
                        yield _sse("presence", template.render(people=presence.visible(now)))
        finally:
            if number:
                live.announce_presence(number, me.id, me.name, "left")
