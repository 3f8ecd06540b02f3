"""One Jinja environment for pages and mails: autoescaped HTML, helpers for time and static files."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal.accounts.rules import Actor
from portal.clock import format_duration, zone_choices_now, zone_info
from portal.content import resolve_attachment_urls
from portal.settings import REPO_ROOT, get_settings
from portal.web.connection import PortalRequest
from portal.web.zones import template_zone, template_zone_known

TEMPLATES = REPO_ROOT / "templates"
STATIC = REPO_ROOT / "static"


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>``: cache-busted so static files can be cached for a year."""
    file = STATIC / path.lstrip("/")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.exists() else "0"
    return f"/static/{path.lstrip('/')}?v={digest}"


def local_time(value: datetime | None, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(zone_info(zone)).strftime(fmt)


_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"


def linkify(text: str | None) -> Markup:
    """Plain text with its http(s) addresses as links, everything escaped. Only http and https
    are linked (never ``javascript:`` or ``data:``); punctuation that ends a sentence stays out of
    the link; a masked secret link ("…") stays text, since it leads nowhere."""
    text = text or ""
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(escape(text[last:start]))
        if "…" in url:
            parts.append(escape(url))
        else:
            parts.append(Markup('<a href="{0}" rel="noreferrer noopener">{0}</a>').format(url))
        last = end
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@pass_context
def current_user(context: Context) -> Actor | None:
    """The signed-in Actor in any page or fragment rendered for a request (None otherwise)."""
    request: PortalRequest | None = context.get("request")
    if request is None:
        return None
    actor: Actor | None = request.scope.get("user")
    return actor


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=get_settings().debug,
    )
    env.globals.update(static_url=static_url, site_name=get_settings().site_name, current_user=current_user)
    env.globals.update(visitor_zone=template_zone, visitor_zone_known=template_zone_known)
    env.filters["localtime"] = local_time
    env.filters["linkify"] = linkify
    env.filters["hm"] = format_duration  # minutes -> "1 h 30 min", as duration fields read them back
    env.globals["zone_choices"] = zone_choices_now  # the zone picker's list (canonical zones, offsets)
    env.filters["attachment_urls"] = resolve_attachment_urls  # stored message HTML, for this viewer
    return env
