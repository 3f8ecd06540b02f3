"""Rendering helpers shared by every controller: page or fragment, redirects after POST, flashes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.plugins.flash import flash as plugin_flash
from litestar.plugins.htmx import ClientRedirect, ClientRefresh, HTMXDetails, HTMXTemplate, ReSwapMethod
from litestar.response import Redirect, Response, Template

from portal.errors import DomainError
from portal.web.connection import PortalRequest

VARY = {"Vary": "HX-Request"}
VARY_TARGET = {"Vary": "HX-Request, HX-Target"}  # for answers that also depend on which element asked


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
    re_target: str | None = None,
    re_swap: ReSwapMethod | None = None,
) -> Template:
    """``re_target``/``re_swap`` aim the fragment elsewhere than the element that asked (HX-Retarget/HX-Reswap)."""
    return HTMXTemplate(
        template_name=fragment if wants_fragment(request) else page,
        context=context,
        status_code=status_code,
        headers={**VARY, **(headers or {})},
        re_target=re_target,
        re_swap=re_swap,
    )


def form_error(
    request: PortalRequest, page: str, fragment: str, context: dict[str, Any], error: DomainError
) -> Template:
    """Re-render a form with its messages: 422 (or the error's own status, e.g. 429)."""
    context = {**context, "errors": error.errors, "error_message": error.message if not error.errors else ""}
    headers = {"Retry-After": str(error.retry_after)} if hasattr(error, "retry_after") else None
    return page_or_fragment(request, page, fragment, context, status_code=error.status_code, headers=headers)


def whole_page(
    request: PortalRequest, template: str, context: dict[str, Any], error: DomainError | None = None
) -> Template:
    """A settings page whose forms re-render the whole page: plain, or with ``error``'s messages (422)."""
    if error is not None:
        return form_error(request, template, template, context, error)
    return Template(template, context={"errors": {}, **context})


def flash(request: PortalRequest, message: str, kind: str = "success") -> None:
    """Litestar's flash plugin (``base.html`` shows the messages with ``get_flashes()``), with the
    category most messages use as the default.

    The plugin appends to the session dict in place; after ``sign_out`` the session is ``Empty``, not
    a dict, so a message flashed then (e.g. "log in with your new password") starts a fresh one.
    """
    if not isinstance(request.scope.get("session"), dict):
        request.set_session({})
    plugin_flash(request, message, kind)


def after_post(request: PortalRequest, url: str) -> Response[Any]:
    """303 to the next page; for htmx, HX-Redirect so the browser navigates the same way.

    When htmx posts from the page it would be sent back to, HX-Refresh reloads it: a redirect that
    only changes the #fragment would scroll without reloading, leaving the page stale.
    """
    if getattr(request, "htmx", None):
        target = urlsplit(url)
        current = urlsplit(request.headers.get("hx-current-url", ""))
        if (target.path, target.query) == (current.path, current.query):
            return htmx_answer(ClientRefresh())
        return htmx_answer(ClientRedirect(url))
    return Redirect(path=url, status_code=303, headers=VARY)


def flash_and_go(request: PortalRequest, message: str, url: str) -> Response[Any]:
    """The usual end of a successful post: say what happened, then ``after_post`` to ``url``."""
    flash(request, message)
    return after_post(request, url)


def htmx_answer(response: Response[Any], status_code: int = 200) -> Response[Any]:
    """Pin what litestar-htmx's ``ClientRedirect``/``ClientRefresh`` leave open: the status (else the
    handler's default, 201 after a POST), an empty body (else JSON ``null``), and ``Vary: HX-Request``."""
    response.status_code = status_code
    response.content = b""
    response.headers.update(VARY)
    return response


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
