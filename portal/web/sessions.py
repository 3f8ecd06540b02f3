"""Server-side sessions that write nothing for anonymous visitors and rotate the id at login."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from portal.web.connection import PortalConnection

ROTATE_KEY = "portal.rotate_session"


def rotate_session(connection: PortalConnection) -> None:
    """Ask for a fresh session id on this response (login, privilege change): defeats fixation."""
    connection.scope[ROTATE_KEY] = True  # type: ignore[literal-required]  # our own key: Scope's TypedDict lacks it


class PortalSessionBackend(ServerSideSessionBackend):
    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: PortalConnection
    ) -> None:
        cookie_id = connection.cookies.get(self.config.key) or ""
        has_cookie = bool(cookie_id) and cookie_id != "null"
        empty = scope_session is Empty or not scope_session
        if empty and not has_cookie:
            return  # anonymous and stateless: no store write, no cookie
        store = self.config.get_store_from_app(connection.scope["app"])
        params: dict[str, Any] = dict(
            extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        )
        if empty:
            # Logout: drop the stored session and delete the cookie. (Litestar's own answer keeps
            # the configured Max-Age, which outranks its Expires: the cookie stayed for 14 days.)
            await self.delete(cookie_id, store=store)
            params.update(max_age=0, expires=0)
            MutableScopeHeaders.from_message(message).add(
                "Set-Cookie", Cookie(value="", key=self.config.key, **params).to_header(header="")
            )
            return
        rotate = bool(connection.scope.get(ROTATE_KEY))
        if has_cookie and rotate:
            await self.delete(cookie_id, store=store)
        session_id = cookie_id if has_cookie and not rotate else self.generate_session_id()
        await self.set(session_id=session_id, data=self.serialize_data(scope_session, connection.scope), store=store)
        MutableScopeHeaders.from_message(message).add(
            "Set-Cookie", Cookie(value=session_id, key=self.config.key, **params).to_header(header="")
        )


@dataclass
class PortalSessionConfig(ServerSideSessionConfig):
    _backend_class = PortalSessionBackend
