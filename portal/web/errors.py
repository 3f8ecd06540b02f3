"""Turns exceptions into HTML error pages, or into fragments aimed at #messages for htmx."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar.exceptions import HTTPException
from litestar.plugins.htmx import ClientRedirect, HTMXTemplate
from litestar.response import Redirect, Response, Template
from litestar.types import ExceptionHandlersMap

from portal.errors import DomainError
from portal.web.access import LoginRequired
from portal.web.connection import PortalRequest
from portal.web.responses import VARY, htmx_answer, wants_fragment

log = logging.getLogger("portal.web")

TITLES = {
    400: "That request could not be read",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "That upload is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}
MESSAGES = {
    400: "The form could not be read. Reload the page and try again.",
    403: "Your account does not have access to this page.",
    404: "We could not find that page. It may have moved, or the link may be incomplete.",
    405: "This address does not accept that kind of request.",
    413: "The request was larger than we accept.",
    429: "Please wait a little and try again.",
    500: "The error has been logged. Please try again in a moment.",
}
CSRF_MESSAGE = "This form has expired or was sent from elsewhere. Reload the page and try again."


def render_error(
    request: PortalRequest, status: int, message: str = "", headers: dict[str, str] | None = None
) -> Response[Any]:
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message or MESSAGES.get(status, "")}
    merged = {**VARY, **(headers or {})}
    if wants_fragment(request):
        return HTMXTemplate(
            template_name="errors/_error.html",
            context=context,
            status_code=status,
            headers=merged,
            re_target="#messages",
            re_swap="innerHTML",
        )
    return Template("errors/error.html", context=context, status_code=status, headers=merged)


def login_required_handler(request: PortalRequest, exc: LoginRequired) -> Response[Any]:
    url = "/login?next=" + quote(exc.next_url, safe="/")
    if getattr(request, "htmx", None):
        return htmx_answer(ClientRedirect(url), status_code=401)
    return Redirect(path=url, status_code=303, headers=VARY)


def domain_error_handler(request: PortalRequest, exc: DomainError) -> Response[Any]:
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    return render_error(request, exc.status_code, exc.message, headers)


def http_error_handler(request: PortalRequest, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = str(exc.detail or "")
    if status == 403 and "csrf" in detail.lower():
        message = CSRF_MESSAGE
    elif (status == 403 and detail and detail != "Forbidden") or getattr(exc, "detail_is_for_people", False):
        message = detail
    else:
        message = MESSAGES.get(status, detail)
    return render_error(request, status, message, dict(exc.headers or {}))


OUT_OF_RANGE_MESSAGE = "A date or number in the request is out of range. Check what you entered and try again."


def is_out_of_range(exc: BaseException) -> bool:
    """Arithmetic on a value no person means: a date past year 9999, a float overflow, or ``int()``
    of a number over Python's 4,300-digit limit (a ``ValueError`` that names the limit)."""
    return isinstance(exc, OverflowError) or (
        isinstance(exc, ValueError) and "Exceeds the limit" in str(exc) and "integer string conversion" in str(exc)
    )


def out_of_range_handler(request: PortalRequest, exc: Exception) -> Response[Any]:
    """Safety net behind the parsers of ``portal.clock`` and ``portal.ids``: an input one of them
    missed answers 422 with a message (logged as a warning, to be fixed at the parser)."""
    log.warning("out-of-range input on %s %s: %r", request.method, request.url.path, exc)
    return render_error(request, 422, OUT_OF_RANGE_MESSAGE)


def server_error_handler(request: PortalRequest, exc: Exception) -> Response[Any]:
    if is_out_of_range(exc):
        return out_of_range_handler(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return render_error(request, 500)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LoginRequired: login_required_handler,
    DomainError: domain_error_handler,
    HTTPException: http_error_handler,
    OverflowError: out_of_range_handler,
    500: server_error_handler,
    Exception: server_error_handler,
}
