"""The access policy: every route of the app, and who may use it. One table, enforced by one guard.

Keys are Litestar's ``path_format`` (the route path without parameter types), which the router
puts in ``scope["path_template"]``. A route missing from ``POLICY`` is refused (fail closed) and
fails the access-policy test. A route whose credential is a secret in the URL names it ``{token}``:
``secret_link_prefixes`` reads them from here, and the outbox masks those links.
"""

from __future__ import annotations

from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.accounts.rules import ROLE_RANK, Actor
from portal.errors import NotFound
from portal.ids import in_range
from portal.web.connection import PortalConnection

PUBLIC = "public"
CUSTOMER = "customer"  # any signed-in person (staff included)
AGENT = "agent"  # agents and admins
ADMIN = "admin"

POLICY: dict[str, str] = {
    "/": PUBLIC,
    "/healthz": PUBLIC,
    "/static/{file_path}": PUBLIC,
    "/signup": PUBLIC,
    "/verify/{token}": PUBLIC,
    "/login": PUBLIC,
    "/logout": PUBLIC,
    "/password/forgot": PUBLIC,
    "/password/reset/{token}": PUBLIC,
    "/account": CUSTOMER,
    "/account/password": CUSTOMER,
    "/tickets": CUSTOMER,
    "/tickets/new": PUBLIC,
    "/tickets/preview": PUBLIC,
    "/tickets/find": PUBLIC,
    "/tickets/{number}": CUSTOMER,
    "/tickets/{number}/thread": CUSTOMER,
    "/tickets/{number}/reply": CUSTOMER,
    "/tickets/{number}/solve": CUSTOMER,
    "/tickets/{number}/reopen": CUSTOMER,
    "/tickets/{number}/rate": CUSTOMER,
    "/tickets/{number}/rating": CUSTOMER,
    "/tickets/{number}/attachments/{attachment_id}": CUSTOMER,
    # Guest links: the token is the credential, checked by the ticket service.
    "/t/{token}": PUBLIC,
    "/t/{token}/thread": PUBLIC,
    "/t/{token}/reply": PUBLIC,
    "/t/{token}/solve": PUBLIC,
    "/t/{token}/reopen": PUBLIC,
    "/t/{token}/rate": PUBLIC,
    "/t/{token}/rating": PUBLIC,
    "/t/{token}/attachments/{attachment_id}": PUBLIC,
    "/book": PUBLIC,
    "/book/{slug}": PUBLIC,
    "/book/{slug}/details": PUBLIC,
    "/appointments": CUSTOMER,
    "/appointments/{appointment_id}": CUSTOMER,
    "/appointments/{appointment_id}/ics": CUSTOMER,
    "/appointments/{appointment_id}/cancel": CUSTOMER,
    "/appointments/{appointment_id}/reschedule": CUSTOMER,
    "/appointments/{appointment_id}/reschedule/confirm": CUSTOMER,
    # Manage links: the token is the credential, checked by the booking service.
    "/appointments/manage/{token}": PUBLIC,
    "/appointments/manage/{token}/ics": PUBLIC,
    "/appointments/manage/{token}/cancel": PUBLIC,
    "/appointments/manage/{token}/reschedule": PUBLIC,
    "/appointments/manage/{token}/reschedule/confirm": PUBLIC,
    "/back": AGENT,
    "/back/users": ADMIN,
    "/back/users/invite": ADMIN,
    "/back/users/{user_id}": ADMIN,
    "/back/users/{user_id}/reset": ADMIN,
    "/back/users/{user_id}/role": ADMIN,
    "/back/users/{user_id}/active": ADMIN,
    "/back/outbox": ADMIN,
    "/back/outbox/{mail_id}": ADMIN,
    # The mail channel: mailboxes (addresses, IMAP, health) and received mail waiting for a person.
    "/back/mailboxes": ADMIN,
    "/back/mailboxes/new": ADMIN,
    "/back/mailboxes/{mailbox_id}": ADMIN,
    "/back/mailboxes/{mailbox_id}/active": ADMIN,
    "/back/mailboxes/{mailbox_id}/delete": ADMIN,
    "/back/inbound": ADMIN,
    "/back/inbound/{inbound_id}": ADMIN,
    "/back/inbound/{inbound_id}/raw": ADMIN,
    "/back/inbound/{inbound_id}/retry": ADMIN,
    "/back/inbound/{inbound_id}/release": ADMIN,
    "/back/inbound/{inbound_id}/drop": ADMIN,
    # The agent console; what each agent may see inside is scoped by the tickets services.
    "/back/tickets": AGENT,
    "/back/tickets/counts": AGENT,
    "/back/tickets/new": AGENT,
    "/back/tickets/bulk": AGENT,
    "/back/tickets/views": AGENT,
    "/back/tickets/views/{view_id}/delete": AGENT,
    "/back/tickets/{number}": AGENT,
    "/back/tickets/{number}/reply": AGENT,
    "/back/tickets/{number}/fields": AGENT,
    "/back/tickets/{number}/take": AGENT,
    "/back/tickets/{number}/tags": AGENT,
    "/back/tickets/{number}/merge": AGENT,
    "/back/tickets/{number}/cc": AGENT,
    "/back/tickets/{number}/cc/remove": AGENT,
    "/back/tickets/{number}/messages/{message_id}/original": AGENT,
    "/back/tickets/{number}/merge/search": AGENT,
    "/back/tickets/{number}/macro": AGENT,
    "/back/tickets/{number}/canned/{reply_id}": AGENT,
    "/back/tickets/{number}/typing": AGENT,
    "/back/tickets/{number}/attachments/{attachment_id}": AGENT,
    "/back/canned": AGENT,
    "/back/canned/{reply_id}": AGENT,
    "/back/canned/{reply_id}/delete": AGENT,
    "/back/teams": ADMIN,
    "/back/teams/{team_id}": ADMIN,
    "/back/teams/{team_id}/members": ADMIN,
    "/back/teams/{team_id}/members/{user_id}/delete": ADMIN,
    "/back/categories": ADMIN,
    "/back/categories/{category_id}": ADMIN,
    "/back/users/{user_id}/agent": ADMIN,
    "/back/availability": AGENT,
    "/events": AGENT,
    "/back/sla": ADMIN,
    "/back/sla/calendars": ADMIN,
    "/back/sla/calendars/{calendar_id}": ADMIN,
    "/back/sla/policies": ADMIN,
    "/back/sla/policies/{policy_id}": ADMIN,
    "/back/sla/policies/{policy_id}/delete": ADMIN,
    # Booking back office. Agents run their own calendar (the service layer scopes it to them);
    # admins configure services, schedules and holidays and see everyone's calendar.
    "/back/calendar": AGENT,
    "/back/calendar/appointments/{appointment_id}": AGENT,
    "/back/calendar/appointments/{appointment_id}/note": AGENT,
    "/back/calendar/appointments/{appointment_id}/status": AGENT,
    "/back/calendar/appointments/{appointment_id}/cancel": AGENT,
    "/back/calendar/appointments/{appointment_id}/reschedule": AGENT,
    "/back/calendar/book": AGENT,
    "/back/calendar/feed": AGENT,
    "/back/calendar/feed/revoke": AGENT,
    "/back/services": ADMIN,
    "/back/services/new": ADMIN,
    "/back/services/{service_id}": ADMIN,
    "/back/services/{service_id}/delete": ADMIN,
    "/back/services/{service_id}/preview": ADMIN,
    "/back/schedules": ADMIN,
    "/back/schedules/{user_id}": ADMIN,
    "/back/schedules/{user_id}/weekly": ADMIN,
    "/back/schedules/{user_id}/copy": ADMIN,
    "/back/schedules/{user_id}/overrides": ADMIN,
    "/back/schedules/{user_id}/overrides/delete": ADMIN,
    "/back/schedules/{user_id}/time-off": ADMIN,
    "/back/schedules/{user_id}/time-off/{time_off_id}/delete": ADMIN,
    "/back/schedules/{user_id}/feed/revoke": ADMIN,
    "/back/holidays": ADMIN,
    "/back/holidays/import": ADMIN,
    "/back/holidays/{holiday_id}/delete": ADMIN,
    "/back/availability/why": ADMIN,
    # KPI dashboard: agents see their own and their teams' numbers (scoped by backoffice/kpis.py).
    "/back/reports": AGENT,
    "/back/reports/export": AGENT,
    # A staff member's calendar subscription: the secret token in the URL is the credential.
    "/feeds/staff/{token}": PUBLIC,
}


