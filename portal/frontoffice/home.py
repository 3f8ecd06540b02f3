"""The front office's home (``/``): for a signed-in customer, their open tickets and upcoming
appointments first (read through each domain's own functions), then what they can do next."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.response import Template

from portal.booking import services as booking
from portal.tickets import access, reads, rules
from portal.web.connection import PortalRequest

SHOWN = 5


@get("/", name="home")
async def home(request: PortalRequest) -> Template:
    actor = request.scope.get("user")
    context: dict[str, Any] = {}
    if actor is not None:
        tickets, more = await reads.my_tickets(access.for_requester(actor), status="open")
        upcoming, _ = await booking.my_appointments(actor)
        context = {
            "open_tickets": tickets[:SHOWN],
            "more_tickets": len(tickets) > SHOWN or more is not None,
            "upcoming": upcoming[:SHOWN],
            "more_upcoming": len(upcoming) > SHOWN,
            "labels": rules.CUSTOMER_STATUS,
        }
    return Template("front/home.html", context=context)
