"""Who is signed in: the session holds (user id, session version); every request re-checks both."""

from __future__ import annotations

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.accounts.rules import Actor
from portal.accounts.services import actor_for_session
from portal.web.connection import PortalConnection
from portal.web.sessions import rotate_session


class ActorMiddleware(ASGIMiddleware):
    """Puts the signed-in Actor (or None) in ``scope["user"]``; static files and health checks skip it."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope.get("path", "")
        if path.startswith("/static/") or path == "/healthz":
            scope["user"] = None
            await next_app(scope, receive, send)
            return
        session = scope.get("session")
        actor = None
        if isinstance(session, dict) and session.get("uid"):
            actor = await actor_for_session(int(session["uid"]), int(session.get("sv", 0)))
            if actor is None:  # deactivated, or password changed elsewhere: this session is over
                scope["session"] = {k: v for k, v in session.items() if k not in ("uid", "sv")}
        scope["user"] = actor
        await next_app(scope, receive, send)


def current_actor(connection: PortalConnection) -> Actor | None:
    actor: Actor | None = connection.scope.get("user")
    return actor


FLASH_KEY = "_messages"  # where litestar.plugins.flash keeps messages not shown yet


def sign_in(connection: PortalConnection, actor: Actor) -> None:
    """A fresh session for the actor; messages flashed before (and not shown yet) come along."""
    session = connection.scope.get("session")
    flashes = session.get(FLASH_KEY, []) if isinstance(session, dict) else []
    connection.set_session({"uid": actor.id, "sv": actor.session_version, FLASH_KEY: flashes})
    rotate_session(connection)
    connection.scope["user"] = actor


def sign_out(connection: PortalConnection) -> None:
    connection.clear_session()
    connection.scope["user"] = None
