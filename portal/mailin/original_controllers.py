"""The console's view of a mail's full original (staff who may see the ticket)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal.mailin.originals import original
from portal.tickets import access
from portal.web.auth import current_actor
from portal.web.connection import PortalRequest
from portal.web.responses import VARY
from portal.web.security import CSP

# Only this page may load images from elsewhere, and only when the agent asked to.
REMOTE_IMAGES_CSP = CSP.replace("img-src 'self' data:", "img-src 'self' data: https: http:")


@get("/back/tickets/{number:int}/messages/{message_id:int}/original", name="console:mail_original")
async def mail_original(
    request: PortalRequest, number: FromPath[int], message_id: FromPath[int], images: FromQuery[str] = ""
) -> Template:
    viewer = await access.for_staff(current_actor(request))
    context: dict[str, Any] = await original(viewer, number, message_id, remote_images=images == "load")
    context["section"] = "tickets"
    headers = dict(VARY)
    if context["remote_images"]:
        headers["Content-Security-Policy"] = REMOTE_IMAGES_CSP
    return Template("mailin/original.html", context=context, headers=headers)
