"""The request and connection types as this app fills them, for annotations that mypy checks.

``ActorMiddleware`` puts the signed-in ``Actor`` (or None) in ``scope["user"]``; the app uses no
Litestar auth value and keeps nothing in ``request.state``. Handler signatures may use these
aliases: they are runtime names, so Litestar resolves them at start-up.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State

from portal.accounts.rules import Actor

PortalRequest: TypeAlias = Request[Actor | None, Any, State]
PortalConnection: TypeAlias = ASGIConnection[Any, Actor | None, Any, State]
