"""Back office shell: dashboard, user management and the mail outbox."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Response, Template

from portal.accounts import forms, services
from portal.accounts.rules import ROLES
from portal.backoffice import home
from portal.errors import DomainError
from portal.ids import QueryId
from portal.mail import services as mail
from portal.web.access import signed_in_actor
from portal.web.responses import after_post, client_ip, flash, form_error, page_or_fragment

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


class BackOfficeController(Controller):
    path = "/back"

    @get("/", name="back:dashboard")
    async def dashboard(self, request: Request) -> Template:
        return Template("back/dashboard.html", context=await home.home(signed_in_actor(request)))


class UsersController(Controller):
    path = "/back/users"

    async def _context(self, request: Request, q: str = "", role: str = "", after: str = "") -> dict:
        users, next_after = await services.list_users(signed_in_actor(request), q=q, role=role, after=after)
        return {
            "users": users,
            "next_after": next_after,
            "q": q,
            "role": role,
            "roles": ROLES,
            "invite": forms.InviteForm(),
            "errors": {},
        }

    @get("/", name="back:users")
    async def index(
        self, request: Request, q: FromQuery[str] = "", role: FromQuery[str] = "", after: FromQuery[str] = ""
    ) -> Template:
        context = await self._context(request, q[:100], role, after[:254])
        return page_or_fragment(request, "backoffice/users.html", "backoffice/_users_table.html", context)

    @post("/invite", name="back:users_invite")
    async def invite(self, request: Request, data: Annotated[forms.InviteForm, FORM]) -> Response:
        try:
            await services.invite_user(
                signed_in_actor(request), data.email, data.name, data.role, ip=client_ip(request)
            )
        except DomainError as error:
            context = {**await self._context(request), "invite": data}
            return form_error(request, "backoffice/users.html", "backoffice/_invite_form.html", context, error)
        flash(request, f"Invitation sent to {data.email.strip().lower()}.")
        return after_post(request, request.app.route_reverse("back:users"))

    @post("/{user_id:int}/role", name="back:users_role")
    async def role(self, request: Request, user_id: FromPath[int], data: Annotated[forms.RoleForm, FORM]) -> Response:
        await services.change_role(signed_in_actor(request), user_id, data.role, ip=client_ip(request))
        flash(request, "Role changed.")
        return after_post(request, request.app.route_reverse("back:users"))

    @post("/{user_id:int}/active", name="back:users_active")
    async def active(
        self, request: Request, user_id: FromPath[int], data: Annotated[forms.ActiveForm, FORM]
    ) -> Response:
        active = data.active == "1"
        await services.set_active(signed_in_actor(request), user_id, active, ip=client_ip(request))
        flash(request, "Account reactivated." if active else "Account deactivated; its sessions have ended.")
        return after_post(request, request.app.route_reverse("back:users"))


class OutboxController(Controller):
    path = "/back/outbox"

    @get("/", name="back:outbox")
    async def index(self, request: Request, before: QueryId = 0, to: FromQuery[str] = "") -> Template:
        rows, next_cursor = await mail.outbox_page(before or None, to[:254])
        return page_or_fragment(
            request,
            "backoffice/outbox.html",
            "backoffice/_outbox_table.html",
            {"rows": rows, "next_cursor": next_cursor, "to": to},
        )

    @get("/{mail_id:int}", name="back:outbox_message")
    async def show(self, request: Request, mail_id: FromPath[int]) -> Template:
        return Template("backoffice/outbox_message.html", context={"mail": await mail.outbox_message(mail_id)})
