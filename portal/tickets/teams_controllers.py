"""Back-office pages for teams, category routing and agent settings (admins), and an agent's own
availability switch."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Response, Template

from portal.errors import Invalid
from portal.ids import parse_id
from portal.tickets import teams
from portal.tickets.controllers import FORM
from portal.web.access import signed_in_actor
from portal.web.connection import PortalRequest
from portal.web.responses import after_post, flash, flash_and_go, safe_next, whole_page


@dataclass
class TeamForm:
    name: str = ""
    round_robin: str = ""


@dataclass
class MemberForm:
    user: str = ""


@dataclass
class CategoryForm:
    name: str = ""
    team: str = ""
    active: str = ""


@dataclass
class AgentForm:
    available: str = ""
    cap: str = ""
    limited: str = ""


async def _page(request: PortalRequest, error: Invalid | None = None, **extra: Any) -> Template:
    context = {**await teams.overview(), "section": "teams", **extra}
    return whole_page(request, "tickets/back/teams.html", context, error)


async def _saving(
    request: PortalRequest, saving: Awaitable[object], message: str, anchor: str = "", **on_error: Any
) -> Response[Any]:
    """Every form on the teams page: make the change, then back to the page (at ``anchor``) with
    ``message``; refused, the page again with the messages and ``on_error`` (what to re-show)."""
    try:
        await saving
    except Invalid as error:
        return await _page(request, error, **on_error)
    return flash_and_go(request, message, request.app.route_reverse("teams:index") + anchor)


class TeamsController(Controller):
    path = "/back/teams"

    @get("/", name="teams:index")
    async def index(self, request: PortalRequest) -> Template:
        return await _page(request)

    @post("/", name="teams:create")
    async def create(self, request: PortalRequest, data: Annotated[TeamForm, FORM]) -> Response[Any]:
        creating = teams.create_team(signed_in_actor(request), data.name)
        message = f"Team “{data.name.strip()}” created. Add its members below."
        return await _saving(request, creating, message, new_team=data.name)

    @post("/{team_id:int}", name="teams:update")
    async def update(
        self, request: PortalRequest, team_id: FromPath[int], data: Annotated[TeamForm, FORM]
    ) -> Response[Any]:
        updating = teams.update_team(signed_in_actor(request), team_id, data.name, data.round_robin == "1")
        return await _saving(request, updating, "Team saved.", error_team=team_id)

    @post("/{team_id:int}/members", name="teams:add_member")
    async def add_member(
        self, request: PortalRequest, team_id: FromPath[int], data: Annotated[MemberForm, FORM]
    ) -> Response[Any]:
        adding = teams.add_member(signed_in_actor(request), team_id, parse_id(data.user) or 0)
        return await _saving(request, adding, "Member added.", error_team=team_id)

    @post("/{team_id:int}/members/{user_id:int}/delete", name="teams:remove_member")
    async def remove_member(
        self, request: PortalRequest, team_id: FromPath[int], user_id: FromPath[int]
    ) -> Response[Any]:
        await teams.remove_member(signed_in_actor(request), team_id, user_id)
        return flash_and_go(request, "Member removed.", request.app.route_reverse("teams:index"))


class CategoriesController(Controller):
    path = "/back/categories"

    @post("/", name="categories:create")
    async def create(self, request: PortalRequest, data: Annotated[CategoryForm, FORM]) -> Response[Any]:
        adding = teams.save_category(signed_in_actor(request), None, data.name, data.team, True)
        return await _saving(request, adding, "Category added.", "#categories", new_category=data)

    @post("/{category_id:int}", name="categories:update")
    async def update(
        self, request: PortalRequest, category_id: FromPath[int], data: Annotated[CategoryForm, FORM]
    ) -> Response[Any]:
        actor = signed_in_actor(request)
        saving = teams.save_category(actor, category_id, data.name, data.team, data.active == "1")
        return await _saving(request, saving, "Category saved.", "#categories", error_category=category_id)


class AgentSettingsController(Controller):
    path = "/back/users/{user_id:int}/agent"

    @post("/", name="agents:settings")
    async def save(
        self, request: PortalRequest, user_id: FromPath[int], data: Annotated[AgentForm, FORM]
    ) -> Response[Any]:
        actor = signed_in_actor(request)
        saving = teams.save_agent_settings(actor, user_id, data.available == "1", data.cap, data.limited == "1")
        return await _saving(request, saving, "Agent settings saved.", "#agents", error_agent=user_id)


@dataclass
class AvailabilityForm:
    available: str = ""
    next: str = ""


@post("/back/availability", name="agents:availability")
async def availability(request: PortalRequest, data: Annotated[AvailabilityForm, FORM]) -> Response[Any]:
    """An agent switches themselves on or off the round-robin (lunch, end of shift)."""
    available = data.available == "1"
    await teams.set_own_availability(signed_in_actor(request), available)
    flash(
        request,
        "You are available for new tickets."
        if available
        else "You are away: round-robin skips you until you come back.",
    )
    return after_post(request, safe_next(data.next, request.app.route_reverse("console:queue")))
