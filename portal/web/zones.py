"""The time zone a visitor sees times in, for every page that shows times to people without a profile.

One rule for the booking picker and the ticket pages: the zone chosen now (``?tz=``, which
portal.js sends once it has read the browser's zone), else the one remembered in a cookie, else the
signed-in person's profile zone, else UTC. Pages label times with the zone, so UTC is never mistaken
for local time when nothing was detected (JavaScript off).
"""

from __future__ import annotations

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Request
from litestar.response import Response

from portal.clock import timezone_problem
from portal.settings import get_settings

TZ_COOKIE = "portal_tz"


def visitor_zone(request: Request, chosen: str = "") -> str:  # type: ignore[type-arg]
    """The visitor's zone: chosen now, else remembered, else their profile's, else UTC."""
    actor = request.scope.get("user")  # as current_actor, without importing accounts (templating needs this)
    now = chosen or request.query_params.get("tz", "")
    for candidate in (now, request.cookies.get(TZ_COOKIE, ""), getattr(actor, "timezone", "") or ""):
        if not timezone_problem(candidate):
            return candidate
    return "UTC"


def zone_is_known(request: Request) -> bool:  # type: ignore[type-arg]
    """Whether the zone came from the visitor (now or before), so the page need not detect it."""
    return not timezone_problem(request.query_params.get("tz", "")) or not timezone_problem(
        request.cookies.get(TZ_COOKIE, "")
    )


def remember_zone(response: Response, zone: str) -> Response:  # type: ignore[type-arg]
    """Keep the visitor's zone for a year (a preference, not personal data worth a session)."""
    response.set_cookie(
        TZ_COOKIE, zone, max_age=365 * 24 * 3600, samesite="lax", httponly=True, secure=get_settings().secure_cookies
    )
    return response


@pass_context
def template_zone(context: Context) -> str:
    """``visitor_zone()`` in a template rendered for a request (UTC without one)."""
    request = context.get("request")
    return visitor_zone(request) if request is not None else "UTC"


@pass_context
def template_zone_known(context: Context) -> bool:
    request = context.get("request")
    return zone_is_known(request) if request is not None else False