def secret_link_prefixes() -> tuple[str, ...]:
    """Paths that end in a secret (``/t/``, ``/password/reset/``…): whoever holds the rest of such a
    link can use it, so it must not be shown or kept where others read it."""
    return tuple(sorted({path.partition("{token}")[0] for path in POLICY if "{token}" in path}))


class LoginRequired(Exception):
    """Raised for an anonymous visitor on a signed-in page; answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def required_level(path_template: str) -> str | None:
    return POLICY.get(path_template)


def enforce_access_policy(connection: PortalConnection, _: BaseRouteHandler) -> None:
    level = required_level(connection.scope.get("path_template", ""))
    if level is None:
        raise PermissionDeniedException("This page is not open to anyone yet.")
    if level != PUBLIC:
        _check_role(connection, level)
    for name, value in connection.path_params.items():
        if isinstance(value, int) and not in_range(name, value):
            raise NotFound("We could not find that.")


def signed_in_actor(connection: PortalConnection) -> Actor:
    """The signed-in Actor, for a route the policy keeps for signed-in people (where the guard has
    already sent an anonymous visitor to log in, as this does)."""
    actor: Actor | None = connection.scope.get("user")
    if actor is None:
        path = connection.scope.get("path", "/")
        query = connection.scope.get("query_string", b"").decode("latin-1")
        raise LoginRequired(path + (f"?{query}" if query else ""))
    return actor


def _check_role(connection: PortalConnection, level: str) -> None:
    actor = signed_in_actor(connection)
    if ROLE_RANK[actor.role] < ROLE_RANK[level]:
        raise PermissionDeniedException("Your account does not have access to this page.")
