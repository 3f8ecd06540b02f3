"""Rendering helpers shared by every controller: page or fragment, redirects after POST, flashes."""

from __future__ import annotations

from typing import Any, TypedDict
from urllib.parse import urlsplit

from litestar.plugins.htmx import HTMXDetails
from litestar.response import Redirect, Response, Template

from portal.errors import DomainError
from portal.web.connection import PortalRequest

VARY = {"Vary": "HX-Request"}


class Flash(TypedDict):
    """A one-time message kept in the session until the next page shows it."""

    kind: str
    message: str


def wants_fragment(request: PortalRequest) -> bool:
    """A plain htmx swap asks for the fragment; boosted links and history restores want the page."""
    htmx: HTMXDetails | None = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


def page_or_fragment(
    request: PortalRequest,
    page: str,
    fragment: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        template_name=fragment if wants_fragment(request) else page,
        context=context,
        status_code=status_code,
        headers={**VARY, **(headers or {})},
    )


def form_error(
    request: PortalRequest, page: str, fragment: str, context: dict[str, Any], error: DomainError
) -> Template:
    """Re-render a form with its messages: 422 (or the error's own status, e.g. 429)."""
    context = {**context, "errors": error.errors, "error_message": error.message if not error.errors else ""}
    headers = {"Retry-After": str(error.retry_after)} if hasattr(error, "retry_after") else None
    return page_or_fragment(request, page, fragment, context, status_code=error.status_code, headers=headers)


def flash(request: PortalRequest, message: str, kind: str = "success") -> None:
    session = request.scope.get("session")
    if not isinstance(session, dict):
        session = {}
    new: Flash = {"kind": kind, "message": message}
    session = {**session, "_flash": [*session.get("_flash", []), new]}
    request.set_session(session)


def pop_flashes(request: PortalRequest) -> list[Flash]:
    session = request.scope.get("session")
    if not isinstance(session, dict) or not session.get("_flash"):
        return []
    flashes: list[Flash] = session["_flash"]
    request.set_session({k: v for k, v in session.items() if k != "_flash"})
    return flashes


def after_post(request: PortalRequest, url: str) -> Response[Any]:
    """303 to the next page; for htmx, HX-Redirect so the browser navigates the same way.

    When htmx posts from the page it would be sent back to, HX-Refresh reloads it: a redirect that
    only changes the #fragment would scroll without reloading, leaving the page stale.
    """
    if getattr(request, "htmx", None):
        target = urlsplit(url)
        current = urlsplit(request.headers.get("hx-current-url", ""))
        if (target.path, target.query) == (current.path, current.query):
            return Response(content=b"", status_code=200, headers={"HX-Refresh": "true", **VARY})
        return Response(content=b"", status_code=200, headers={"HX-Redirect": url, **VARY})
    return Redirect(path=url, status_code=303, headers=VARY)


def safe_next(url: str | None, default: str = "/") -> str:
    """Only same-site paths: ``next`` must never send someone to another host."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return default
    return url


def client_ip(request: PortalRequest) -> str:
    return request.client.host if request.client else ""
