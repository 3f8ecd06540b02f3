"""The admin's page about one user: the account, and what it has to do with the desk (tickets filed,
tickets assigned, appointments as customer and as staff), each read through its own domain's rule."""

from __future__ import annotations

from typing import Any

from portal.accounts import services as accounts
from portal.accounts.rules import Actor
from portal.booking import calendar
from portal.tickets import access as ticket_access
from portal.tickets import queue, reads


async def user_page(actor: Actor, user_id: int) -> dict[str, Any]:
    """Everything the page shows; Forbidden for non-admins, NotFound for an unknown id."""
    user = await accounts.user_detail(actor, user_id)
    viewer = await ticket_access.for_staff(actor)
    assigned: list[dict] = []
    if user["role"] != "customer":
        assigned = (await queue.queue_page(viewer, queue.Filters(view="open", assignee=user_id))).rows
    return {
        "person": user,
        "requested": await reads.tickets_requested_by(viewer, user_id),
        "assigned": assigned,
        "assigned_query": queue.Filters(view="open", assignee=user_id).query_string(),
        "appointments": await calendar.appointments_of_user(actor, user_id),
        "zone": calendar.viewer_zone(actor),
    }
