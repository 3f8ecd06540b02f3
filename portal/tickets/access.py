"""Who may see and change which ticket: the one access rule of the tickets domain.

A ``TicketAccess`` is made once per request (or job, or mail) from whoever acts:

- staff (``for_actor`` with an agent or admin): every ticket, or, for an agent limited to their
  teams, those teams' tickets only;
- a signed-in customer (``for_actor``): the tickets they requested;
- the holder of a guest link (``for_guest``): the one ticket the link opens.

Every read and write of a ticket asks it: ``sees`` for one row, ``sql`` for the condition a list,
count, search, report or export adds to its query on the ticket table, ``sees_event`` for a live
event. A ticket outside it answers NotFound, never "forbidden", so numbers cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.accounts.rules import Actor
from portal.db import fetch
from portal.errors import NotFound
from portal.tickets import rules

NOT_FOUND = "We could not find that ticket."


@dataclass(frozen=True)
class TicketAccess:
    """What one actor may see and change. Pure: the constructors below do the reading."""

    actor: Actor | None = None
    staff: bool = False
    teams: frozenset[int] = frozenset()
    limited: bool = False  # an agent limited to their teams
    available: bool = True  # the agent's own round-robin switch (shown in the console)
    ticket_id: int | None = None  # a guest link opens exactly this ticket
    token: str | None = None  # the guest link's raw token (its pages live under /t/{token})

    @property
    def is_guest(self) -> bool:
        return self.ticket_id is not None

    @property
    def sees_internal(self) -> bool:
        """Internal notes, system messages' details, history and every attachment: staff only."""
        return self.staff

    def sees_team(self, team_id: int | None) -> bool:
        """For staff: whether tickets of this team (None: no team) are visible."""
        return self.staff and rules.may_see(team_id, self.limited, self.teams)

    def sees(self, ticket: Mapping[str, Any]) -> bool:
        if self.staff:
            return self.sees_team(ticket["team"])
        if self.ticket_id is not None:
            return bool(ticket["id"] == self.ticket_id)
        return self.actor is not None and ticket["requester"] == self.actor.id

    def sees_event(self, event: Mapping[str, Any]) -> bool:
        """Live events go to staff consoles only, filtered like the queues."""
        return self.staff and event.get("type") == "ticket" and self.sees_team(event.get("team"))

    def team_limit(self) -> tuple[int, ...] | None:
        """For staff: the only teams whose tickets are visible (sorted), or None when every ticket
        is. Queues that run one index-ordered query per team start from this."""
        return tuple(sorted(self.teams)) if self.limited else None

    def sql(self, alias: str = "t") -> tuple[str, tuple[Any, ...]]:
        """The condition on ``alias`` (the ticket table) for the rows this actor sees; "" when every
        ticket is visible. Values are bound: each ``{}`` mark takes the next item of the tuple."""
        if self.staff:
            teams = self.team_limit()
            if teams is None:
                return "", ()
            if not teams:
                return "1 = 0", ()
            return f"{alias}.team IN ({', '.join('{}' for _ in teams)})", teams
        if self.ticket_id is not None:
            return f"{alias}.id = {{}}", (self.ticket_id,)
        if self.actor is not None:
            return f"{alias}.requester = {{}}", (self.actor.id,)
        return "1 = 0", ()

    def page_url(self, number: int) -> str:
        """Where this actor reads ticket ``number``."""
        if self.staff:
            return f"/back/tickets/{number}"
        return f"/t/{self.token}" if self.token else f"/tickets/{number}"


def staff_access(actor: Actor, teams: frozenset[int], limited: bool, available: bool = True) -> TicketAccess:
    """Staff access from what is known of the agent (admins are never limited)."""
    return TicketAccess(
        actor=actor, staff=True, teams=teams, limited=limited and not actor.is_admin, available=available
    )


async def for_actor(actor: Actor) -> TicketAccess:
    """The access of a signed-in person: staff see the desk (their teams when limited); customers
    see what they requested."""
    if not actor.is_staff:
        return TicketAccess(actor=actor)
    rows = await fetch(
        "SELECT u.limited_to_teams AS limited, u.is_available AS available, m.team AS team "
        'FROM portal_user u LEFT JOIN team_member m ON m."user" = u.id WHERE u.id = {}',
        actor.id,
    )
    teams = frozenset(r["team"] for r in rows if r["team"] is not None)
    limited = bool(rows and rows[0]["limited"])
    return staff_access(actor, teams, limited, available=bool(rows and rows[0]["available"]))


def for_requester(actor: Actor) -> TicketAccess:
    """The front office's access for anyone signed in, staff included: the tickets they requested
    (the customer pages never show what only staff may read)."""
    return TicketAccess(actor=actor)


async def for_staff(actor: Actor | None) -> TicketAccess:
    """``for_actor`` for back-office pages: anyone but staff gets NotFound."""
    if actor is None or not actor.is_staff:
        raise NotFound(NOT_FOUND)
    return await for_actor(actor)


def for_guest(ticket_id: int, token: str | None = None) -> TicketAccess:
    """The access a guest link (or a mail reply proven to come from the requester) gives: one ticket."""
    return TicketAccess(ticket_id=ticket_id, token=token)


SYSTEM = TicketAccess(staff=True)  # jobs and automations: every ticket, acting as "Automation"
